"""The customer-email outbox (``notifications``): claiming due rows, recording each
attempt's outcome, and the facts an email shows (order name, shipment tracking).

A row is claimed with ``FOR UPDATE SKIP LOCKED`` and stays locked, in its transaction,
while it is sent: two senders (two workers) never hold one row, and a sender that dies
mid-send releases it with its connection (docs/decisions/0006-customer-emails-outbox.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import LabelLedger, Notification, OrderRow, ShipmentRow

PENDING, SENT, FAILED = "pending", "sent", "failed"


async def claim_due(session: AsyncSession, now: datetime) -> Notification | None:
    """The oldest due pending row no other sender holds, locked until the transaction ends."""
    result = await session.execute(
        select(Notification)
        .where(Notification.status == PENDING, Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.recorded_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return result.scalar_one_or_none()


def mark_sent(row: Notification, now: datetime) -> None:
    row.status = SENT
    row.sent_at = now
    row.attempts += 1
    row.last_error = None


def mark_retry(row: Notification, error: str, next_at: datetime) -> None:
    row.attempts += 1
    row.last_error = error[:2000]
    row.next_attempt_at = next_at


def mark_failed(row: Notification, error: str) -> None:
    row.status = FAILED
    row.attempts += 1
    row.last_error = error[:2000]


@dataclass(frozen=True)
class ShipmentFacts:
    shipment_id: str
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    status: str


async def order_name(session: AsyncSession, order_id: str) -> str | None:
    name = await session.scalar(select(OrderRow.name).where(OrderRow.order_id == order_id))
    return str(name) if name else None


async def shipment_facts(session: AsyncSession, shipment_id: str) -> ShipmentFacts | None:
    """The shipment's tracking from its read-model row, or from the label ledger when the
    row does not carry it (yet)."""
    row = await session.get(ShipmentRow, shipment_id)
    label = None
    if row is None or not row.tracking_number:
        label = await session.get(LabelLedger, shipment_id)
    if row is None and label is None:
        return None
    return ShipmentFacts(
        shipment_id=shipment_id,
        carrier=(row.carrier if row else None) or (label.carrier if label else None),
        tracking_number=(row.tracking_number if row else None)
        or (label.tracking_number if label else None),
        tracking_url=(row.tracking_url if row else None) or (label.tracking_url if label else None),
        status=row.status if row else "shipped",
    )


@dataclass(frozen=True)
class OutboxCounts:
    by_status: dict[str, int]
    oldest_pending: datetime | None


async def outbox_counts(session: AsyncSession) -> OutboxCounts:
    """Rows per status and when the oldest pending one was recorded (metrics)."""
    rows = await session.execute(
        select(Notification.status, func.count()).group_by(Notification.status)
    )
    oldest = await session.scalar(
        select(func.min(Notification.recorded_at)).where(Notification.status == PENDING)
    )
    return OutboxCounts({str(s): int(n) for s, n in rows.all()}, oldest)
