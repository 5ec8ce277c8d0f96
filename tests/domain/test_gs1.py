"""GS1 element strings (raw and bracketed) and parse_scan for GS1 codes."""

from datetime import date

import pytest

from domain import gs1
from domain.barcodes import InvalidBarcode, ScannedCode, is_expired, parse_scan

GS = "\x1d"
TODAY = date(2025, 6, 1)
GTIN = "09506000134352"


# --- the same data, raw and bracketed ----------------------------------------------------

SAME = [
    (
        "(01)09506000134352(17)261231(10)ABC123(21)S-42",
        "]C101095060001343521726123110ABC123" + GS + "21S-42",
        (("01", GTIN), ("17", "261231"), ("10", "ABC123"), ("21", "S-42")),
    ),
    (
        "(01)09506000134352(10)LOT-7(17)250600",
        "]d20109506000134352" + "10LOT-7" + GS + "17250600",
        (("01", GTIN), ("10", "LOT-7"), ("17", "250600")),
    ),
    (
        "(02)09506000134352(37)12",
        "]Q3020950600013435237" + "12",
        (("02", GTIN), ("37", "12")),
    ),
    (
        "(01)19506000134359(30)5(21)X",
        "0119506000134359305" + GS + "21X",
        (("01", "19506000134359"), ("30", "5"), ("21", "X")),
    ),
    (
        "(01)09506000134352(11)240101(13)240102(15)250300(16)250315(17)250331",
        "]e00109506000134352112401011324010215250300162503151725033" + "1",
        (
            ("01", GTIN),
            ("11", "240101"),
            ("13", "240102"),
            ("15", "250300"),
            ("16", "250315"),
            ("17", "250331"),
        ),
    ),
    (
        "(01)09506000134352(10)A\\(B\\(C)D",
        "]J1010950600013435210A(B(C)D",
        (("01", GTIN), ("10", "A(B(C)D")),
    ),
]


@pytest.mark.parametrize(("bracketed", "raw", "elements"), SAME)
def test_raw_and_bracketed_parse_the_same(
    bracketed: str, raw: str, elements: tuple[tuple[str, str], ...]
) -> None:
    assert gs1.parse_element_string(bracketed) == elements
    assert gs1.parse_element_string(raw) == elements
    assert parse_scan(bracketed, TODAY) == parse_scan(raw, TODAY)


@pytest.mark.parametrize(("bracketed", "raw", "elements"), SAME)
def test_round_trips(bracketed: str, raw: str, elements: tuple[tuple[str, str], ...]) -> None:
    assert gs1.to_bracketed(elements) == bracketed
    assert gs1.parse_element_string(gs1.to_bracketed(elements)) == elements
    for sid in ("", "]C1", "]d2", "]Q3"):
        again = gs1.to_raw(elements, sid)
        assert gs1.parse_element_string(again) == elements


def test_to_raw_separators() -> None:
    elements = (("10", "L1"), ("01", GTIN), ("21", "S"), ("30", "4"))
    assert gs1.to_raw(elements, "]C1") == "]C110L1" + GS + "01" + GTIN + "21S" + GS + "304"


def test_full_parse_scan() -> None:
    got = parse_scan("(01)09506000134352(17)261231(10)ABC123(21)S-42", TODAY)
    assert got == ScannedCode(
        gtin=GTIN,
        lot="ABC123",
        expiry=date(2026, 12, 31),
        serial="S-42",
        count=None,
        source="gs1",
        elements=(("01", GTIN), ("17", "261231"), ("10", "ABC123"), ("21", "S-42")),
    )


@pytest.mark.parametrize(
    ("code", "field", "value"),
    [
        ("(01)09506000134352", "gtin", GTIN),
        ("(01)09506000134352", "source", "gs1"),
        ("(01)00036000291452", "gtin", "00036000291452"),
        ("(02)09506000134352(37)24", "gtin", GTIN),
        ("(02)09506000134352(37)24", "count", 24),
        ("(02)09506000134352(37)99999999", "count", 99999999),
        ("(01)19506000134359(30)7", "count", 7),
        ("(01)19506000134359(30)00000007", "count", 7),
        ("(01)09506000134352(10)12345678901234567890", "lot", "12345678901234567890"),
        ("(01)09506000134352(21)12345678901234567890", "serial", "12345678901234567890"),
        ("(01)09506000134352(10)a-Z_./:;<=>?!%&'*+,\"", "lot", "a-Z_./:;<=>?!%&'*+,\""),
        ("(01)09506000134352(17)261231", "expiry", date(2026, 12, 31)),
        ("(01)09506000134352(15)261231", "expiry", None),
        ("(01)09506000134352(11)240229", "expiry", None),
        ("(01)09506000134352", "lot", None),
        ("(01)09506000134352", "serial", None),
        ("(01)09506000134352", "count", None),
        (GS + "0109506000134352" + "21S1" + GS, "serial", "S1"),  # leading/trailing FNC1
        ("0109506000134352" + GS + "10L", "lot", "L"),  # FNC1 after a fixed field
        ("  (01)09506000134352(21)S1\r\n", "serial", "S1"),
    ],
)
def test_each_ai(code: str, field: str, value: object) -> None:
    assert getattr(parse_scan(code, TODAY), field) == value


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "today", "expected"),
    [
        ("261231", TODAY, date(2026, 12, 31)),
        ("250101", TODAY, date(2025, 1, 1)),
        # day 00 = last day of the month
        ("240200", TODAY, date(2024, 2, 29)),
        ("250200", TODAY, date(2025, 2, 28)),
        ("250400", TODAY, date(2025, 4, 30)),
        ("251200", TODAY, date(2025, 12, 31)),
        ("000200", TODAY, date(2000, 2, 29)),
        # century window: -49..+50 years around today's year
        ("750101", TODAY, date(2075, 1, 1)),  # +50
        ("760101", TODAY, date(1976, 1, 1)),  # -49
        ("990101", TODAY, date(1999, 1, 1)),
        ("000101", TODAY, date(2000, 1, 1)),
        ("500101", date(2000, 1, 1), date(2050, 1, 1)),
        ("510101", date(2000, 1, 1), date(1951, 1, 1)),
        ("300101", date(2080, 7, 1), date(2130, 1, 1)),
        ("310101", date(2080, 7, 1), date(2031, 1, 1)),
        ("490101", date(2099, 12, 31), date(2149, 1, 1)),
        ("500101", date(2099, 12, 31), date(2050, 1, 1)),
    ],
)
def test_decode_date(value: str, today: date, expected: date) -> None:
    assert gs1.decode_date(value, today) == expected


@pytest.mark.parametrize(
    ("value", "today", "message"),
    [
        ("251301", TODAY, "month 13"),
        ("250001", TODAY, "month 00"),
        ("250230", TODAY, "no day 30"),
        ("250229", TODAY, "no day 29"),
        ("250431", TODAY, "no day 31"),
        ("000229", date(2060, 1, 1), "2100-02 has no day 29"),  # 2100 is not a leap year
        ("25010", TODAY, "not YYMMDD"),
        ("25O101", TODAY, "not YYMMDD"),
    ],
)
def test_decode_date_invalid(value: str, today: date, message: str) -> None:
    with pytest.raises(InvalidBarcode, match=message):
        gs1.decode_date(value, today)


@pytest.mark.parametrize(
    ("yy", "today", "year"),
    [(25, TODAY, 2025), (75, TODAY, 2075), (76, TODAY, 1976), (0, date(1999, 1, 1), 2000)],
)
def test_resolve_year(yy: int, today: date, year: int) -> None:
    assert gs1.resolve_year(yy, today) == year


def test_encode_date_round_trip() -> None:
    for d in (date(2025, 6, 1), date(2024, 2, 29), date(2074, 12, 31), date(1976, 1, 1)):
        assert gs1.decode_date(gs1.encode_date(d), TODAY) == d


@pytest.mark.parametrize(
    ("code", "today", "expired"),
    [
        ("(01)09506000134352(17)250531", TODAY, True),
        ("(01)09506000134352(17)250601", TODAY, False),
        ("(01)09506000134352(17)250600", TODAY, False),  # day 00 = 30 June
        ("(01)09506000134352(17)250600", date(2025, 7, 1), True),
        ("(01)09506000134352(17)250500", TODAY, True),  # 31 May
        ("(01)09506000134352(15)200101", TODAY, False),  # best-before is not expiry
        ("(01)09506000134352", TODAY, False),
    ],
)
def test_is_expired(code: str, today: date, expired: bool) -> None:
    assert is_expired(parse_scan(code, today), today) is expired


# --- malformed ----------------------------------------------------------------------------

MALFORMED = [
    # bad GTINs
    ("(01)09506000134353", r"AI \(01\).*check digit 3, should be 2"),
    ("(02)09506000134350(37)1", r"AI \(02\).*check digit 0, should be 2"),
    ("(01)0950600013435", r"AI \(01\).*exactly 14 characters, got 13"),
    ("(01)095060001343521", r"AI \(01\).*exactly 14 characters, got 15"),
    ("(01)0950600013435A", r"AI \(01\).*must be digits"),
    ("01095060001343", r"is not a barcode|check digit"),  # 14 chars: a GTIN-14, invalid
    ("010950600013435", r"AI \(01\).*exactly 14 characters, got 13"),
    ("0109506000134352" + "1", r"unknown or unsupported application identifier at position 16"),
    # dates
    ("(01)09506000134352(17)261331", r"AI \(17\).*month 13"),
    ("(01)09506000134352(17)261232", r"AI \(17\).*day 32"),
    ("(01)09506000134352(17)250230", r"AI \(17\).*no day 30"),
    ("(01)09506000134352(11)250229", r"AI \(11\).*no day 29"),
    ("(01)09506000134352(17)2612", r"AI \(17\).*exactly 6 characters, got 4"),
    ("(01)09506000134352(17)26123A", r"AI \(17\).*must be digits"),
    ("0109506000134352172612", r"AI \(17\) at position 16.*exactly 6 characters, got 4"),
    ("010950600013435217" + "2612" + GS + "10A", r"AI \(17\).*exactly 6 characters, got 4"),
    # variable fields
    ("(01)09506000134352(10)", r"AI \(10\).*empty value"),
    ("0109506000134352" + "10" + GS + "21X", r"AI \(10\).*empty value"),
    ("(01)09506000134352(10)" + "A" * 21, r"AI \(10\).*21 characters, at most 20"),
    ("0109506000134352" + "10" + "A" * 21, r"AI \(10\).*missing group separator"),
    ("(01)09506000134352(21)" + "9" * 21, r"AI \(21\).*21 characters"),
    ("(01)09506000134352(10)AB C", r"AI \(10\).*character ' ' is not allowed"),
    ("(01)09506000134352(21)SÄ", r"AI \(21\).*character 'Ä' is not allowed"),
    ("(01)09506000134352(30)123456789", r"AI \(30\).*9 characters, at most 8"),
    ("(01)09506000134352(30)12A", r"AI \(30\).*must be digits"),
    ("(01)09506000134352(30)１２", r"AI \(30\).*must be digits"),
    ("(02)09506000134352(37)0", r"AI \(37\).*at least 1"),
    ("(02)09506000134352(37)", r"AI \(37\).*empty value"),
    # structure
    ("(99)ABC", r"unknown or unsupported application identifier \(99\)"),
    ("(01)09506000134352(400)PO1", r"unknown or unsupported application identifier \(400\)"),
    ("0109506000134352" + "99ABC", r"unknown or unsupported application identifier at position 16"),
    ("0109506000134352XYZ", r"unknown or unsupported application identifier at position 16"),
    ("0109506000134352" + "10A" + GS + GS + "21B", r"unknown or unsupported.*position 20"),
    ("(01)09506000134352 junk", r"AI \(01\).*exactly 14 characters"),
    ("(01)09506000134352(10)AB" + GS + "C", r"group separator at position 24"),
    ("(01)09506000134352(", r"expected '\(AI\)' at position 18"),
    ("(0109506000134352", r"expected '\(AI\)' at position 0"),
    ("(1)09506000134352", r"expected '\(AI\)' at position 0"),
    ("]C1", r"empty GS1 element string"),
    ("]X0(01)09506000134352", r"symbology identifier '\]X0' is not a GS1 symbology"),
    ("]C0" + "0109506000134352", r"symbology identifier '\]C0' is not a GS1 symbology"),
    ("(01)09506000134352(10)A(10)B", r"AI \(10\).*appears more than once"),
    # semantics for a scan
    ("(10)ABC(21)S1", r"no GTIN"),
    ("(17)261231", r"no GTIN"),
    ("(01)09506000134352(02)09506000134352(37)2", r"\(01\) and AI \(02\) must not appear"),
    ("(01)09506000134352(30)2(37)2", r"both AI \(30\) and AI \(37\)"),
]


@pytest.mark.parametrize(("code", "message"), MALFORMED)
def test_malformed(code: str, message: str) -> None:
    with pytest.raises(InvalidBarcode, match=message):
        parse_scan(code, TODAY)


def test_error_carries_position_and_ai() -> None:
    with pytest.raises(InvalidBarcode) as info:
        parse_scan("0109506000134352" + "10" + "A" * 21, TODAY)
    assert (info.value.position, info.value.ai) == (18, "10")
    with pytest.raises(InvalidBarcode) as info:
        parse_scan("(01)09506000134353", TODAY)
    assert (info.value.position, info.value.ai) == (4, "01")


def test_ai_table() -> None:
    assert sorted(gs1.AIS) == ["01", "02", "10", "11", "13", "15", "16", "17", "21", "30", "37"]
    assert sorted(gs1.DATE_AIS) == ["11", "13", "15", "16", "17"]
    assert {ai for ai, s in gs1.AIS.items() if not s.fixed} == {"10", "21", "30", "37"}
