"""The outbox row a workflow's decision writes: once per key, pending, about the right
shipment (read from the key when an older workflow generation does not say)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.models import NotifyRequest
from store.projection import record_notification, shipment_of
from store.tables import Notification


@pytest.mark.parametrize(
    ("key", "milestone", "given", "expected"),
    [
        ("notify-o-7-1-shipped", "shipped", None, "o-7-1"),
        ("notify-o-7-12-out_for_delivery", "out_for_delivery", None, "o-7-12"),
        ("notify-o-7-cancelled", "cancelled", None, None),
        ("notify-o-7-confirmed", "confirmed", None, None),
        ("notify-o-7-2-delayed", "delayed", "o-7-2", "o-7-2"),
        ("something-else", "delayed", None, None),
    ],
)
def test_the_shipment_of_a_notification(
    key: str, milestone: str, given: str | None, expected: str | None
) -> None:
    req = NotifyRequest(
        order_id="o-7",
        email="e@example.com",
        milestone=milestone,
        idempotency_key=key,
        shipment_id=given,
    )
    assert shipment_of(req) == expected


async def test_a_decision_is_recorded_once_and_pending(
    outbox_sessions: async_sessionmaker[AsyncSession],
) -> None:
    req = NotifyRequest(
        order_id="o-8",
        email="e@example.com",
        milestone="out_for_delivery",
        idempotency_key="notify-o-8-1-out_for_delivery",
        detail={"detail": "with the driver"},
    )
    async with outbox_sessions.begin() as s:
        assert await record_notification(s, req) is True
    async with outbox_sessions.begin() as s:  # a retried activity, a replayed write
        assert await record_notification(s, req) is False
    async with outbox_sessions() as s:
        rows = (await s.scalars(select(Notification).where(Notification.order_id == "o-8"))).all()
    assert len(rows) == 1
    (row,) = rows
    assert (row.status, row.attempts, row.sent_at, row.message_id) == ("pending", 0, None, None)
    assert row.shipment_id == "o-8-1"
    assert row.detail == {"detail": "with the driver"}
    assert row.recorded_at is not None and row.next_attempt_at is not None
