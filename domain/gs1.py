"""GS1 element strings: the data in GS1-128, GS1 DataMatrix, GS1 QR and GS1 DataBar symbols.

Two spellings of the same data are accepted:

* **raw**, as a scanner transmits it: an optional AIM symbology identifier (``]C1``
  GS1-128, ``]d2`` GS1 DataMatrix, ``]Q3`` GS1 QR, ``]e0`` GS1 DataBar, ``]J1`` GS1
  DotCode), then ``AI value AI value ...``. Fixed-length fields need no separator; a
  variable-length field ends at the FNC1, transmitted as ASCII 29 (group separator,
  ``"\\x1d"``), or at the end of the string.
* **bracketed**, the human-readable interpretation printed under the bars:
  ``(01)09506000134352(17)261231(10)ABC123``. A literal ``(`` inside a value is written
  ``\\(`` (the GS1 Syntax Engine convention).

Only the AIs in :data:`AIS` are understood; any other AI is an error rather than a guess
at its length. Pure: no I/O, no clock.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from domain.barcodes import GROUP_SEPARATOR, InvalidBarcode, gtin_check_digit

GS = GROUP_SEPARATOR

#: AIM symbology identifiers whose data is a GS1 element string.
GS1_SYMBOLOGY_IDS = frozenset({"]C1", "]d2", "]Q3", "]e0", "]J1"})

#: GS1 AI encodable character set 82, allowed in alphanumeric fields.
CSET82 = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)


@dataclass(frozen=True)
class AISpec:
    """One application identifier: its data's length and content."""

    ai: str
    title: str
    length: int  # the exact length when ``fixed``, else the maximum
    fixed: bool
    numeric: bool
    check_digit: bool = False
    is_date: bool = False


def _spec(*specs: AISpec) -> dict[str, AISpec]:
    return {s.ai: s for s in specs}


#: The AIs understood here (GS1 General Specifications, section 3).
AIS: Mapping[str, AISpec] = _spec(
    AISpec("01", "GTIN", 14, fixed=True, numeric=True, check_digit=True),
    AISpec("02", "CONTENT", 14, fixed=True, numeric=True, check_digit=True),
    AISpec("10", "BATCH/LOT", 20, fixed=False, numeric=False),
    AISpec("11", "PROD DATE", 6, fixed=True, numeric=True, is_date=True),
    AISpec("13", "PACK DATE", 6, fixed=True, numeric=True, is_date=True),
    AISpec("15", "BEST BEFORE", 6, fixed=True, numeric=True, is_date=True),
    AISpec("16", "SELL BY", 6, fixed=True, numeric=True, is_date=True),
    AISpec("17", "USE BY/EXPIRY", 6, fixed=True, numeric=True, is_date=True),
    AISpec("21", "SERIAL", 20, fixed=False, numeric=False),
    AISpec("30", "VAR. COUNT", 8, fixed=False, numeric=True),
    AISpec("37", "COUNT", 8, fixed=False, numeric=True),
)

DATE_AIS = frozenset(ai for ai, s in AIS.items() if s.is_date)

Element = tuple[str, str]


def parse_element_string(text: str) -> tuple[Element, ...]:
    """``(AI, value)`` pairs of a raw or bracketed GS1 element string, in order.

    Values are validated syntactically: check digits of (01)/(02), digits in numeric
    fields, month 01-12 and day 00-31 in dates (the day against the month's length needs
    the century: :func:`decode_date`), lengths, the character set of (10)/(21), positive
    counts, and no AI twice.

    Raises:
        InvalidBarcode: with the position (0-based, into ``text``) and AI at fault.
    """
    start = 0
    if text.startswith("]"):
        prefix = text[:3]
        if prefix not in GS1_SYMBOLOGY_IDS:
            raise InvalidBarcode(
                f"symbology identifier {prefix!r} is not a GS1 symbology "
                f"(expected one of {', '.join(sorted(GS1_SYMBOLOGY_IDS))})",
                position=0,
            )
        start = 3
    if text.startswith("(", start):
        elements = _parse_bracketed(text, start)
    else:
        elements = _parse_raw(text, start)
    if not elements:
        raise InvalidBarcode("empty GS1 element string", position=start)
    return tuple(elements)


def _parse_raw(text: str, start: int) -> list[Element]:
    elements: list[Element] = []
    seen: set[str] = set()
    i = start
    if text.startswith(GS, i):  # FNC1 in first position, sent by some scanners
        i += 1
    while i < len(text):
        ai = text[i : i + 2]
        spec = AIS.get(ai)
        if spec is None:
            raise InvalidBarcode(
                f"unknown or unsupported application identifier at position {i}: "
                f"{text[i : i + 4]!r}...",
                position=i,
            )
        value_at = i + 2
        if spec.fixed:
            value = text[value_at : value_at + spec.length]
            if GS in value or len(value) < spec.length:
                raise InvalidBarcode(
                    f"AI ({ai}) at position {i}: needs exactly {spec.length} characters, "
                    f"got {len(value.split(GS)[0])}",
                    position=value_at,
                    ai=ai,
                )
            end = value_at + spec.length
        else:
            gs_at = text.find(GS, value_at)
            end = len(text) if gs_at < 0 else gs_at
            value = text[value_at:end]
        _check_value(spec, value, value_at, seen)
        elements.append((ai, value))
        i = end
        if text.startswith(GS, i):  # also tolerated after fixed fields and at the end
            i += 1
    return elements


_BRACKET_AI = re.compile(r"\((\d{2,4})\)")


def _parse_bracketed(text: str, start: int) -> list[Element]:
    elements: list[Element] = []
    seen: set[str] = set()
    i = start
    while i < len(text):
        m = _BRACKET_AI.match(text, i)
        if m is None:
            raise InvalidBarcode(
                f"expected '(AI)' at position {i}, found {text[i : i + 6]!r}", position=i
            )
        ai = m.group(1)
        spec = AIS.get(ai)
        if spec is None:
            raise InvalidBarcode(
                f"unknown or unsupported application identifier ({ai}) at position {i}",
                position=i,
                ai=ai,
            )
        value_at = m.end()
        chars: list[str] = []
        j = value_at
        while j < len(text) and text[j] != "(":
            if text.startswith("\\(", j):
                chars.append("(")
                j += 2
            elif text[j] == GS:
                raise InvalidBarcode(
                    f"group separator at position {j} inside bracketed AI ({ai})",
                    position=j,
                    ai=ai,
                )
            else:
                chars.append(text[j])
                j += 1
        value = "".join(chars)
        if spec.fixed and len(value) != spec.length:
            raise InvalidBarcode(
                f"AI ({ai}) at position {i}: needs exactly {spec.length} characters, "
                f"got {len(value)}",
                position=value_at,
                ai=ai,
            )
        _check_value(spec, value, value_at, seen)
        elements.append((ai, value))
        i = j
    return elements


def _check_value(spec: AISpec, value: str, at: int, seen: set[str]) -> None:
    ai = spec.ai

    def fail(problem: str) -> InvalidBarcode:
        return InvalidBarcode(f"AI ({ai}) at position {at}: {problem}", position=at, ai=ai)

    if ai in seen:
        raise fail("appears more than once")
    seen.add(ai)
    if not value:
        raise fail("empty value")
    if len(value) > spec.length:
        raise fail(
            f"{len(value)} characters, at most {spec.length} allowed (missing group separator?)"
        )
    if spec.numeric and not (value.isascii() and value.isdigit()):
        raise fail(f"{value!r} must be digits only")
    if not spec.numeric:
        bad = next((c for c in value if c not in CSET82), None)
        if bad is not None:
            raise fail(f"character {bad!r} is not allowed in {spec.title}")
    if spec.check_digit:
        expected = gtin_check_digit(value[:-1])
        if int(value[-1]) != expected:
            raise fail(f"GTIN {value} has check digit {value[-1]}, should be {expected}")
    if spec.is_date:
        month, day = int(value[2:4]), int(value[4:6])
        if not 1 <= month <= 12:
            raise fail(f"date {value}: month {value[2:4]} is not 01-12")
        if day > 31:
            raise fail(f"date {value}: day {value[4:6]} is not 00-31")
    if ai in ("30", "37") and int(value) == 0:
        raise fail("count must be at least 1")


def resolve_year(yy: int, today: date) -> int:
    """The four-digit year of a two-digit GS1 year (GS1 General Specifications 7.12).

    The year is placed within -49..+50 years of ``today.year``: a difference of 51 or more
    ahead means the previous century, 50 or more behind the next one.
    """
    if not 0 <= yy <= 99:
        raise ValueError(f"two-digit year out of range: {yy}")
    century, current = divmod(today.year, 100)
    diff = yy - current
    if diff >= 51:
        century -= 1
    elif diff <= -50:
        century += 1
    return century * 100 + yy


def decode_date(value: str, today: date, *, ai: str | None = None) -> date:
    """The date of a GS1 ``YYMMDD`` field; day ``00`` means the last day of the month.

    Raises:
        InvalidBarcode: not six digits, or not a calendar date (e.g. month 13, 30 February).
    """
    where = f"AI ({ai}) " if ai else ""
    if len(value) != 6 or not (value.isascii() and value.isdigit()):
        raise InvalidBarcode(f"{where}date {value!r} is not YYMMDD", ai=ai)
    year = resolve_year(int(value[:2]), today)
    month, day = int(value[2:4]), int(value[4:6])
    if not 1 <= month <= 12:
        raise InvalidBarcode(f"{where}date {value}: month {value[2:4]} is not 01-12", ai=ai)
    last = calendar.monthrange(year, month)[1]
    if day == 0:
        day = last
    if day > last:
        raise InvalidBarcode(f"{where}date {value}: {year}-{month:02d} has no day {day}", ai=ai)
    return date(year, month, day)


def encode_date(value: date) -> str:
    """``YYMMDD`` for a date (the inverse of :func:`decode_date` within its window)."""
    return value.strftime("%y%m%d")


def to_bracketed(elements: Iterable[Element]) -> str:
    """The human-readable form, e.g. ``(01)09506000134352(10)ABC``."""
    return "".join(f"({ai}){value.replace('(', chr(92) + '(')}" for ai, value in elements)


def to_raw(elements: Iterable[Element], symbology_id: str = "") -> str:
    """The transmitted form: a group separator after every variable-length field but the last."""
    items = list(elements)
    parts: list[str] = [symbology_id]
    for n, (ai, value) in enumerate(items):
        parts.append(ai + value)
        if not AIS[ai].fixed and n < len(items) - 1:
            parts.append(GS)
    return "".join(parts)
