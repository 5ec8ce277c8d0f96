"""GTIN barcodes: check digits, normalisation, UPC-E, and the single scan entry point.

Every GTIN (8, 12, 13 or 14 digits) is normalised to GTIN-14 by left-padding with zeros,
so the same item scanned as UPC-A or EAN-13 resolves to the same catalog entry.

:func:`parse_scan` is what a scan station's barcode goes through: plain GTINs, 8-digit
UPC-E (expanded to its UPC-A GTIN-12), and GS1 element strings (GS1-128 / GS1 DataMatrix,
raw with FNC1 as ``\x1d`` or in the bracketed human-readable form; see :mod:`domain.gs1`).
Everything here is pure: no I/O and no clock -- callers pass ``today``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal


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


class InvalidBarcode(ValueError):
    """A scanned string that is not a usable barcode. ``str(exc)`` is a human message.

    ``position`` (0-based offset into the scanned string) and ``ai`` (the GS1 application
    identifier) are set when the problem can be pinned to one.
    """

    def __init__(self, message: str, *, position: int | None = None, ai: str | None = None):
        super().__init__(message)
        self.position = position
        self.ai = ai


# --- UPC-E -------------------------------------------------------------------------------


def expand_upce(code: str) -> str:
    """Expand an 8-digit UPC-E (number system, six digits, check digit) to its 12-digit UPC-A.

    The six message digits ``d1..d6`` expand by the last one, ``d6``:

    * ``0``-``2``: ``NS d1 d2 d6 0 0 0 0 d3 d4 d5 C``
    * ``3``:      ``NS d1 d2 d3 0 0 0 0 0 d4 d5 C``
    * ``4``:      ``NS d1 d2 d3 d4 0 0 0 0 0 d5 C``
    * ``5``-``9``: ``NS d1 d2 d3 d4 d5 0 0 0 0 d6 C``

    The number system must be 0 or 1, and the check digit is the UPC-A check digit of the
    expansion (UPC-E has no check digit of its own). E.g. ``04252614`` -> ``042100005264``.

    Raises:
        InvalidBarcode: not 8 digits, number system not 0/1, or a wrong check digit.
    """
    if len(code) != 8 or not code.isdigit():
        raise InvalidBarcode(f"{code!r} is not a UPC-E: expected 8 digits")
    ns, d, check = code[0], code[1:7], code[7]
    if ns not in "01":
        raise InvalidBarcode(
            f"{code!r} is not a UPC-E: number system must be 0 or 1, not {ns}", position=0
        )
    last = d[5]
    if last in "012":
        body = ns + d[0:2] + last + "0000" + d[2:5]
    elif last == "3":
        body = ns + d[0:3] + "00000" + d[3:5]
    elif last == "4":
        body = ns + d[0:4] + "00000" + d[4]
    else:
        body = ns + d[0:5] + "0000" + last
    expected = gtin_check_digit(body)
    if expected != int(check):
        raise InvalidBarcode(
            f"{code!r} is not a UPC-E: check digit {check} should be {expected} "
            f"(expands to UPC-A {body}{expected})",
            position=7,
        )
    return body + check


def compress_upca(code: str) -> str | None:
    """The 8-digit UPC-E of a 12-digit UPC-A, or None when it has no UPC-E form.

    The inverse of :func:`expand_upce`, choosing the canonical rule (0-2, then 3, 4, 5-9).

    Raises:
        InvalidBarcode: ``code`` is not a valid 12-digit UPC-A.
    """
    if len(code) != 12 or not is_valid_gtin(code):
        raise InvalidBarcode(f"{code!r} is not a valid UPC-A")
    ns, mfr, item, check = code[0], code[1:6], code[6:11], code[11]
    if ns not in "01":
        return None
    if mfr[2] in "012" and mfr[3:] == "00" and item[:2] == "00":
        d = mfr[:2] + item[2:] + mfr[2]
    elif mfr[3:] == "00" and item[:3] == "000":
        d = mfr[:3] + item[3:] + "3"
    elif mfr[4] == "0" and item[:4] == "0000":
        d = mfr[:4] + item[4] + "4"
    elif item[:4] == "0000" and item[4] in "56789":
        d = mfr + item[4]
    else:
        return None
    return ns + d + check


# --- The scan entry point --------------------------------------------------------------

ScanSource = Literal["gtin", "upce", "gs1"]

GROUP_SEPARATOR = "\x1d"


@dataclass(frozen=True)
class ScannedCode:
    """What a scanned barcode says.

    ``gtin`` is always the normalised GTIN-14. For a GS1 string it comes from AI (01), or
    from AI (02) (the GTIN of the contained trade items, typically with a (37) count).
    ``count`` is AI (30) or (37). ``elements`` are the GS1 ``(AI, value)`` pairs in scan
    order (empty for plain GTINs and UPC-E), for the AIs this type does not lift out.
    """

    gtin: str
    lot: str | None = None
    expiry: date | None = None
    serial: str | None = None
    count: int | None = None
    source: ScanSource = "gtin"
    elements: tuple[tuple[str, str], ...] = ()


def is_expired(code: ScannedCode, today: date) -> bool:
    """True when the scan carries an expiry date (AI 17) that is before ``today``.

    GS1's expiration date is the last day the item may be used, so it is not expired on
    the day itself.
    """
    return code.expiry is not None and code.expiry < today


def parse_scan(code: str, today: date) -> ScannedCode:
    """Parse a scanned barcode into a :class:`ScannedCode`.

    ``today`` resolves the century of GS1 YYMMDD dates (GS1 General Specifications 7.12:
    the year falls within -49..+50 years of ``today``'s year); it is not used otherwise.

    What the string is taken to be, in this order (surrounding spaces, tabs and line
    endings are ignored):

    * ``]E0`` + 13 digits / ``]E4`` + 8 digits: an EAN/UPC with its AIM symbology
      identifier (scanners send UPC-A and UPC-E as 13 digits under ``]E0``; ``]E4`` is
      EAN-8 and is never treated as UPC-E).
    * starts with ``(`` or ``]``, contains a group separator (``\x1d``), or is longer
      than 14 characters and starts with two digits: a GS1 element string
      (:func:`domain.gs1.parse_element_string`). It must carry a GTIN in (01) or (02).
    * 12, 13 or 14 digits: a GTIN-12/13/14 with a valid check digit.
    * 8 digits: EAN-8 (GTIN-8) or UPC-E -- the digits alone are ambiguous. The rule:

      - **leading "0": UPC-E first**, EAN-8 only if the UPC-E check fails;
      - **leading "1": EAN-8 first**, UPC-E only if the EAN-8 check fails;
      - any other leading digit: EAN-8 only (UPC-E number systems are 0 and 1).

      Why: for UPC-Es whose sixth digit is 5-9 the UPC-E check digit *always* equals the
      EAN-8 check digit (the weights line up), and for 0-4 about one in ten coincide, so
      "valid EAN-8 wins" would make over half of all UPC-Es unreadable as UPC-E. And an
      EAN-8 starting with 0 is never a GTIN: GS1 uses GS1-8 prefix 0 for Restricted
      Circulation Numbers (in-store "velocity codes"); GTIN-8s use prefixes 100-139 and
      300-969. Prefixes 100-139 are real GTIN-8s, and UPC-E number system 1 is rarely
      printed, so for a leading 1 the GTIN-8 reading wins. E.g. ``01234565`` is UPC-E
      ``012345000065``; ``12345670`` is EAN-8. A scanner can remove the ambiguity by
      sending its AIM symbology identifier (``]E4`` = EAN-8; ``]E0`` = the 13-digit
      EAN/UPC form, which is how scanners send UPC-E).

    Raises:
        InvalidBarcode: with a human message saying what is wrong (and where).
    """
    text = code.strip(" \t\r\n")
    if not text:
        raise InvalidBarcode("empty barcode")
    if text.startswith("]E"):
        return _from_ean_with_identifier(text)
    if (
        text.startswith(("(", "]"))
        or GROUP_SEPARATOR in text
        or (len(text) > 14 and text[:2].isdigit())
    ):
        return _from_gs1(text, today)
    if not text.isdigit():
        raise InvalidBarcode(
            f"{text!r} is not a barcode: expected 8, 12, 13 or 14 digits or a GS1 element string"
        )
    if len(text) == 8:
        return _from_eight_digits(text)
    if len(text) in (12, 13, 14):
        if not is_valid_gtin(text):
            raise InvalidBarcode(_bad_check(text, f"GTIN-{len(text)}"), position=len(text) - 1)
        return ScannedCode(gtin=normalize_gtin(text), source="gtin")
    raise InvalidBarcode(f"{text!r} is not a barcode: {len(text)} digits, expected 8, 12, 13 or 14")


def _from_eight_digits(text: str) -> ScannedCode:
    """EAN-8 or UPC-E, by the rule in :func:`parse_scan`."""
    ean8 = is_valid_gtin(text)
    if text[0] not in "01":
        if not ean8:
            raise InvalidBarcode(_bad_check(text, "EAN-8"), position=7)
        return ScannedCode(gtin=normalize_gtin(text), source="gtin")
    try:
        upca = expand_upce(text)
    except InvalidBarcode as exc:
        if ean8:
            return ScannedCode(gtin=normalize_gtin(text), source="gtin")
        raise InvalidBarcode(
            f"{text!r} is neither a valid EAN-8 nor a valid UPC-E: "
            f"{_bad_check(text, 'EAN-8')}; as UPC-E, {exc}",
            position=7,
        ) from None
    if ean8 and text[0] == "1":
        return ScannedCode(gtin=normalize_gtin(text), source="gtin")
    return ScannedCode(gtin=normalize_gtin(upca), source="upce")


def _bad_check(code: str, kind: str) -> str:
    return (
        f"{code!r} is not a valid {kind}: check digit {code[-1]} "
        f"should be {gtin_check_digit(code[:-1])}"
    )


def _from_ean_with_identifier(text: str) -> ScannedCode:
    prefix, digits = text[:3], text[3:]
    wanted = {"]E0": 13, "]E4": 8}.get(prefix)
    if wanted is None:
        raise InvalidBarcode(
            f"unsupported EAN/UPC symbology identifier {prefix!r} (expected ]E0 or ]E4)",
            position=0,
        )
    if len(digits) != wanted or not digits.isdigit():
        raise InvalidBarcode(
            f"{text!r}: {prefix} must be followed by exactly {wanted} digits", position=3
        )
    if not is_valid_gtin(digits):
        raise InvalidBarcode(_bad_check(digits, f"GTIN-{wanted}"), position=len(text) - 1)
    return ScannedCode(gtin=normalize_gtin(digits), source="gtin")


def _from_gs1(text: str, today: date) -> ScannedCode:
    from domain import gs1  # deferred: domain.gs1 imports this module

    elements = gs1.parse_element_string(text)
    values = dict(elements)
    if "01" in values and "02" in values:
        raise InvalidBarcode(f"{text!r}: AI (01) and AI (02) must not appear together", ai="02")
    gtin = values.get("01") or values.get("02")
    if gtin is None:
        raise InvalidBarcode(f"{text!r}: no GTIN -- a GS1 scan needs AI (01) or (02)")
    if "30" in values and "37" in values:
        raise InvalidBarcode(f"{text!r}: both AI (30) and AI (37) give a count; use one", ai="37")
    dates = {ai: gs1.decode_date(v, today, ai=ai) for ai, v in elements if ai in gs1.DATE_AIS}
    raw_count = values.get("30") or values.get("37")
    return ScannedCode(
        gtin=normalize_gtin(gtin),
        lot=values.get("10"),
        expiry=dates.get("17"),
        serial=values.get("21"),
        count=int(raw_count) if raw_count is not None else None,
        source="gs1",
        elements=elements,
    )
