"""Temporal workflows. Deterministic: imports ``temporalio``, ``domain`` and the stdlib only."""
