"""GTIN check digits, normalisation, UPC-E, and parse_scan for plain (non-GS1) codes."""

import contextlib
from datetime import date

import pytest

from domain.barcodes import (
    InvalidBarcode,
    ScannedCode,
    compress_upca,
    expand_upce,
    gtin_check_digit,
    is_expired,
    is_valid_gtin,
    normalize_gtin,
    parse_scan,
)

TODAY = date(2025, 6, 1)


def reference_check_digit(body: str) -> int:
    """Independent mod-10: pad to 13 digits, weights 3,1,3,... from the left."""
    padded = body.zfill(13)
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(padded))
    return (10 - total % 10) % 10


# --- check digits ------------------------------------------------------------------------

VALID_GTINS = [
    "96385074",  # EAN-8
    "40170725",  # EAN-8
    "12345670",  # EAN-8
    "036000291452",  # UPC-A
    "042100005264",  # UPC-A
    "012345000065",  # UPC-A
    "4006381333931",  # EAN-13
    "5901234123457",  # EAN-13
    "9506000134352",  # EAN-13
    "0036000291452",  # EAN-13 spelling of a UPC-A
    "09506000134352",  # GTIN-14
    "10036000291459",  # GTIN-14, indicator 1
    "19506000134359",  # GTIN-14, indicator 1
    "00000000000000",
]

INVALID_GTINS = [
    "96385075",
    "12345678",
    "036000291453",
    "036000291450",
    "4006381333932",
    "4006381333930",
    "5901234123450",
    "09506000134353",
    "10036000291450",
    "",
    "1234567",  # 7 digits
    "12345678901",  # 11 digits
    "123456789012345",  # 15 digits
    "03600029145A",
    "0360002914 2",
    "-36000291452",
]


@pytest.mark.parametrize(
    ("body", "digit"),
    [
        ("9638507", 4),
        ("1234567", 0),
        ("03600029145", 2),
        ("400638133393", 1),
        ("590123412345", 7),
        ("0950600013435", 2),
        ("1003600029145", 9),
        ("04210000526", 4),
        ("01234500006", 5),
        ("0000000", 0),
    ],
)
def test_gtin_check_digit(body: str, digit: int) -> None:
    assert gtin_check_digit(body) == digit
    assert reference_check_digit(body) == digit


@pytest.mark.parametrize("code", VALID_GTINS)
def test_valid_gtins(code: str) -> None:
    assert is_valid_gtin(code) is True
    assert normalize_gtin(code) == code.zfill(14)


@pytest.mark.parametrize("code", INVALID_GTINS)
def test_invalid_gtins(code: str) -> None:
    assert is_valid_gtin(code) is False
    with pytest.raises(ValueError):
        normalize_gtin(code)


@pytest.mark.parametrize(
    "spellings",
    [
        ("036000291452", "0036000291452", "00036000291452"),
        ("042100005264", "0042100005264", "00042100005264"),
        ("96385074", "0000096385074", "00000096385074"),
        ("9506000134352", "09506000134352"),
    ],
)
def test_same_item_any_length_same_gtin14(spellings: tuple[str, ...]) -> None:
    normalised = {normalize_gtin(s) for s in spellings}
    scanned = {parse_scan(s, TODAY).gtin for s in spellings}
    assert normalised == scanned
    assert len(normalised) == 1


def test_normalize_strips_whitespace() -> None:
    assert normalize_gtin(" 036000291452\n") == "00036000291452"


# --- UPC-E -------------------------------------------------------------------------------

UPCE_EXPANSIONS = [
    # published examples
    ("04252614", "042100005264"),
    ("06543217", "065100004327"),
    ("01234565", "012345000065"),
    # each rule, by the last message digit
    ("01234505", "012000003455"),  # 0
    ("01234514", "012100003454"),  # 1
    ("01234523", "012200003453"),  # 2
    ("01234531", "012300000451"),  # 3
    ("01234543", "012340000053"),  # 4
    ("01234558", "012345000058"),  # 5
    ("01234596", "012345000096"),  # 9
    ("09999992", "099999000092"),
    # number system 1
    ("11234502", "112000003452"),
    ("11234511", "112100003451"),
    ("11234520", "112200003450"),
    ("11234538", "112300000458"),
    ("11234540", "112340000050"),
    ("11234555", "112345000055"),
    ("11234593", "112345000093"),
    ("14252611", "142100005261"),
    ("16543214", "165100004324"),
    ("19999999", "199999000099"),
]


@pytest.mark.parametrize(("upce", "upca"), UPCE_EXPANSIONS)
def test_expand_upce(upce: str, upca: str) -> None:
    assert expand_upce(upce) == upca
    assert is_valid_gtin(upca)
    assert compress_upca(upca) == upce


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("04252615", "check digit 5 should be 4"),
        ("06543210", "check digit 0 should be 7"),
        ("24252614", "number system must be 0 or 1"),
        ("94252614", "number system must be 0 or 1"),
        ("0425261", "expected 8 digits"),
        ("042526144", "expected 8 digits"),
        ("0425261A", "expected 8 digits"),
        ("", "expected 8 digits"),
    ],
)
def test_expand_upce_rejects(code: str, message: str) -> None:
    with pytest.raises(InvalidBarcode, match=message):
        expand_upce(code)


@pytest.mark.parametrize(
    "upca",
    [
        "036000291452",  # manufacturer 36000 with product 29145: no UPC-E form
        "012345678905",
        "212000003459",  # number system 2
        "012345100000"[:11] + str(gtin_check_digit("01234510000")),
    ],
)
def test_compress_upca_none(upca: str) -> None:
    assert compress_upca(upca) is None


def test_compress_upca_rejects_invalid() -> None:
    with pytest.raises(InvalidBarcode):
        compress_upca("036000291453")


def test_non_canonical_upce_expands_to_canonical_round_trip() -> None:
    # 0 12045 3 (rule 3 with d3=0) means the same UPC-A as the canonical 0 120450 (rule 0)
    assert expand_upce("01204534") == "012000000454"
    assert compress_upca("012000000454") == "01204504"
    assert expand_upce("01204504") == "012000000454"


@pytest.mark.parametrize("ns", ["0", "1"])
def test_upce_round_trip_sweep(ns: str) -> None:
    checked = 0
    for n in range(0, 1_000_000, 4999):
        six = f"{n:06d}"
        upca = expand_upce_by_brute_force(ns + six)
        assert reference_check_digit(upca[:-1]) == int(upca[-1])
        again = compress_upca(upca)
        assert again is not None
        assert expand_upce(again) == upca
        checked += 1
    assert checked == 201


# --- parse_scan: plain codes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "gtin", "source"),
    [
        ("036000291452", "00036000291452", "gtin"),
        ("0036000291452", "00036000291452", "gtin"),
        ("00036000291452", "00036000291452", "gtin"),
        ("4006381333931", "04006381333931", "gtin"),
        ("5901234123457", "05901234123457", "gtin"),
        ("10036000291459", "10036000291459", "gtin"),
        ("  4006381333931\r\n", "04006381333931", "gtin"),
        # leading 0: UPC-E first
        ("04252614", "00042100005264", "upce"),  # not a valid EAN-8
        ("06543217", "00065100004327", "upce"),
        ("01234505", "00012000003455", "upce"),
        ("01234565", "00012345000065", "upce"),  # also a valid EAN-8
        ("01234558", "00012345000058", "upce"),  # also a valid EAN-8
        ("00000000", "00000000000000", "upce"),  # also a valid EAN-8
        ("00000741", "00000000000741", "gtin"),  # UPC-E check fails: EAN-8 (RCN-8)
        ("00001113", "00000000001113", "gtin"),
        # leading 1: EAN-8 first
        ("12345670", "00000012345670", "gtin"),  # also a valid UPC-E (123456000070)
        ("10000007", "00000010000007", "gtin"),  # also a valid UPC-E
        ("19999999", "00000019999999", "gtin"),  # also a valid UPC-E
        ("11234555", "00000011234555", "gtin"),  # also a valid UPC-E
        ("11234502", "00112000003452", "upce"),  # EAN-8 check fails: UPC-E
        ("11234538", "00112300000458", "upce"),
        ("14252611", "00142100005261", "upce"),
        # other leading digits: EAN-8 only
        ("96385074", "00000096385074", "gtin"),
        ("40170725", "00000040170725", "gtin"),
        # scanner symbology identifiers for EAN/UPC
        ("]E00036000291452", "00036000291452", "gtin"),
        ("]E00012345000065", "00012345000065", "gtin"),
        ("]E44006381333931"[:3] + "96385074", "00000096385074", "gtin"),
    ],
)
def test_parse_scan_plain(code: str, gtin: str, source: str) -> None:
    assert parse_scan(code, TODAY) == ScannedCode(gtin=gtin, source=source)  # type: ignore[arg-type]


@pytest.mark.parametrize("ns", ["0", "1"])
@pytest.mark.parametrize("last", "56789")
def test_upce_last_digit_5_to_9_always_passes_the_ean8_check(ns: str, last: str) -> None:
    """Why 'valid EAN-8 wins' would be wrong for a leading 0: these are always ambiguous."""
    for n in range(0, 100_000, 997):
        upca = expand_upce_by_brute_force(ns + f"{n:05d}" + last)
        upce = ns + f"{n:05d}" + last + upca[-1]
        assert is_valid_gtin(upce)


def expand_upce_by_brute_force(seven: str) -> str:
    """The expansion of the one check digit (0-9) that makes ``seven`` a valid UPC-E."""
    found = []
    for c in "0123456789":
        with contextlib.suppress(InvalidBarcode):
            found.append(expand_upce(seven + c))
    assert len(found) == 1
    return found[0]


def test_upce_and_its_upca_are_the_same_item() -> None:
    assert parse_scan("04252614", TODAY).gtin == parse_scan("042100005264", TODAY).gtin
    assert parse_scan("04252614", TODAY).gtin == parse_scan("0042100005264", TODAY).gtin


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "empty barcode"),
        ("   ", "empty barcode"),
        ("abc", "not a barcode"),
        ("4006381333932", "not a valid GTIN-13: check digit 2 should be 1"),
        ("036000291453", "not a valid GTIN-12: check digit 3 should be 2"),
        ("09506000134353", "not a valid GTIN-14: check digit 3 should be 2"),
        ("96385075", "not a valid EAN-8: check digit 5 should be 4"),
        ("04252615", "neither a valid EAN-8 nor a valid UPC-E"),
        ("00000742", "neither a valid EAN-8 nor a valid UPC-E"),
        ("11234503", "neither a valid EAN-8 nor a valid UPC-E"),
        ("20000003", "not a valid EAN-8: check digit 3 should be 4"),
        ("1234567", "7 digits"),
        ("12345678901", "11 digits"),
        ("4006381333931X", "not a barcode"),
        ("123456789012345", "unknown or unsupported application identifier"),
        ("]E0036000291452", "exactly 13 digits"),
        ("]E0ABCDEFGHIJKLM", "exactly 13 digits"),
        ("]E00036000291453", "check digit"),
        ("]E196385074", "unsupported EAN/UPC symbology identifier"),
        ("]E4036000291452", "exactly 8 digits"),
    ],
)
def test_parse_scan_invalid(code: str, message: str) -> None:
    with pytest.raises(InvalidBarcode, match=message):
        parse_scan(code, TODAY)


def test_invalid_barcode_is_value_error() -> None:
    with pytest.raises(ValueError):
        parse_scan("nope", TODAY)


def test_scanned_code_is_frozen() -> None:
    code = parse_scan("4006381333931", TODAY)
    with pytest.raises(AttributeError):
        code.gtin = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("expiry", "today", "expired"),
    [
        (None, date(2099, 1, 1), False),
        (date(2025, 6, 1), date(2025, 6, 1), False),
        (date(2025, 6, 1), date(2025, 6, 2), True),
        (date(2025, 6, 1), date(2025, 5, 31), False),
        (date(2024, 12, 31), date(2025, 1, 1), True),
    ],
)
def test_is_expired(expiry: date | None, today: date, expired: bool) -> None:
    assert is_expired(ScannedCode(gtin="00000096385074", expiry=expiry), today) is expired
