"""Migration 0010's triggers on real Postgres: read-model writes queue merchant-webhook
events in their own transaction, one delivery per subscription that wants the topic, and
nothing at all when nobody does; the older triggers (status counts, floor roll-up) still
hold beside them.

On a database of its own, so every subscription and event seen is one of the test's.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import merchant_webhooks as repo
from store.tables import (
    OrderRow,
    OrderStatusCount,
    ShipmentRow,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from tests.conftest import scratch_sessions
from tests.order_rows import T0, order_row

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Sessions]:
    async with scratch_sessions(database_url, "oms_hooks") as sessions:
        yield sessions


async def subscribe(db: Sessions, *topics: str) -> str:
    async with db.begin() as s:
        row = await repo.create_subscription(s, "http://127.0.0.1:9/hook", list(topics))
        return row.webhook_id


async def events_of(db: Sessions, key: str, value: str) -> list[WebhookEvent]:
    """Events whose ``data[key]`` is ``value``, oldest delivery first."""
    async with db() as s:
        rows = await s.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.data[key].astext == value)
            .order_by(WebhookEvent.created_at, WebhookEvent.topic)
        )
        return list(rows)


async def deliveries(db: Sessions) -> list[tuple[str, str, uuid.UUID]]:
    async with db() as s:
        rows = await s.execute(
            select(
                WebhookDelivery.webhook_id, WebhookDelivery.topic, WebhookDelivery.event_id
            ).order_by(WebhookDelivery.delivery_id)
        )
        return [(w, t, e) for w, t, e in rows.all()]


def shipment(order_id: str, status: str, **extra: Any) -> ShipmentRow:
    values: dict[str, Any] = {
        "shipment_id": f"{order_id}-1",
        "order_id": order_id,
        "version": 1,
        "warehouse": "WH-A",
        "status": status,
        "priority": 0,
        "lines": [{"sku": "S-1", "quantity": 1, "picked": 0}],
        "updated_at": T0,
    }
    values.update(extra)
    return ShipmentRow(**values)


async def test_order_insert_and_status_change_queue_events(db: Sessions) -> None:
    hook = await subscribe(db, "order.created", "order.status_changed")
    async with db.begin() as s:
        s.add(order_row("o-1", 0, status="received"))
    later = T0 + timedelta(minutes=5)
    async with db.begin() as s:
        await s.execute(
            update(OrderRow)
            .where(OrderRow.order_id == "o-1")
            .values(status="awaiting_payment", updated_at=later, version=2)
        )

    created, changed = await events_of(db, "order_id", "o-1")
    assert created.topic == "order.created"
    assert created.data["name"] == "#o-1" and created.data["status"] == "received"
    assert created.occurred_at == T0
    assert changed.topic == "order.status_changed"
    assert changed.data == {
        "order_id": "o-1",
        "name": "#o-1",
        "status": "awaiting_payment",
        "previous_status": "received",
    }
    assert changed.occurred_at == later
    assert await deliveries(db) == [
        (hook, "order.created", created.event_id),
        (hook, "order.status_changed", changed.event_id),
    ]
    # The status counters of migration 0005 still count the move.
    async with db() as s:
        counts = dict(
            (
                await s.execute(
                    select(OrderStatusCount.status, func.sum(OrderStatusCount.n)).group_by(
                        OrderStatusCount.status
                    )
                )
            ).all()
        )
    assert counts.get("received", 0) == 0 and counts["awaiting_payment"] == 1


async def test_an_update_without_a_status_change_queues_nothing(db: Sessions) -> None:
    await subscribe(db, "order.created", "order.status_changed", "shipment.shipped")
    async with db.begin() as s:
        s.add(order_row("o-2", 0, status="received"))
        s.add(shipment("o-2", "packed"))
    before = await deliveries(db)
    async with db.begin() as s:
        await s.execute(
            update(OrderRow)
            .where(OrderRow.order_id == "o-2")
            .values(status="received", stuck=True, version=3)  # same status written again
        )
        await s.execute(
            update(ShipmentRow).where(ShipmentRow.order_id == "o-2").values(priority=5, version=2)
        )
    assert await deliveries(db) == before
    assert [e.topic for e in await events_of(db, "order_id", "o-2")] == ["order.created"]


async def test_a_shipment_moving_to_shipped_queues_one_event_per_subscription(
    db: Sessions,
) -> None:
    first = await subscribe(db, "shipment.shipped")
    second = await subscribe(db, "shipment.shipped", "shipment.delivered")
    async with db.begin() as s:
        s.add(order_row("o-3", 0, status="packing"))
        s.add(shipment("o-3", "packed"))
    assert await events_of(db, "shipment_id", "o-3-1") == []  # packed is no topic
    async with db.begin() as s:
        await s.execute(
            update(ShipmentRow)
            .where(ShipmentRow.shipment_id == "o-3-1")
            .values(
                status="shipped",
                carrier="sandbox",
                tracking_number="1Z999",
                tracking_url="https://track.example/1Z999",
                version=2,
            )
        )
    (event,) = await events_of(db, "shipment_id", "o-3-1")
    assert event.topic == "shipment.shipped"
    assert event.data == {
        "shipment_id": "o-3-1",
        "order_id": "o-3",
        "warehouse": "WH-A",
        "status": "shipped",
        "tracking": {
            "carrier": "sandbox",
            "number": "1Z999",
            "url": "https://track.example/1Z999",
        },
    }
    assert sorted(await deliveries(db)) == sorted(
        [(first, "shipment.shipped", event.event_id), (second, "shipment.shipped", event.event_id)]
    )
    # Delivered goes to the subscription that asked for it only.
    async with db.begin() as s:
        await s.execute(
            update(ShipmentRow)
            .where(ShipmentRow.shipment_id == "o-3-1")
            .values(status="delivered", version=3)
        )
    assert [(w, t) for w, t, _ in await deliveries(db)][-1] == (second, "shipment.delivered")


async def test_the_floor_roll_up_is_an_order_status_change(db: Sessions) -> None:
    """Migration 0006's trigger moves the order to ``picking`` when a shipment's line is
    picked: that write is an order status change like any other."""
    await subscribe(db, "order.status_changed")
    async with db.begin() as s:
        s.add(order_row("o-4", 0, status="ready_to_pick"))
        s.add(shipment("o-4", "open"))
    async with db.begin() as s:
        await s.execute(
            update(ShipmentRow)
            .where(ShipmentRow.shipment_id == "o-4-1")
            .values(lines=[{"sku": "S-1", "quantity": 2, "picked": 1}], version=2)
        )
    async with db() as s:
        assert (await s.get(OrderRow, "o-4")).status == "picking"  # type: ignore[union-attr]
    (event,) = await events_of(db, "order_id", "o-4")
    assert event.data["status"] == "picking" and event.data["previous_status"] == "ready_to_pick"


async def test_no_subscription_no_rows(db: Sessions) -> None:
    gone = await subscribe(db, "order.created", "order.status_changed", "shipment.shipped")
    await subscribe(db, "shipment.delivered")  # active, but for another topic
    async with db.begin() as s:
        assert await repo.deactivate(s, gone)
    async with db.begin() as s:
        s.add(order_row("o-5", 0, status="received"))
        s.add(shipment("o-5", "shipped", tracking_number="1Z5"))
    async with db.begin() as s:
        await s.execute(
            update(OrderRow).where(OrderRow.order_id == "o-5").values(status="shipped", version=2)
        )
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(WebhookEvent)) == 0
        assert await s.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
        assert await s.scalar(select(func.count()).select_from(WebhookSubscription)) == 2


async def test_a_rolled_back_write_queues_nothing(db: Sessions) -> None:
    await subscribe(db, "order.created")
    async with db() as s:
        await s.begin()
        s.add(order_row("o-6", 0, status="received"))
        await s.flush()
        assert len(await events_of(db, "order_id", "o-6")) == 0  # not committed yet
        await s.rollback()
    assert await deliveries(db) == []
