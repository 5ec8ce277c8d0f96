"""The routing bench's two measurements: ``route()`` alone, and the allocation activity
that calls it (seeded into a scratch database), over the same orders."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.report import percentile
from bench.routing_world import BenchOrder, World, shape
from domain.models import Address, AllocationRequest, AllocationResult, OrderLine, ReleaseRequest
from domain.routing import DEFAULT_RULES, RoutingOutcome, route
from domain.status import ShippingMethod

WARMUP = 50


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
