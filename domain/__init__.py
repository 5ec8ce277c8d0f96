"""Pure business logic: models, statuses and rules.

Nothing here does I/O. Workflows import this package, so everything in it must be
deterministic (no clocks, randomness, network or database).
"""
