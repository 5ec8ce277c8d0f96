"""GTIN barcodes: check digits and normalisation.

Every GTIN (8, 12, 13 or 14 digits) is normalised to GTIN-14 by left-padding with zeros,
so the same item scanned as UPC-A or EAN-13 resolves to the same catalog entry.
"""


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for the digits of ``body`` (without the check digit)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return (10 - total % 10) % 10


def is_valid_gtin(code: str) -> bool:
    """True when ``code`` is 8, 12, 13 or 14 digits with a correct check digit."""
    if len(code) not in (8, 12, 13, 14) or not code.isdigit():
        return False
    return gtin_check_digit(code[:-1]) == int(code[-1])


def normalize_gtin(code: str) -> str:
    """Return the GTIN-14 form of a valid GTIN.

    Raises:
        ValueError: if ``code`` is not a valid GTIN.
    """
    code = code.strip()
    if not is_valid_gtin(code):
        raise ValueError(f"{code!r} is not a valid GTIN-8/12/13/14")
    return code.zfill(14)
