"""geocode: coordinates, then postal prefix, then region, then country; and the table."""

from __future__ import annotations

import math
from typing import Any, cast

import pytest

from domain import geocode as geocode_module
from domain.geo import COUNTRY_CENTROIDS, haversine_km, locate
from domain.geocode import GeoPoint, country_centroids, geocode, preload

TABLE = geocode_module._table()


def km(point: GeoPoint | None, lat: float, lon: float) -> float:
    assert point is not None
    return haversine_km(point.latitude, point.longitude, lat, lon)


def region_centroid(country: str, code: str) -> tuple[float, float]:
    place = TABLE.regions[(country, code)]
    return place.latitude, place.longitude


def country_centroid(code: str) -> tuple[float, float]:
    place = TABLE.countries[code]
    return place.latitude, place.longitude


# --- exact coordinates win ------------------------------------------------------------


def test_coordinates_win_over_everything_else() -> None:
    point = geocode("US", "10001", "NY", latitude=45.5189, longitude=-122.6795)
    assert point == GeoPoint(45.5189, -122.6795, "exact", "coordinates")


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [
        (45.5, None),
        (None, -122.6),
        (float("nan"), -122.6),
        (45.5, float("inf")),
        (91.0, -122.6),
        (45.5, -181.0),
        (0.0, 0.0),  # "null island": a channel's way of saying unknown
    ],
)
def test_unusable_coordinates_fall_through_to_the_postal_code(
    latitude: float | None, longitude: float | None
) -> None:
    point = geocode("US", "97201", latitude=latitude, longitude=longitude)
    assert point is not None and point.precision == "postal"


def test_coordinates_need_no_country() -> None:
    assert geocode("", latitude=-33.87, longitude=151.21) == GeoPoint(
        -33.87, 151.21, "exact", "coordinates"
    )


# --- postal codes --------------------------------------------------------------------

#: (country, postal code, expected latitude, longitude, within km)
POSTAL = [
    ("US", "97201", 45.52, -122.68, 50),  # Portland
    ("US", "97201-1234", 45.52, -122.68, 50),  # ZIP+4
    ("US", "972011234", 45.52, -122.68, 50),  # ZIP+4 without its hyphen
    ("US", " 97201 1234 ", 45.52, -122.68, 50),
    ("US", "10001", 40.75, -73.99, 50),  # New York
    ("US", "11201", 40.69, -73.99, 50),  # Brooklyn
    ("US", "90012", 34.05, -118.24, 50),  # Los Angeles
    ("US", "91401", 34.18, -118.45, 50),  # Van Nuys
    ("US", "60601", 41.88, -87.62, 50),  # Chicago
    ("US", "77002", 29.76, -95.36, 50),  # Houston
    ("US", "98101", 47.61, -122.33, 50),  # Seattle
    ("US", "94103", 37.77, -122.41, 50),  # San Francisco
    ("US", "33130", 25.77, -80.20, 50),  # Miami
    ("US", "30303", 33.75, -84.39, 50),  # Atlanta
    ("US", "75201", 32.79, -96.80, 50),  # Dallas
    ("US", "85004", 33.45, -112.07, 50),  # Phoenix
    ("US", "80202", 39.75, -104.99, 50),  # Denver
    ("US", "02108", 42.36, -71.06, 50),  # Boston
    ("US", "2108", 42.36, -71.06, 50),  # Boston, its leading zero lost to a spreadsheet
    ("US", "19103", 39.95, -75.17, 50),  # Philadelphia
    ("US", "20001", 38.91, -77.02, 50),  # Washington, DC
    ("US", "98660", 45.64, -122.66, 50),  # Vancouver, WA (not Vancouver, BC)
    ("US", "79901", 31.76, -106.49, 50),  # El Paso, far from the Texas centroid
    ("US", "99501", 61.22, -149.90, 50),  # Anchorage
    ("US", "96813", 21.31, -157.86, 50),  # Honolulu
    ("PR", "00901", 18.47, -66.11, 50),  # San Juan, Puerto Rico as its own country
    ("AS", "96799", -14.28, -170.70, 50),  # Pago Pago, not Hawaii
    ("CA", "K1A 0B1", 45.42, -75.70, 30),  # Ottawa
    ("CA", "k1a0b1", 45.42, -75.70, 30),
    ("CA", "M5V 3L9", 43.64, -79.39, 30),  # Toronto
    ("CA", "H2X 1Y4", 45.51, -73.57, 30),  # Montreal
    ("CA", "V6B 1A1", 49.28, -123.11, 30),  # Vancouver
    ("CA", "T2P 1J9", 51.05, -114.07, 30),  # Calgary
    ("CA", "X0A 0H0", 63.75, -68.52, 50),  # Iqaluit
    ("GB", "SW1A 1AA", 51.50, -0.14, 30),  # Westminster
    ("GB", "ec1a1bb", 51.52, -0.10, 30),  # the City
    ("GB", "M1 1AE", 53.48, -2.24, 30),  # Manchester
    ("GB", "EH1 1YZ", 55.95, -3.19, 30),  # Edinburgh
    ("GB", "G1 1XQ", 55.86, -4.25, 30),  # Glasgow
    ("GB", "BD1 1HY", 53.79, -1.75, 30),  # Bradford: "BD", not Birmingham's "B"
    ("GB", "B1 1BB", 52.48, -1.90, 30),  # Birmingham
    ("GB", "BT1 5GS", 54.60, -5.93, 30),  # Belfast
    ("GB", "CF10 1EP", 51.48, -3.18, 30),  # Cardiff
    ("GB", "SW1A", 51.50, -0.14, 30),  # outward code only
    ("UK", "LS1 4AP", 53.80, -1.55, 30),  # Leeds, under the non-ISO code
    ("AU", "2000", -33.87, 151.21, 30),  # Sydney
    ("AU", "3000", -37.81, 144.96, 30),  # Melbourne
    ("AU", "2600", -35.28, 149.13, 30),  # Canberra (ACT inside NSW's 2xxx)
    ("AU", "6000", -31.95, 115.86, 30),  # Perth
    ("DE", "10115", 52.53, 13.38, 30),  # Berlin
    ("DE", "80331", 48.14, 11.58, 30),  # Muenchen
    ("FR", "75001", 48.86, 2.34, 30),  # Paris
    ("FR", "97400", -20.88, 55.45, 50),  # Saint-Denis, Reunion: not mainland France
    ("NL", "1012 AB", 52.37, 4.89, 30),  # Amsterdam
    ("IE", "D02 X285", 53.34, -6.26, 30),  # Dublin
    ("ES", "35001", 28.10, -15.41, 50),  # Las Palmas: not mainland Spain
    ("IT", "00184", 41.89, 12.50, 30),  # Roma
]


@pytest.mark.parametrize(("country", "postal_code", "lat", "lon", "within"), POSTAL)
def test_postal_codes_land_near_their_city(
    country: str, postal_code: str, lat: float, lon: float, within: float
) -> None:
    point = geocode(country, postal_code)
    assert point is not None and point.precision == "postal", point
    assert km(point, lat, lon) < within, point


#: (postal code, state) for ZIP prefixes the table knows only by their state.
RURAL = [("59201", "MT"), ("05901", "VT"), ("84501", "UT"), ("69201", "NE"), ("87901", "NM")]


@pytest.mark.parametrize(("postal_code", "state"), RURAL)
def test_a_rural_zip_prefix_resolves_to_its_state_centroid(postal_code: str, state: str) -> None:
    point = geocode("US", postal_code)
    assert point is not None and point.precision == "postal"
    assert (point.latitude, point.longitude) == region_centroid("US", state)
    assert postal_code[:3] in point.source


def test_the_source_names_the_row_that_matched() -> None:
    assert geocode("US", "97201") == GeoPoint(45.52, -122.68, "postal", "US postal 972 (Portland)")
    rural = geocode("US", "59201")
    assert rural is not None and rural.source == "US postal 592 (Montana)"


#: State capitals: (ZIP, state, latitude, longitude). Each must land in its own state,
#: near the capital (the table's sectional-centre points include every capital).
CAPITALS = [
    ("36104", "AL", 32.38, -86.30),
    ("99801", "AK", 58.30, -134.42),
    ("85001", "AZ", 33.45, -112.07),
    ("72201", "AR", 34.75, -92.29),
    ("95814", "CA", 38.58, -121.49),
    ("80202", "CO", 39.74, -104.99),
    ("06103", "CT", 41.76, -72.68),
    ("19901", "DE", 39.16, -75.52),
    ("32301", "FL", 30.44, -84.28),
    ("30303", "GA", 33.75, -84.39),
    ("96813", "HI", 21.31, -157.86),
    ("83702", "ID", 43.62, -116.20),
    ("62701", "IL", 39.80, -89.65),
    ("46204", "IN", 39.77, -86.16),
    ("50309", "IA", 41.59, -93.62),
    ("66603", "KS", 39.05, -95.68),
    ("40601", "KY", 38.20, -84.87),
    ("70802", "LA", 30.45, -91.19),
    ("04330", "ME", 44.31, -69.78),
    ("21401", "MD", 38.98, -76.49),
    ("02108", "MA", 42.36, -71.06),
    ("48933", "MI", 42.73, -84.56),
    ("55102", "MN", 44.95, -93.09),
    ("39201", "MS", 32.30, -90.18),
    ("65101", "MO", 38.58, -92.17),
    ("59601", "MT", 46.59, -112.04),
    ("68508", "NE", 40.81, -96.70),
    ("89701", "NV", 39.16, -119.77),
    ("03301", "NH", 43.21, -71.54),
    ("08608", "NJ", 40.22, -74.76),
    ("87501", "NM", 35.69, -105.94),
    ("12207", "NY", 42.65, -73.76),
    ("27601", "NC", 35.78, -78.64),
    ("58501", "ND", 46.81, -100.78),
    ("43215", "OH", 39.96, -83.00),
    ("73102", "OK", 35.47, -97.52),
    ("97301", "OR", 44.94, -123.04),
    ("17101", "PA", 40.27, -76.88),
    ("02903", "RI", 41.82, -71.41),
    ("29201", "SC", 34.00, -81.03),
    ("57501", "SD", 44.37, -100.35),
    ("37219", "TN", 36.16, -86.78),
    ("78701", "TX", 30.27, -97.74),
    ("84111", "UT", 40.76, -111.89),
    ("05602", "VT", 44.26, -72.58),
    ("23219", "VA", 37.54, -77.44),
    ("98501", "WA", 47.04, -122.90),
    ("25301", "WV", 38.35, -81.63),
    ("53703", "WI", 43.07, -89.40),
    ("82001", "WY", 41.14, -104.82),
    ("20001", "DC", 38.90, -77.04),
    ("00901", "PR", 18.47, -66.11),
]


@pytest.mark.parametrize(("zip_code", "state", "lat", "lon"), CAPITALS)
def test_every_state_capital_lands_in_its_state_near_the_capital(
    zip_code: str, state: str, lat: float, lon: float
) -> None:
    point = geocode("US", zip_code)
    assert point is not None and point.precision == "postal"
    assert TABLE.postal["US"][zip_code[:3]].region == state
    assert km(point, lat, lon) < 60, point


# --- fallbacks -----------------------------------------------------------------------

#: (country, postal, province, expected precision, expected (country, region) or country)
FALLBACKS: list[tuple[str, str | None, str | None, str, tuple[str, str] | str]] = [
    ("US", "00012", "OR", "region", ("US", "OR")),  # 000: never assigned
    ("US", "00012", None, "country", "US"),
    ("US", "09012", "NY", "region", ("US", "NY")),  # 090: APO/FPO, no place on the map
    ("US", "K1A 0B1", "WA", "region", ("US", "WA")),  # a Canadian code on a US address
    ("US", None, "TX", "region", ("US", "TX")),
    ("US", "", "TX", "region", ("US", "TX")),
    ("US", "!!!", "TX", "region", ("US", "TX")),
    ("US", "   ", None, "country", "US"),
    ("US", "ABCDE", "ZZ", "country", "US"),
    ("CA", "!!!", "ON", "region", ("CA", "ON")),
    ("CA", "123456", "BC", "region", ("CA", "BC")),
    ("GB", "12345", None, "country", "GB"),
    ("AU", None, "NSW", "region", ("AU", "NSW")),
    ("FR", "44000", None, "postal", "FR"),  # checked below: a listed departement
    ("FR", "48000", None, "country", "FR"),  # Lozere: not in the table
    ("JP", "100-0001", None, "country", "JP"),  # no postal table for Japan
    ("BE", None, "BRU", "country", "BE"),  # no region table for Belgium
]


@pytest.mark.parametrize(("country", "postal", "province", "precision", "expected"), FALLBACKS)
def test_fallback_chain(
    country: str,
    postal: str | None,
    province: str | None,
    precision: str,
    expected: tuple[str, str] | str,
) -> None:
    point = geocode(country, postal, province)
    assert point is not None and point.precision == precision, point
    if precision == "region":
        assert isinstance(expected, tuple)
        assert (point.latitude, point.longitude) == region_centroid(*expected)
    elif precision == "country":
        assert isinstance(expected, str)
        assert (point.latitude, point.longitude) == country_centroid(expected)


@pytest.mark.parametrize(
    "province", ["OR", "or", " Or ", "US-OR", "us-or", "Oregon", "OREGON", " oregon "]
)
def test_province_spellings(province: str) -> None:
    point = geocode("US", None, province)
    assert point is not None and point.source == "US-OR (Oregon)"


@pytest.mark.parametrize("province", ["QC", "qc", "CA-QC", "PQ", "Quebec", "Québec", "QUÉBEC"])
def test_quebec_spellings(province: str) -> None:
    point = geocode("CA", None, province)
    assert point is not None and point.source == "CA-QC (Quebec)"


@pytest.mark.parametrize("country", ["US", "us", " us ", "Us", "United States", "united states"])
def test_country_spellings(country: str) -> None:
    point = geocode(country)
    assert point is not None and point.source == "US (United States)"
    assert point.precision == "country"


@pytest.mark.parametrize("country", ["", "   ", "!!!", "XX", "USA1", "ZZ"])
def test_an_unknown_country_without_coordinates_is_none(country: str) -> None:
    assert geocode(country, "97201", "OR") is None


def test_none_for_the_country_is_tolerated() -> None:
    assert geocode(cast(Any, None), "97201") is None


def test_territories_geocode_as_countries_and_as_us_states() -> None:
    as_country = geocode("PR")
    as_state = geocode("US", None, "PR")
    assert as_country is not None and as_country.precision == "country"
    assert as_state is not None and as_state.precision == "region"
    assert km(as_country, 18.22, -66.59) < 50 and km(as_state, 18.22, -66.59) < 50
    via_zip = geocode("US", "00901")
    assert via_zip is not None and km(via_zip, 18.47, -66.11) < 30


def test_postal_beats_a_contradicting_province() -> None:
    # The postal code is the more specific (and more often machine-checked) field.
    point = geocode("US", "97201", "NY")
    assert point is not None and km(point, 45.52, -122.68) < 50


def test_same_input_same_answer() -> None:
    first = geocode("CA", "M5V 3L9", "ON")
    preload()
    assert geocode("CA", "M5V 3L9", "ON") == first
    assert geocode_module._table() is TABLE  # read once, cached


# --- distances -----------------------------------------------------------------------

#: (a, b, expected km, tolerance km)
PAIRS = [
    ((40.7128, -74.0060), (34.0522, -118.2437), 3940, 50),  # New York - Los Angeles
    ((51.5074, -0.1278), (48.8566, 2.3522), 344, 10),  # London - Paris
    ((-33.8688, 151.2093), (-37.8136, 144.9631), 714, 15),  # Sydney - Melbourne
    ((45.5152, -122.6784), (47.6062, -122.3321), 234, 10),  # Portland - Seattle
    ((35.6762, 139.6503), (37.7749, -122.4194), 8270, 60),  # Tokyo - San Francisco
    ((10.0, 10.0), (10.0, 10.0), 0, 0.001),
]


@pytest.mark.parametrize(("a", "b", "expected", "tolerance"), PAIRS)
def test_haversine_known_pairs(
    a: tuple[float, float], b: tuple[float, float], expected: float, tolerance: float
) -> None:
    assert abs(haversine_km(*a, *b) - expected) <= tolerance
    assert haversine_km(*a, *b) == pytest.approx(haversine_km(*b, *a))


def test_geocoded_zips_keep_their_distance() -> None:
    nyc, la = geocode("US", "10001"), geocode("US", "90012")
    assert nyc is not None and la is not None
    assert abs(haversine_km(nyc.latitude, nyc.longitude, la.latitude, la.longitude) - 3940) < 60


# --- domain.geo keeps its names ------------------------------------------------------


def test_locate_keeps_its_three_argument_form() -> None:
    assert locate(45.5, -122.6, "US") == (45.5, -122.6)
    assert locate(None, None, "us") == country_centroid("US")
    assert locate(None, None, "XX") is None


def test_locate_uses_the_postal_code_and_province_when_given() -> None:
    portland = locate(None, None, "US", postal_code="97201")
    assert portland is not None and haversine_km(*portland, 45.52, -122.68) < 50
    assert locate(None, None, "US", province_code="OR") == region_centroid("US", "OR")


#: The values COUNTRY_CENTROIDS had before the table: callers' results must not move.
PREVIOUS = {
    "US": (39.8, -98.6),
    "CA": (56.1, -106.3),
    "MX": (23.6, -102.6),
    "GB": (54.0, -2.0),
    "IE": (53.4, -8.2),
    "DE": (51.2, 10.4),
    "FR": (46.2, 2.2),
    "NL": (52.1, 5.3),
    "ES": (40.5, -3.7),
    "IT": (41.9, 12.6),
    "SE": (60.1, 18.6),
    "AU": (-25.3, 133.8),
    "JP": (36.2, 138.3),
}


def test_country_centroids_are_derived_from_the_table_and_did_not_move() -> None:
    assert dict(COUNTRY_CENTROIDS) == dict(country_centroids())
    for code, (lat, lon) in PREVIOUS.items():
        assert haversine_km(*COUNTRY_CENTROIDS[code], lat, lon) < 15, code
    assert COUNTRY_CENTROIDS.get("XX") is None


EU = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE"
OTHERS = (
    "GB NO CH IS UA TR RU US CA MX BR AR CL CO PE AU NZ JP KR CN HK TW SG MY TH VN PH ID IN "
    "IL AE SA QA ZA NG EG KE"
)


def test_country_coverage() -> None:
    codes = set(country_centroids())
    assert len(codes) >= 80
    assert set(EU.split()) <= codes
    assert set(OTHERS.split()) <= codes


# --- the table itself ----------------------------------------------------------------

_STATES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR"
)
_PROVINCES = "AB BC MB NB NL NS NT NU ON PE QC SK YT"
_AU_STATES = "NSW VIC QLD SA WA TAS NT ACT"
US_STATES, CA_PROVINCES, AU_STATES = _STATES.split(), _PROVINCES.split(), _AU_STATES.split()


def _prefixes(*spans: str) -> set[str]:
    out: set[str] = set()
    for span in spans:
        first, _, last = span.partition("-")
        out |= {f"{n:03d}" for n in range(int(first), int(last or first) + 1)}
    return out


#: 3-digit ZIP prefixes with no place to put on a map: never assigned by USPS, or military
#: (APO/FPO/DPO: 090-098 AE, 340 AA, 962-966 AP).
US_WITHOUT_A_PLACE = _prefixes(
    "000-004", "090-099", "213", "269", "340", "343", "345", "348", "353", "428-429",
    "517-519", "529", "533", "536", "552", "568", "578-579", "589", "621", "632", "642-643",
    "659", "663", "682", "694-699", "702", "709", "715", "732", "742", "817-819", "839",
    "848-849", "854", "858", "861-862", "866-869", "872", "886-888", "892", "896", "899",
    "909", "962-966", "987",
)  # fmt: skip


def test_coordinates_are_on_the_globe() -> None:
    places = [*TABLE.countries.values(), *TABLE.regions.values()]
    places += [p for prefixes in TABLE.postal.values() for p in prefixes.values()]
    assert len(places) > 1300
    for place in places:
        assert -90 <= place.latitude <= 90 and -180 <= place.longitude <= 180, place
        assert math.isfinite(place.latitude) and math.isfinite(place.longitude)


def test_region_coverage() -> None:
    assert {code for c, code in TABLE.regions if c == "US"} >= set(US_STATES)
    assert {code for c, code in TABLE.regions if c == "CA"} == set(CA_PROVINCES)
    assert {code for c, code in TABLE.regions if c == "AU"} == set(AU_STATES)


def test_every_assigned_us_zip_prefix_maps_to_a_state() -> None:
    us = TABLE.postal["US"]
    for n in range(1000):
        prefix = f"{n:03d}"
        if prefix in US_WITHOUT_A_PLACE:
            assert prefix not in us, prefix
        else:
            assert prefix in us, prefix
            assert ("US", us[prefix].region) in TABLE.regions, prefix
    states_with_zips = {p.region for p in us.values()}
    assert set(US_STATES) <= states_with_zips


def test_canadian_forward_sortation_letters_map_to_their_province() -> None:
    letters = {
        "A": "NL", "B": "NS", "C": "PE", "E": "NB", "G": "QC", "H": "QC", "J": "QC",
        "K": "ON", "L": "ON", "M": "ON", "N": "ON", "P": "ON", "R": "MB", "S": "SK",
        "T": "AB", "V": "BC", "X": "NT", "Y": "YT",
    }  # fmt: skip
    ca = TABLE.postal["CA"]
    assert {key for key in ca if len(key) == 1} == set(letters)
    for key, place in ca.items():
        expected = "NU" if key.startswith("X0") and key != "X0E" else letters[key[0]]
        assert place.region == expected, key


def test_each_postal_point_lies_near_its_region_centroid() -> None:
    """Catches typos: a point in the wrong hemisphere, or swapped latitude and longitude."""
    for system, prefixes in TABLE.postal.items():
        for key, place in prefixes.items():
            if not place.region:
                continue
            limit = 1000 if system == "US" and place.region != "AK" else 2000
            lat, lon = region_centroid(system, place.region)
            distance = haversine_km(place.latitude, place.longitude, lat, lon)
            assert distance < limit, (system, key, place, round(distance))


def test_each_postal_point_lies_in_its_country() -> None:
    """Overseas prefixes (Reunion, the Canaries, Guam) are the known exceptions."""
    far_but_right = {("FR", "97"), ("ES", "35"), ("ES", "38"), ("PT", "9"), ("US", "96")}
    far_but_right |= {("US", "99"), ("US", "00"), ("GB", "JE"), ("GB", "GY")}
    limits = {"CA": 4000, "US": 3500, "AU": 3000}  # km from the centroid; else 1500
    for system, prefixes in TABLE.postal.items():
        lat, lon = country_centroid(system)
        for key, place in prefixes.items():
            if any(system == s and key.startswith(k) for s, k in far_but_right):
                continue
            distance = haversine_km(place.latitude, place.longitude, lat, lon)
            assert distance < limits.get(system, 1500), (system, key, place, round(distance))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("country,US,,39.8,-98.6,,A\ncountry,US,,39.8,-98.6,,B", "duplicate country"),
        ("country,US,,91,-98.6,,A", "out of range"),
        ("country,US,,north,-98.6,,A", "bad coordinates"),
        ("country,US,,1,1,,A\nregion,US,OR,1,1,,O\npostal,US,970-96,,,OR,", "bad postal range"),
        ("country,US,,1,1,,A\nregion,US,OR,1,1,,O\npostal,US,970,,,,", "without region"),
        ("country,US,,1,1,,A\npostal,US,970,,,OR,", "unknown region"),
        (
            "country,US,,1,1,,A\nregion,US,OR,1,1,,O\nregion,US,WA,1,1,,W\n"
            "postal,US,970,,,OR,\npostal,US,970,2,2,WA,X",
            "not OR",
        ),
        ("country,US,,1,1,,A\nplace,US,X,1,1,,A", "unknown kind"),
        ("region,US,OR,1,1,,O", "no country row"),
    ],
)
def test_the_parser_rejects_inconsistent_rows(text: str, message: str) -> None:
    header = "kind,country,code,latitude,longitude,region,name\n"
    with pytest.raises(ValueError, match=message):
        geocode_module._parse(header + text)
