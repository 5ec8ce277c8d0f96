"""The routing bench's world: warehouses in real cities (US and EU), SKUs stocked at some of
them, and orders to route, all drawn from one seed so every run routes the same orders."""

from __future__ import annotations

import random
from dataclasses import dataclass

from domain.routing import RoutingOutcome, Site

# (city, country, latitude, longitude, time zone)
US_CITIES = [
    ("New York", "US", 40.71, -74.01, "America/New_York"),
    ("Newark", "US", 40.74, -74.17, "America/New_York"),
    ("Philadelphia", "US", 39.95, -75.17, "America/New_York"),
    ("Boston", "US", 42.36, -71.06, "America/New_York"),
    ("Baltimore", "US", 39.29, -76.61, "America/New_York"),
    ("Atlanta", "US", 33.75, -84.39, "America/New_York"),
    ("Charlotte", "US", 35.23, -80.84, "America/New_York"),
    ("Miami", "US", 25.76, -80.19, "America/New_York"),
    ("Orlando", "US", 28.54, -81.38, "America/New_York"),
    ("Columbus", "US", 39.96, -83.00, "America/New_York"),
    ("Detroit", "US", 42.33, -83.05, "America/Detroit"),
    ("Indianapolis", "US", 39.77, -86.16, "America/Indiana/Indianapolis"),
    ("Chicago", "US", 41.88, -87.63, "America/Chicago"),
    ("Memphis", "US", 35.15, -90.05, "America/Chicago"),
    ("Nashville", "US", 36.16, -86.78, "America/Chicago"),
    ("Dallas", "US", 32.78, -96.80, "America/Chicago"),
    ("Houston", "US", 29.76, -95.37, "America/Chicago"),
    ("Kansas City", "US", 39.10, -94.58, "America/Chicago"),
    ("Minneapolis", "US", 44.98, -93.27, "America/Chicago"),
    ("St. Louis", "US", 38.63, -90.20, "America/Chicago"),
    ("Denver", "US", 39.74, -104.99, "America/Denver"),
    ("Salt Lake City", "US", 40.76, -111.89, "America/Denver"),
    ("Phoenix", "US", 33.45, -112.07, "America/Phoenix"),
    ("Las Vegas", "US", 36.17, -115.14, "America/Los_Angeles"),
    ("Los Angeles", "US", 34.05, -118.24, "America/Los_Angeles"),
    ("Ontario", "US", 34.06, -117.65, "America/Los_Angeles"),
    ("Oakland", "US", 37.80, -122.27, "America/Los_Angeles"),
    ("Sacramento", "US", 38.58, -121.49, "America/Los_Angeles"),
    ("Portland", "US", 45.52, -122.68, "America/Los_Angeles"),
    ("Seattle", "US", 47.61, -122.33, "America/Los_Angeles"),
]
EU_CITIES = [
    ("London", "GB", 51.51, -0.13, "Europe/London"),
    ("Birmingham", "GB", 52.49, -1.89, "Europe/London"),
    ("Manchester", "GB", 53.48, -2.24, "Europe/London"),
    ("Dublin", "IE", 53.35, -6.26, "Europe/Dublin"),
    ("Paris", "FR", 48.86, 2.35, "Europe/Paris"),
    ("Lyon", "FR", 45.76, 4.84, "Europe/Paris"),
    ("Lille", "FR", 50.63, 3.06, "Europe/Paris"),
    ("Madrid", "ES", 40.42, -3.70, "Europe/Madrid"),
    ("Barcelona", "ES", 41.39, 2.17, "Europe/Madrid"),
    ("Milan", "IT", 45.46, 9.19, "Europe/Rome"),
    ("Rome", "IT", 41.90, 12.50, "Europe/Rome"),
    ("Berlin", "DE", 52.52, 13.40, "Europe/Berlin"),
    ("Hamburg", "DE", 53.55, 9.99, "Europe/Berlin"),
    ("Frankfurt", "DE", 50.11, 8.68, "Europe/Berlin"),
    ("Munich", "DE", 48.14, 11.58, "Europe/Berlin"),
    ("Leipzig", "DE", 51.34, 12.37, "Europe/Berlin"),
    ("Amsterdam", "NL", 52.37, 4.90, "Europe/Amsterdam"),
    ("Rotterdam", "NL", 51.92, 4.48, "Europe/Amsterdam"),
    ("Stockholm", "SE", 59.33, 18.07, "Europe/Stockholm"),
    ("Warsaw", "PL", 52.23, 21.01, "Europe/Warsaw"),
]


@dataclass(frozen=True)
class BenchWarehouse:
    code: str
    name: str
    country_code: str
    latitude: float
    longitude: float
    timezone: str
    priority: int
    daily_capacity: int | None
    carrier_cutoff: str | None


@dataclass(frozen=True)
class BenchOrder:
    needed: dict[str, int]
    latitude: float
    longitude: float
    country_code: str
    city: str


@dataclass
class World:
    warehouses: list[BenchWarehouse]
    skus: list[str]
    stock: dict[tuple[str, str], int]  # (warehouse, sku) -> on_hand
    orders: list[BenchOrder]

    def sites(self) -> list[Site]:
        available: dict[str, dict[str, int]] = {}
        for (wh, sku), qty in self.stock.items():
            available.setdefault(wh, {})[sku] = qty
        return [Site.of(w, available.get(w.code, {})) for w in self.warehouses]


def build_world(warehouses: int, skus: int, orders: int, seed: int) -> World:
    rng = random.Random(seed)
    us_share = len(US_CITIES) / (len(US_CITIES) + len(EU_CITIES))
    n_us = round(warehouses * us_share)
    places = [US_CITIES[i % len(US_CITIES)] for i in range(n_us)] + [
        EU_CITIES[i % len(EU_CITIES)] for i in range(warehouses - n_us)
    ]
    whs = []
    for i, (city, country, lat, lon, tz) in enumerate(places):
        whs.append(
            BenchWarehouse(
                code=f"RW{i:02d}",
                name=f"{city} {i}",
                country_code=country,
                latitude=round(lat + rng.uniform(-0.3, 0.3), 4),
                longitude=round(lon + rng.uniform(-0.3, 0.3), 4),
                timezone=tz,
                priority=rng.choice((10, 20, 30, 40, 50)),
                # Capacity and cut-off rules get something to look at, never binding here.
                daily_capacity=100_000 if i % 2 == 0 else None,
                carrier_cutoff=rng.choice(("15:00", "17:00", None)),
            )
        )
    sku_codes = [f"RT-{k:02d}" for k in range(skus)]
    stock: dict[tuple[str, str], int] = {}
    for w in whs:
        for sku in sku_codes:
            if rng.random() < 0.3:
                stock[(w.code, sku)] = rng.randint(1, 12)
    bench_orders = []
    for _ in range(orders):
        city, country, lat, lon, _tz = rng.choice(US_CITIES if rng.random() < 0.7 else EU_CITIES)
        n_lines = rng.choices((1, 2, 3, 4), weights=(40, 30, 20, 10))[0]
        lines = rng.sample(sku_codes, n_lines)
        bench_orders.append(
            BenchOrder(
                needed={sku: rng.randint(1, 3) for sku in sorted(lines)},
                latitude=round(lat + rng.uniform(-1.5, 1.5), 4),
                longitude=round(lon + rng.uniform(-1.5, 1.5), 4),
                country_code=country,
                city=city,
            )
        )
    return World(whs, sku_codes, stock, bench_orders)


def shape(outcome: RoutingOutcome) -> str:
    if not outcome.routed:
        return "short (backorder)"
    n = len(outcome.shipments)
    return "1 warehouse" if n == 1 else f"split into {n}"
