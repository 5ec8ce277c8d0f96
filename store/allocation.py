"""What the routing engine needs from Postgres, and the all-or-nothing reservation of a plan.

Loading: active warehouses as ``domain.routing.Site`` (stock for the order's SKUs, today's
shipment count in the warehouse's own time zone), and the claims earlier backorders hold.
Reserving: every shipment of a plan in one transaction, capacity slot included, so a
split order never ends up half reserved. Moving: one reservation to another warehouse, with
the same guarded UPDATE as a reservation (the target's stock is re-checked in the WHERE).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain import names
from domain.geo import locate
from domain.models import AllocationRequest
from domain.routing import DEFAULT_RULES, RoutingOutcome, RoutingRules, Site, route
from store import rules
from store.inventory import note_change, reserve_line
from store.tables import (
    Backorder,
    InventoryLevel,
    Reservation,
    Warehouse,
    WarehouseDailyLoad,
)


async def load_rules(session: AsyncSession) -> tuple[int, RoutingRules]:
    """The routing rules in force: the newest stored version, else the defaults (v0)."""
    stored = await rules.current(session, "routing")
    if stored is None:
        return 0, DEFAULT_RULES
    return stored.version, RoutingRules.model_validate({"rules": stored.rules})


async def decide(
    session: AsyncSession,
    req: AllocationRequest,
    now: datetime,
) -> Decision:
    """Route ``req`` against current stock without reserving anything (also the preview)."""
    wanted = Counter[str]()
    for line in req.lines:
        wanted[line.sku] += line.quantity
    version, rule_set = await load_rules(session)
    sites = await load_sites(session, sorted(wanted), now, req.exclude)
    claims, backordered = await claims_before(session, req.order_id, sorted(wanted))
    a = req.address
    outcome = route(
        needed=dict(wanted),
        destination=locate(
            a.latitude,
            a.longitude,
            a.country_code,
            postal_code=a.zip,
            province_code=a.province_code,
        ),
        country_code=a.country_code,
        shipping_method=req.shipping_method,
        sites=sites,
        rules=rule_set,
        now=now,
        claims=claims,
    )
    return Decision(version, outcome, {site.code: site for site in sites}, backordered)


@dataclass(frozen=True)
class Decision:
    """A routing outcome, the rule version that made it, and the sites it saw."""

    version: int
    outcome: RoutingOutcome
    sites: dict[str, Site]
    #: The order waits as an open backorder (reserving must close it).
    backordered: bool = False

    def planned(self, order_id: str, next_seq: int) -> list[PlannedReservation]:
        """The outcome's shipments, numbered from ``next_seq``, ready to reserve."""
        return [
            PlannedReservation(
                shipment_id=names.shipment_id_for(order_id, next_seq + i),
                warehouse=s.warehouse,
                quantities=s.lines,
                capacity=self.sites[s.warehouse].daily_capacity,
                timezone=self.sites[s.warehouse].timezone,
            )
            for i, s in enumerate(self.outcome.shipments)
        ]


def local_day(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


async def load_sites(
    session: AsyncSession, skus: list[str], now: datetime, exclude: list[str] | None = None
) -> list[Site]:
    """Active warehouses (minus ``exclude``) with their stock of ``skus`` and today's load."""
    query = select(Warehouse).where(Warehouse.active).order_by(Warehouse.code)
    if exclude:
        query = query.where(Warehouse.code.not_in(exclude))
    warehouses = (await session.scalars(query)).all()
    rows = (
        await session.execute(
            select(
                InventoryLevel.warehouse,
                InventoryLevel.sku,
                InventoryLevel.on_hand - InventoryLevel.reserved,
            ).where(InventoryLevel.sku.in_(skus))
        )
    ).all()
    available: dict[str, dict[str, int]] = {}
    for wh, sku, qty in rows:
        available.setdefault(wh, {})[sku] = qty
    days = {w.code: local_day(now, w.timezone) for w in warehouses}
    loads: dict[tuple[str, date], int] = {}
    if days:
        load_rows = await session.execute(
            select(
                WarehouseDailyLoad.warehouse, WarehouseDailyLoad.day, WarehouseDailyLoad.shipments
            ).where(WarehouseDailyLoad.day.in_(set(days.values())))
        )
        loads = {(w, d): n for w, d, n in load_rows.all()}
    return [
        Site.of(w, available.get(w.code, {}), loads.get((w.code, days[w.code]), 0))
        for w in warehouses
    ]


async def claims_before(
    session: AsyncSession, order_id: str, skus: list[str]
) -> tuple[dict[str, int], bool]:
    """Units of ``skus`` that open backorders older than this order's are waiting for,
    and whether the order itself waits as one.

    An order that is not backordered yet is younger than every open backorder.
    """
    mine = await session.scalar(
        select(Backorder.created_at).where(
            Backorder.order_id == order_id, Backorder.resolved_at.is_(None)
        )
    )
    # Summed in Postgres, over only the backorders claiming one of these SKUs.
    rows = await session.execute(
        _CLAIMS,
        {"order_id": order_id, "skus": list(skus), "before": mine},
    )
    return {sku: int(units) for sku, units in rows.all()}, mine is not None


_CLAIMS = text(
    """
    SELECT claim.key, sum(claim.value::int)
    FROM backorders, jsonb_each_text(backorders.quantities) AS claim
    WHERE backorders.resolved_at IS NULL
      AND backorders.order_id <> :order_id
      AND backorders.quantities ?| CAST(:skus AS text[])
      AND (CAST(:before AS timestamptz) IS NULL OR backorders.created_at < :before)
      AND claim.key = ANY(CAST(:skus AS text[]))
    GROUP BY claim.key
    """
)


@dataclass(frozen=True)
class PlannedReservation:
    shipment_id: str
    warehouse: str
    quantities: dict[str, int]
    capacity: int | None | Literal["lookup"] = "lookup"
    timezone: str = "UTC"


async def reserve_plan(
    session: AsyncSession, *, order_id: str, shipments: list[PlannedReservation], now: datetime
) -> bool:
    """Reserve every line of every shipment and take a capacity slot per shipment.

    All or nothing inside the caller's transaction; on False the caller must roll back.
    Rows are locked in one global (sku, warehouse) order so concurrent plans cannot
    deadlock; each UPDATE re-checks availability, each slot re-checks the capacity.
    """
    lines = sorted(
        (sku, s.warehouse, qty, s.shipment_id)
        for s in shipments
        for sku, qty in s.quantities.items()
    )
    for sku, warehouse, qty, shipment_id in lines:
        if not await reserve_line(
            session,
            order_id=order_id,
            shipment_id=shipment_id,
            sku=sku,
            warehouse=warehouse,
            qty=qty,
        ):
            return False
    for s in sorted(shipments, key=lambda s: s.warehouse):
        if not await take_slot(session, s.warehouse, now, s.capacity, s.timezone):
            return False
    return True


async def take_slot(
    session: AsyncSession,
    warehouse: str,
    now: datetime,
    capacity: int | None | Literal["lookup"] = "lookup",
    timezone: str = "UTC",
) -> bool:
    """Count one more shipment for the warehouse's day, unless that passes its capacity.

    Routing already knows the capacity and time zone; other callers let it be looked up.
    Warehouses without a limit are not counted: the counter row is one per warehouse and
    day, so counting would serialise every reservation at that warehouse on it for
    nothing (docs/decisions/0016). A limit set mid-day counts from then on.
    """
    if capacity == "lookup":
        wh = await session.get(Warehouse, warehouse)
        if wh is None:
            return False
        capacity, timezone = wh.daily_capacity, wh.timezone
    if capacity is None:
        return True
    day = local_day(now, timezone)
    stmt = insert(WarehouseDailyLoad).values(warehouse=warehouse, day=day, shipments=1)
    upsert = stmt.on_conflict_do_update(
        index_elements=[WarehouseDailyLoad.warehouse, WarehouseDailyLoad.day],
        set_={"shipments": WarehouseDailyLoad.shipments + 1},
        where=(WarehouseDailyLoad.shipments < capacity if capacity is not None else None),
    ).returning(WarehouseDailyLoad.shipments)
    if capacity is not None and capacity <= 0:
        return False
    return (await session.execute(upsert)).scalar_one_or_none() is not None


async def free_slots(session: AsyncSession, which: ColumnElement[bool]) -> None:
    """Give back the capacity slots of shipments still holding reservations (``which``).

    A shipment moved away, handed back or cancelled no longer uses its warehouse's day;
    the slot is returned to the day the shipment was allocated on.
    """
    rows = (
        await session.execute(
            select(
                Reservation.shipment_id,
                Reservation.warehouse,
                func.min(Reservation.created_at),
                Warehouse.timezone,
            )
            .join(Warehouse, Warehouse.code == Reservation.warehouse)
            .where(which, Reservation.status == "reserved")
            .group_by(Reservation.shipment_id, Reservation.warehouse, Warehouse.timezone)
        )
    ).all()
    for _shipment, warehouse, since, timezone in rows:
        await session.execute(
            update(WarehouseDailyLoad)
            .where(
                WarehouseDailyLoad.warehouse == warehouse,
                WarehouseDailyLoad.day == local_day(since, timezone),
                WarehouseDailyLoad.shipments > 0,
            )
            .values(shipments=WarehouseDailyLoad.shipments - 1)
        )


async def shift_reservation(session: AsyncSession, r: Reservation, to: str) -> str | None:
    """Move one reservation row to warehouse ``to``; the reason when ``to`` lacks stock.

    The two level rows are updated in warehouse order, the order every other writer locks
    (sku, warehouse) rows in, so a move cannot deadlock with an allocation.
    """
    give_back = (
        update(InventoryLevel)
        .where(InventoryLevel.sku == r.sku, InventoryLevel.warehouse == r.warehouse)
        .values(reserved=InventoryLevel.reserved - r.quantity)
    )
    take = (
        update(InventoryLevel)
        .where(
            InventoryLevel.sku == r.sku,
            InventoryLevel.warehouse == to,
            InventoryLevel.on_hand - InventoryLevel.reserved >= r.quantity,
        )
        .values(reserved=InventoryLevel.reserved + r.quantity)
    )
    for stmt, is_take in sorted(
        ((give_back, False), (take, True)), key=lambda p: to if p[1] else r.warehouse
    ):
        result = await session.execute(stmt)
        if is_take and result.rowcount != 1:  # type: ignore[attr-defined]
            return f"{to} has fewer than {r.quantity} of {r.sku} available"
    note_change(session, r.sku, r.warehouse)
    note_change(session, r.sku, to)
    r.warehouse = to
    return None
