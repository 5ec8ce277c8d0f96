"""Distances on the globe, for choosing the closest warehouse."""

from collections.abc import Iterator, Mapping
from math import asin, cos, radians, sin, sqrt

from domain.geocode import country_centroids, geocode

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two points given in degrees."""
    p1, p2 = radians(lat1), radians(lat2)
    dp, dl = p2 - p1, radians(lon2 - lon1)
    a = sin(dp / 2) ** 2 + cos(p1) * cos(p2) * sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(sqrt(a))


class _CountryCentroids(Mapping[str, tuple[float, float]]):
    """The geocoding table's country centroids, read on first use rather than at import."""

    def __getitem__(self, code: str) -> tuple[float, float]:
        return country_centroids()[code]

    def __iter__(self) -> Iterator[str]:
        return iter(country_centroids())

    def __len__(self) -> int:
        return len(country_centroids())


#: Country centroids (ISO 3166-1 alpha-2 -> (latitude, longitude)), from the bundled
#: geocoding table; ``domain.geocode`` has the postal-code and region levels too.
COUNTRY_CENTROIDS: Mapping[str, tuple[float, float]] = _CountryCentroids()


def locate(
    latitude: float | None,
    longitude: float | None,
    country_code: str,
    postal_code: str | None = None,
    province_code: str | None = None,
) -> tuple[float, float] | None:
    """Coordinates of an address: its own when present, else the best of postal code,
    province and country centroid (see ``domain.geocode.geocode``)."""
    point = geocode(country_code, postal_code, province_code, latitude, longitude)
    return None if point is None else (point.latitude, point.longitude)
