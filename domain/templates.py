"""Which extra checks a shipment's handling requires, from the order's tags.

The full template engine (steps and SLAs per tag) arrives with the tagging-rules work; the
checks here are the ones the floor already enforces.
"""

#: Orders carrying this tag get every item re-scanned at the pack station.
HIGH_VALUE_TAG = "high-value"


def needs_pack_verification(tags: list[str]) -> bool:
    return any(t.strip().lower() == HIGH_VALUE_TAG for t in tags)
