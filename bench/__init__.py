"""End-to-end benchmark of the OMS against a bare Temporal baseline (``python -m bench.run``).

No side effects at import: ``bench.bare`` is re-imported by the workflow sandbox.
"""
