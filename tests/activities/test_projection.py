"""The read-model writes on real Postgres: only forward, once per event, and a flush that
records two floor moves of one shipment."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.projection import ProjectionActivities
from domain.models import (
    OrderEvent,
    OrderProjection,
    ProjectOrderInput,
    ProjectShipmentInput,
    ShipmentLine,
    ShipmentProjection,
)
from domain.status import OrderStatus, ShipmentStatus
from store.tables import OrderEventRow, OrderRow, ShipmentRow

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _order(order_id: str, version: int, status: OrderStatus) -> OrderProjection:
    return OrderProjection(
        order_id=order_id,
        version=version,
        name="#1001",
        channel="web",
        external_id=order_id,
        email="buyer@example.com",
        status=status,
        tags=["fragile"],
        priority=1,
        warehouses=["PDX"],
        total=Decimal("42.50"),
        currency="USD",
        created_at=T0,
        updated_at=T0 + timedelta(minutes=version),
        summary={"payment": "paid"},
    )


def _floor_move(order_id: str, version: int, picked: int) -> ProjectShipmentInput:
    shipment_id = f"{order_id}-1"
    return ProjectShipmentInput(
        shipment=ShipmentProjection(
            shipment_id=shipment_id,
            order_id=order_id,
            version=version,
            warehouse="PDX",
            status=ShipmentStatus.PICKING,
            priority=1,
            lines=[ShipmentLine(sku="MUG", quantity=2, picked=picked)],
            updated_at=T0 + timedelta(minutes=version),
        ),
        events=[OrderEvent(key=f"{shipment_id}:{version}", at=T0, type="picked", detail={})],
    )


async def test_two_floor_moves_in_one_flush_leave_the_newer_and_all_events_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    order_id = f"proj-{uuid.uuid4().hex[:8]}"
    acts = ProjectionActivities(sessions)
    flush = ProjectOrderInput(
        order=_order(order_id, 3, OrderStatus.PACKING),
        events=[OrderEvent(key="o3", at=T0, type="status", detail={"to": "packing"})],
        # The order took both signals (first and last scan) before it wrote.
        shipments=[_floor_move(order_id, 3, picked=2), _floor_move(order_id, 2, picked=1)],
    )
    await acts.record_order(flush)
    await acts.record_order(flush)  # a retried local activity: nothing twice
    async with sessions() as s:
        order = await s.get(OrderRow, order_id)
        shipment = await s.get(ShipmentRow, f"{order_id}-1")
        keys = list(
            await s.scalars(
                select(OrderEventRow.event_key).where(OrderEventRow.order_id == order_id)
            )
        )
    assert order is not None and (order.status, order.version) == ("packing", 3)
    assert order.total == Decimal("42.50") and order.created_at == T0
    assert shipment is not None and shipment.version == 3
    assert [(ln["sku"], ln["picked"]) for ln in shipment.lines] == [("MUG", 2)]
    assert sorted(keys) == sorted([f"{order_id}-1:2", f"{order_id}-1:3", "o3"])


async def test_a_late_write_never_moves_the_order_or_its_shipment_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    order_id = f"proj-{uuid.uuid4().hex[:8]}"
    acts = ProjectionActivities(sessions)
    await acts.record_order(
        ProjectOrderInput(order=_order(order_id, 5, OrderStatus.SHIPPED), events=[], shipments=[])
    )
    await acts.record_shipment(_floor_move(order_id, 5, picked=2))
    late = ProjectOrderInput(
        order=_order(order_id, 4, OrderStatus.PICKING),
        events=[OrderEvent(key="o4", at=T0, type="status", detail={})],
        shipments=[_floor_move(order_id, 4, picked=1)],
    )
    await acts.record_order(late)
    async with sessions() as s:
        order = await s.get(OrderRow, order_id)
        shipment = await s.get(ShipmentRow, f"{order_id}-1")
        events = await s.scalar(
            select(OrderEventRow.id).where(
                OrderEventRow.order_id == order_id, OrderEventRow.event_key == "o4"
            )
        )
    assert order is not None and (order.status, order.version) == ("shipped", 5)
    assert shipment is not None and (shipment.version, shipment.lines[0]["picked"]) == (5, 2)
    assert events is not None  # the log is append-only: a late event still lands

    newer = _order(order_id, 6, OrderStatus.DELIVERED).model_copy(
        update={"created_at": T0 + timedelta(days=1)}
    )
    await acts.record_order(ProjectOrderInput(order=newer, events=[], shipments=[]))
    async with sessions() as s:
        order = await s.get(OrderRow, order_id)
    assert order is not None and (order.status, order.version) == ("delivered", 6)
    assert order.created_at == T0  # when the order came in is written once
