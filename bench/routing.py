"""``python -m bench.routing [--orders N] [--allocations M] [--warehouses 50] [--skus 20]``.

Routing decision time for an order over 50 warehouses, beside the allocation activity's
total time for the same orders.

A seeded world: W warehouses at US and EU cities (jittered, local time zones, some with a
daily capacity and a carrier cut-off) and S SKUs, each stocked at a random ~30 % of the
warehouses, so orders of 3-4 lines often need a split and a few cannot be routed at all.

1. routing: ``domain.routing.route`` (default rules, STANDARD shipping) over those W sites,
   timed call by call for N orders (after a warm-up);
2. allocation: the same warehouses, products, stock and the default rules (stored as
   version 1 in ``rule_sets``) in a scratch database; ``StockActivities.allocate_stock``
   awaited through ``temporalio.testing.ActivityEnvironment`` for the first M orders, one
   at a time, each call timed; the order's reservations are released after each call (not
   timed), so every order sees the stock the routing phase saw. Inside those calls the
   ``route`` call of ``store.allocation`` is timed too, and SQL statements are counted.

Target: routing p50 under 5 % of allocation p50.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import percentile
from bench.scratch import (
    code_version,
    command_line,
    machine_line,
    md_table,
    redact,
    scratch_database,
    server_info,
    server_url,
    text_table,
)
from bench.stack import log, show_and_record
from domain.models import Address, AllocationRequest, AllocationResult, OrderLine, ReleaseRequest
from domain.routing import DEFAULT_RULES, RoutingOutcome, Site, route
from domain.status import ShippingMethod

#: routing p50 / allocation p50 must stay under this.
SHARE_TARGET = 0.05
WARMUP = 50

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


# --- the world -----------------------------------------------------------------------------


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
        return [
            Site(
                code=w.code,
                country_code=w.country_code,
                latitude=w.latitude,
                longitude=w.longitude,
                priority=w.priority,
                available=available.get(w.code, {}),
                daily_capacity=w.daily_capacity,
                shipments_today=0,
                timezone=w.timezone,
                carrier_cutoff=w.carrier_cutoff,
            )
            for w in self.warehouses
        ]


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


# --- 1. the routing decision ---------------------------------------------------------------


@dataclass
class Timings:
    seconds: list[float] = field(default_factory=list)
    #: the shape of each timed order, index for index with ``seconds``
    shape_of: list[str] = field(default_factory=list)
    shapes: Counter[str] = field(default_factory=Counter)
    decisions: list[tuple[str, ...]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def p(self, q: float, shape: str | None = None) -> float:
        if shape is None:
            return percentile(self.seconds, q)
        return percentile(
            [t for t, s in zip(self.seconds, self.shape_of, strict=True) if s == shape], q
        )

    @property
    def mean(self) -> float:
        return sum(self.seconds) / len(self.seconds) if self.seconds else math.nan


def time_routing(world: World) -> Timings:
    sites = world.sites()
    out = Timings()

    def decide(o: BenchOrder) -> RoutingOutcome:
        return route(
            needed=o.needed,
            destination=(o.latitude, o.longitude),
            country_code=o.country_code,
            shipping_method=ShippingMethod.STANDARD,
            sites=sites,
            rules=DEFAULT_RULES,
            now=datetime.now(UTC),
        )

    for o in world.orders[:WARMUP]:
        decide(o)
    for o in world.orders:
        t = time.perf_counter()
        outcome = decide(o)
        out.seconds.append(time.perf_counter() - t)
        out.shape_of.append(shape(outcome))
        out.shapes[shape(outcome)] += 1
        out.decisions.append(tuple(sorted(s.warehouse for s in outcome.shipments)))
    return out


# --- 2. the allocation activity ------------------------------------------------------------


async def seed(url: str, world: World) -> None:
    from store import inventory, rules
    from store.db import create_engine, sessionmaker
    from store.tables import Product, Warehouse

    engine = create_engine(url, pool_size=1)
    try:
        async with sessionmaker(engine).begin() as session:
            for w in world.warehouses:
                session.add(
                    Warehouse(
                        code=w.code,
                        name=w.name,
                        country_code=w.country_code,
                        latitude=w.latitude,
                        longitude=w.longitude,
                        priority=w.priority,
                        daily_capacity=w.daily_capacity,
                        active=True,
                        timezone=w.timezone,
                        carrier_cutoff=w.carrier_cutoff,
                    )
                )
            for sku in world.skus:
                session.add(Product(sku=sku, name=sku, weight_grams=250, tags=[]))
            await session.flush()
            for (wh, sku), qty in sorted(world.stock.items()):
                await inventory.adjust(
                    session, sku=sku, warehouse=wh, delta=qty, reason="bench routing stock"
                )
            await rules.save(
                session,
                "routing",
                [r.model_dump(mode="json") for r in DEFAULT_RULES.rules],
                actor="bench",
            )
    finally:
        await engine.dispose()


class _RouteTimer:
    """Wraps ``store.allocation.route`` to time the calls the activity makes."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.inner: Callable[..., RoutingOutcome] = route

    def __call__(self, **kwargs: Any) -> RoutingOutcome:
        t = time.perf_counter()
        try:
            return self.inner(**kwargs)
        finally:
            self.seconds.append(time.perf_counter() - t)


@dataclass
class AllocationTimings(Timings):
    route_in_activity: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    same_as_routing: int = 0


def _allocated(result: AllocationResult) -> tuple[str, ...]:
    if result.backordered:
        return ()
    return tuple(sorted(s.warehouse for s in result.allocated()))


async def time_allocation(url: str, world: World, count: int, routed: Timings) -> AllocationTimings:
    from sqlalchemy import event
    from temporalio.testing import ActivityEnvironment

    import store.allocation
    from activities.stock import StockActivities
    from store.db import create_engine, sessionmaker

    engine = create_engine(url, pool_size=2)
    statements = 0

    def count_statement(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count_statement)
    timer = _RouteTimer()
    original = store.allocation.route
    store.allocation.route = timer  # type: ignore[assignment]
    acts = StockActivities(sessionmaker(engine))
    env = ActivityEnvironment()
    out = AllocationTimings()
    run_id = f"{int(time.time())}"
    orders = world.orders[:count]
    try:
        for i, o in enumerate([*orders[:WARMUP], *orders]):
            warm = i < min(WARMUP, len(orders))
            oid = f"rt-{run_id}-{i}"
            req = AllocationRequest(
                order_id=oid,
                shipment_id=f"{oid}-1",
                lines=[OrderLine(sku=s, quantity=q) for s, q in o.needed.items()],
                address=Address(
                    city=o.city,
                    country_code=o.country_code,
                    latitude=o.latitude,
                    longitude=o.longitude,
                ),
                shipping_method=ShippingMethod.STANDARD,
                priority=0,
            )
            timer.seconds.clear()
            statements = 0
            t = time.perf_counter()
            result = await env.run(acts.allocate_stock, req)
            elapsed = time.perf_counter() - t
            n_statements = statements
            await acts.release_stock(ReleaseRequest(order_id=oid, reason="bench"))
            if warm:
                continue
            k = i - min(WARMUP, len(orders))
            out.seconds.append(elapsed)
            out.route_in_activity += timer.seconds
            out.statements.append(n_statements)
            n = len(result.allocated())
            kind = (
                "short (backorder)"
                if result.backordered
                else "1 warehouse"
                if n == 1
                else f"split into {n}"
            )
            out.shapes[kind] += 1
            out.shape_of.append(kind)
            got = _allocated(result)
            out.decisions.append(got)
            if got == routed.decisions[k]:
                out.same_as_routing += 1
        left = await _reserved_left(acts)
        if left:
            out.failures.append(f"{left} units still reserved after releasing every order")
    finally:
        store.allocation.route = original
        await engine.dispose()
    return out


async def _reserved_left(acts: Any) -> int:
    from sqlalchemy import func, select

    from store.tables import InventoryLevel

    async with acts.sessions() as session:
        return int(
            await session.scalar(select(func.coalesce(func.sum(InventoryLevel.reserved), 0)))
        )


# --- report --------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.2f}"


@dataclass
class RoutingReport:
    command: str
    started_at: str
    machine: str
    settings: dict[str, str]
    routing: Timings
    allocation: AllocationTimings

    # show_and_record looks at .real/.bare failures
    @property
    def real(self) -> Timings:
        return self.allocation

    @property
    def bare(self) -> Timings:
        return self.routing

    @property
    def share(self) -> float:
        a = self.allocation.p(50)
        return self.routing.p(50) / a if a else math.nan

    def rows(self) -> list[tuple[str, str, str, str]]:
        r, a = self.routing, self.allocation
        met = "met" if self.share < SHARE_TARGET else "MISSED"
        inside = percentile(a.route_in_activity, 50)
        inside_share = inside / a.p(50) if a.p(50) else math.nan
        shapes = sorted(set(r.shapes) | set(a.shapes))
        return [
            (
                "p50 (ms)",
                _ms(r.p(50)),
                _ms(a.p(50)),
                f"routing p50 = {self.share * 100:.1f} % of allocation p50 "
                f"(target < {SHARE_TARGET * 100:.0f} %: {met})",
            ),
            ("p90 (ms)", _ms(r.p(90)), _ms(a.p(90)), ""),
            ("p99 (ms)", _ms(r.p(99)), _ms(a.p(99)), ""),
            ("max (ms)", _ms(r.p(100)), _ms(a.p(100)), ""),
            ("mean (ms)", _ms(r.mean), _ms(a.mean), ""),
            (
                "route() inside allocate_stock p50 / p99 (ms)",
                "",
                f"{_ms(inside)} / {_ms(percentile(a.route_in_activity, 99))}",
                f"{inside_share * 100:.1f} % of allocation p50; "
                f"{len(a.route_in_activity)} calls for {len(a.seconds)} orders",
            ),
            (
                "SQL statements per allocation p50 / max",
                "",
                f"{percentile([float(s) for s in a.statements], 50):.0f} / "
                f"{max(a.statements, default=0)}",
                "",
            ),
            ("orders timed", str(len(r.seconds)), str(len(a.seconds)), ""),
            *(
                (
                    f"orders: {s} (count; p50 / p99 ms)",
                    f"{r.shapes.get(s, 0)}; {_ms(r.p(50, s))} / {_ms(r.p(99, s))}",
                    f"{a.shapes.get(s, 0)}; {_ms(a.p(50, s))} / {_ms(a.p(99, s))}",
                    "",
                )
                for s in shapes
            ),
            (
                "allocation chose the warehouses route() chose",
                "",
                f"{a.same_as_routing} / {len(a.seconds)}",
                "same stock: reservations released after each order",
            ),
        ]

    _HEADER = ("figure", "route() over the sites", "allocate_stock (activity)", "note")

    def table(self) -> str:
        return text_table(self._HEADER, self.rows())

    def breakdown(self) -> list[str]:
        return []

    def markdown(self) -> str:
        out = [
            f"## {self.started_at} — routing decision vs allocation, "
            f"{self.settings['warehouses']} warehouses",
            "",
            f"Command: `{self.command}`",
            "",
            self.machine,
            "",
            "Settings: " + ", ".join(f"{k}={v}" for k, v in self.settings.items()),
            "",
            *md_table(self._HEADER, self.rows()),
        ]
        failures = self.routing.failures + self.allocation.failures
        if failures:
            out += ["", f"Failures ({len(failures)}), first 5:", ""]
            out += [f"- {f}" for f in failures[:5]]
        out.append("")
        return "\n".join(out)

    def headline(self) -> dict[str, Any]:
        return {
            "bench": "routing",
            "started_at": self.started_at,
            "routing_p50_share_of_allocation": round(self.share, 3),
            "failures": len(self.failure_list()),
        }

    def failure_list(self) -> list[str]:
        return self.routing.failures + self.allocation.failures


# --- driver --------------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> RoutingReport:
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    world = build_world(args.warehouses, args.skus, args.orders, args.seed)
    log(f"routing: {args.orders} orders over {args.warehouses} warehouses ...")
    routing = time_routing(world)
    base = server_url(args.database_url)
    with scratch_database(base, "bench_routing", keep=args.keep_db) as url:
        info = server_info(url)
        log(f"allocation: scratch database on {redact(base)} ({info.version}) ...")
        asyncio.run(seed(url, world))
        count = min(args.allocations, args.orders)
        allocation = asyncio.run(time_allocation(url, world, count, routing))
    n_us = sum(w.country_code == "US" for w in world.warehouses)
    settings = {
        "warehouses": str(args.warehouses),
        "sites": f"{n_us} US + {args.warehouses - n_us} EU cities, jittered, local time zones, "
        "half with a daily capacity of 100000, random 15:00/17:00/no cut-off",
        "skus": f"{args.skus}, each at ~30 % of warehouses, 1-12 units",
        "stocked levels": str(len(world.stock)),
        "orders": "1-4 lines (40/30/20/10 %), 1-3 units each, 70 % US / 30 % EU destinations",
        "rules": "DEFAULT_RULES (stored as version 1 for the activity), STANDARD shipping",
        "warm-up": f"{WARMUP} calls each, not timed",
        "allocation": "sequential, one order at a time, ActivityEnvironment, "
        "release_stock after each (not timed)",
        "seed": str(args.seed),
        "code": code_version(),
    }
    return RoutingReport(
        command=command_line("bench.routing"),
        started_at=started_at,
        machine=machine_line(f"{info.version} (machine server, scratch database)"),
        settings=settings,
        routing=routing,
        allocation=allocation,
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.routing", description=(__doc__ or "").split("\n")[2]
    )
    p.add_argument("--orders", type=int, default=2000, help="routed orders (default 2000)")
    p.add_argument(
        "--allocations", type=int, default=500, help="allocated orders, the first M (default 500)"
    )
    p.add_argument("--warehouses", type=int, default=50, help="warehouses (default 50)")
    p.add_argument("--skus", type=int, default=20, help="SKUs (default 20)")
    p.add_argument("--seed", type=int, default=1, help="world seed (default 1)")
    p.add_argument("--database-url", help="server to create the scratch database on")
    p.add_argument("--out", type=Path, default=Path("bench/runs/routing.jsonl"))
    p.add_argument("--no-record", action="store_true", help="print only; do not append")
    p.add_argument("--keep-db", action="store_true", help="keep the scratch database")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if min(args.orders, args.allocations, args.warehouses, args.skus) < 1:
        log("error: --orders, --allocations, --warehouses and --skus must be >= 1")
        return 2
    try:
        report = measure(args)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    return show_and_record(report, out=None if args.no_record else args.out)


if __name__ == "__main__":
    sys.exit(main())
