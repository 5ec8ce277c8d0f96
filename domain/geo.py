"""Distances on the globe, for choosing the closest warehouse."""

from math import asin, cos, radians, sin, sqrt

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two points given in degrees."""
    p1, p2 = radians(lat1), radians(lat2)
    dp, dl = p2 - p1, radians(lon2 - lon1)
    a = sin(dp / 2) ** 2 + cos(p1) * cos(p2) * sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(sqrt(a))


#: Rough centroids for countries without coordinates in the payload. The full postal-code
#: geocoder comes with the routing engine; this keeps "nearest" meaningful until then.
COUNTRY_CENTROIDS: dict[str, tuple[float, float]] = {
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


def locate(
    latitude: float | None, longitude: float | None, country_code: str
) -> tuple[float, float] | None:
    """Coordinates of an address: its own when present, else its country's centroid."""
    if latitude is not None and longitude is not None:
        return (latitude, longitude)
    return COUNTRY_CENTROIDS.get(country_code.upper())
