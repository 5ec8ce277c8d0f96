"""Approximate coordinates for a shipping address, for choosing the closest warehouse.

``geocode`` answers from the most precise thing the address carries, in this order:

1. ``exact``: the payload's own latitude and longitude;
2. ``postal``: a postal-code prefix in the bundled table (a US 3-digit ZIP prefix, a
   Canadian forward sortation area, a UK postcode area, ...), as a metro or city point, or,
   for a prefix the table knows only by its state or province, that region's centroid;
3. ``region``: the state or province centroid;
4. ``country``: the country centroid.

The table (``domain/data/geocode.csv``) ships with the package and is read once, lazily,
on first use, then cached for the life of the process: no network, no other I/O, and the
same answer for the same input every time, so workflows may call this. Points are good to
tens of kilometres: enough to rank warehouses, never to deliver a parcel.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Literal

Precision = Literal["exact", "postal", "region", "country"]

#: Countries whose addresses use another country's postal system, and so its prefixes.
_POSTAL_SYSTEM: Mapping[str, str] = MappingProxyType(
    {"PR": "US", "VI": "US", "GU": "US", "MP": "US", "AS": "US", "IM": "GB", "JE": "GB", "GG": "GB"}
)
#: Country codes seen in payloads that are not ISO 3166-1 alpha-2.
_COUNTRY_ALIASES: Mapping[str, str] = MappingProxyType({"UK": "GB", "EL": "GR"})
#: Retired or informal province codes still typed by customers.
_REGION_ALIASES: Mapping[tuple[str, str], str] = MappingProxyType(
    {("CA", "PQ"): "QC", ("CA", "NF"): "NL", ("CA", "YK"): "YT"}
)

_US_ZIP = re.compile(r"(\d{5})(?:\d{4})?")
_CA_POSTAL = re.compile(r"[A-Z]\d[A-Z](?:\d[A-Z]\d)?")
_GB_POSTCODE = re.compile(r"([A-Z]{1,2})\d[A-Z\d]?(?:\d[A-Z]{2})?")
_SEPARATORS = re.compile(r"[\s\-.]+")


@dataclass(frozen=True)
class GeoPoint:
    """Where an address is, how precisely, and which row of the table (or input) said so.

    ``source`` is for people (routing reasons, logs): ``"coordinates"``,
    ``"US postal 972 (Portland)"``, ``"US-OR (Oregon)"``, ``"US (United States)"``.
    """

    latitude: float
    longitude: float
    precision: Precision
    source: str


@dataclass(frozen=True)
class _Place:
    latitude: float
    longitude: float
    name: str
    region: str  # the region code a postal prefix belongs to; "" when unknown or n/a


@dataclass(frozen=True)
class _Table:
    countries: Mapping[str, _Place]
    regions: Mapping[tuple[str, str], _Place]
    region_names: Mapping[tuple[str, str], str]  # (country, folded name) -> region code
    country_names: Mapping[str, str]  # folded name -> country code
    postal: Mapping[str, Mapping[str, _Place]]  # postal system -> prefix -> place
    postal_lengths: Mapping[str, tuple[int, ...]]  # postal system -> prefix lengths, longest first


def geocode(
    country_code: str,
    postal_code: str | None = None,
    province_code: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> GeoPoint | None:
    """The best point for an address, or ``None`` when not even its country is known.

    Coordinates count only when both are finite, within range and not exactly (0, 0), the
    "null island" some channels send for "unknown". ``country_code`` is ISO 3166-1 alpha-2
    in any case (``UK`` is accepted, as are English country names); ``province_code`` is a
    Shopify-style code (``OR``, ``ON``, ``NSW``), ``US-OR``, or the region's name.
    """
    exact = _coordinates(latitude, longitude)
    if exact is not None:
        return GeoPoint(exact[0], exact[1], "exact", "coordinates")
    table = _table()
    country = _country(table, country_code)
    if country is None:
        return None
    system = _POSTAL_SYSTEM.get(country, country)
    found = _postal(table, system, postal_code)
    if found is not None:
        key, place = found
        label = place.name or place.region
        return GeoPoint(
            place.latitude, place.longitude, "postal", f"{system} postal {key} ({label})"
        )
    region = _region(table, country, province_code)
    if region is not None:
        code, place = region
        return GeoPoint(place.latitude, place.longitude, "region", f"{code} ({place.name})")
    place = table.countries[country]
    return GeoPoint(place.latitude, place.longitude, "country", f"{country} ({place.name})")


def country_centroids() -> Mapping[str, tuple[float, float]]:
    """Every country in the table with its centroid, keyed by ISO 3166-1 alpha-2 code."""
    return _country_centroids()


def preload() -> None:
    """Read the table now (e.g. at worker start) rather than on the first ``geocode``."""
    _table()


# --- lookups -------------------------------------------------------------------------


def _coordinates(latitude: float | None, longitude: float | None) -> tuple[float, float] | None:
    if latitude is None or longitude is None:
        return None
    try:
        lat, lon = float(latitude), float(longitude)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or (lat, lon) == (0.0, 0.0):
        return None
    return lat, lon


def _country(table: _Table, country_code: str | None) -> str | None:
    if not country_code:
        return None
    code = country_code.strip().upper()
    code = _COUNTRY_ALIASES.get(code, code)
    if code in table.countries:
        return code
    return table.country_names.get(_fold(country_code))


def _region(table: _Table, country: str, province_code: str | None) -> tuple[str, _Place] | None:
    if not province_code or not province_code.strip():
        return None
    raw = province_code.strip()
    code = raw.upper()
    if code.startswith(f"{country}-"):  # ISO 3166-2, "US-OR"
        code = code[len(country) + 1 :]
    code = _REGION_ALIASES.get((country, code), code)
    if (country, code) not in table.regions:
        code = table.region_names.get((country, _fold(raw)), "")
    place = table.regions.get((country, code))
    return None if place is None else (f"{country}-{code}", place)


def _postal(table: _Table, system: str, postal_code: str | None) -> tuple[str, _Place] | None:
    prefixes = table.postal.get(system)
    if not prefixes or not postal_code:
        return None
    for key in _candidate_keys(system, postal_code, table.postal_lengths[system]):
        place = prefixes.get(key)
        if place is not None:
            return key, place
    return None


def _candidate_keys(system: str, postal_code: str, lengths: tuple[int, ...]) -> Iterator[str]:
    """Keys to try for a postal code, most specific first; none for a malformed code."""
    compact = _SEPARATORS.sub("", postal_code.upper())
    if system == "US":
        if len(compact) == 4 and compact.isdigit():  # a ZIP that lost its leading zero
            compact = "0" + compact
        match = _US_ZIP.fullmatch(compact)
        if match is None:
            return
        compact = match.group(1)
    elif system == "CA":
        if _CA_POSTAL.fullmatch(compact) is None:
            return
    elif system == "GB":  # areas are whole: "B" must not catch Bradford's "BD"
        match = _GB_POSTCODE.fullmatch(compact)
        if match is not None:
            yield match.group(1)
        return
    elif not compact.isalnum() or not compact.isascii():
        return
    for length in lengths:
        if length <= len(compact):
            yield compact[:length]


def _fold(text: str) -> str:
    """Case-, accent- and spacing-insensitive form of a name: "Québec" -> "quebec"."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


# --- the table -----------------------------------------------------------------------


@cache
def _country_centroids() -> Mapping[str, tuple[float, float]]:
    return MappingProxyType(
        {code: (p.latitude, p.longitude) for code, p in _table().countries.items()}
    )


@cache
def _table() -> _Table:
    text = resources.files("domain").joinpath("data", "geocode.csv").read_text(encoding="utf-8")
    return _parse(text)


def _parse(text: str) -> _Table:
    """Build the lookup table from the CSV text; any inconsistency is a ValueError."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    countries: dict[str, _Place] = {}
    regions: dict[tuple[str, str], _Place] = {}
    base: dict[str, dict[str, str]] = {}  # coordinate-less postal rows: system -> key -> region
    points: dict[str, dict[str, _Place]] = {}  # postal rows with coordinates
    for number, row in enumerate(csv.DictReader(lines), start=2):
        where = f"geocode.csv data row {number}: {row}"
        kind, country = row["kind"], row["country"]
        code, region, name = row["code"], row["region"], row["name"]
        if len(country) != 2 or not country.isupper():
            raise ValueError(f"bad country code in {where}")
        point = _point(row["latitude"], row["longitude"], where)
        if kind == "country":
            if point is None or code or country in countries:
                raise ValueError(f"bad or duplicate country row in {where}")
            countries[country] = _Place(*point, name, "")
        elif kind == "region":
            if point is None or not code or (country, code) in regions:
                raise ValueError(f"bad or duplicate region row in {where}")
            regions[(country, code)] = _Place(*point, name, "")
        elif kind == "postal":
            for key in _expand(code, where):
                if point is None:
                    if not region or key in base.setdefault(country, {}):
                        raise ValueError(f"postal row without region, or duplicate, in {where}")
                    base[country][key] = region
                else:
                    if key in points.setdefault(country, {}):
                        raise ValueError(f"duplicate postal prefix {key} in {where}")
                    points[country][key] = _Place(*point, name, region)
        else:
            raise ValueError(f"unknown kind in {where}")

    postal: dict[str, dict[str, _Place]] = {}
    for system in sorted(base.keys() | points.keys()):
        merged: dict[str, _Place] = {}
        for key, region in base.get(system, {}).items():
            centroid = regions.get((system, region))
            if centroid is None:
                raise ValueError(f"{system} postal {key}: unknown region {region}")
            merged[key] = _Place(centroid.latitude, centroid.longitude, centroid.name, region)
        for key, place in points.get(system, {}).items():  # a point overrides its state
            under = base.get(system, {}).get(key, "")
            if under and place.region not in ("", under):
                raise ValueError(f"{system} postal {key}: region {place.region}, not {under}")
            region = place.region or under
            if region and (system, region) not in regions:
                raise ValueError(f"{system} postal {key}: unknown region {region}")
            merged[key] = _Place(place.latitude, place.longitude, place.name, region)
        postal[system] = merged
    for system in postal:
        if system not in countries:
            raise ValueError(f"postal rows for {system}, which has no country row")
    for country, _ in regions:
        if country not in countries:
            raise ValueError(f"region rows for {country}, which has no country row")

    return _Table(
        countries=MappingProxyType(countries),
        regions=MappingProxyType(regions),
        region_names=MappingProxyType(
            {(country, _fold(p.name)): code for (country, code), p in regions.items()}
        ),
        country_names=MappingProxyType({_fold(p.name): code for code, p in countries.items()}),
        postal=MappingProxyType({s: MappingProxyType(m) for s, m in postal.items()}),
        postal_lengths=MappingProxyType(
            {s: tuple(sorted({len(k) for k in m}, reverse=True)) for s, m in postal.items()}
        ),
    )


def _point(latitude: str, longitude: str, where: str) -> tuple[float, float] | None:
    if not latitude and not longitude:
        return None
    try:
        lat, lon = float(latitude), float(longitude)
    except ValueError:
        raise ValueError(f"bad coordinates in {where}") from None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise ValueError(f"coordinates out of range in {where}")
    return lat, lon


def _expand(code: str, where: str) -> list[str]:
    """``"970-979"`` -> ``["970", ..., "979"]``; any other code stands for itself."""
    if not code or code != code.strip().upper():
        raise ValueError(f"bad postal prefix in {where}")
    first, dash, last = code.partition("-")
    if not dash:
        return [code]
    if not (first.isdigit() and last.isdigit() and len(first) == len(last) and first <= last):
        raise ValueError(f"bad postal range in {where}")
    return [f"{n:0{len(first)}d}" for n in range(int(first), int(last) + 1)]
