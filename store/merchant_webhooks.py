"""Merchant webhook subscriptions and their delivery queue.

The API creates, lists and deactivates subscriptions and reads/requeues deliveries; the
dispatcher (``oms.webhook_dispatcher``) claims a subscription's queue, takes its head (the
oldest ``pending`` row), and records each attempt's outcome. Events and delivery rows are
written by the triggers of migration 0010, never here (docs/decisions/0007).

Time is Postgres's ``now()`` throughout: the queue's "due" and the retry window are
compared on one clock whichever process writes them.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.merchant_webhooks import DELIVERED, FAILED, PENDING
from store.tables import WebhookDelivery, WebhookDeliveryTotal, WebhookEvent, WebhookSubscription

#: Pending deliveries are counted up to here for the gauge (a scrape must stay cheap).
PENDING_CAP = 100_000


def new_webhook_id() -> str:
    return "wh_" + secrets.token_hex(8)


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


async def create_subscription(
    session: AsyncSession, url: str, topics: list[str]
) -> WebhookSubscription:
    """A new active subscription with a fresh secret. The caller commits."""
    row = WebhookSubscription(
        webhook_id=new_webhook_id(),
        url=url,
        topics=list(dict.fromkeys(topics)),  # unique, order kept
        secret=new_secret(),
        active=True,
    )
    session.add(row)
    await session.flush()
    return row


async def list_subscriptions(session: AsyncSession) -> list[WebhookSubscription]:
    rows = await session.scalars(
        select(WebhookSubscription)
        .where(WebhookSubscription.active)
        .order_by(WebhookSubscription.created_at, WebhookSubscription.webhook_id)
    )
    return list(rows)


async def get_active(session: AsyncSession, webhook_id: str) -> WebhookSubscription | None:
    row = await session.get(WebhookSubscription, webhook_id)
    return row if row is not None and row.active else None


async def deactivate(session: AsyncSession, webhook_id: str) -> bool:
    """Stop a subscription: no new events are queued for it (the triggers look for active
    ones) and what was still pending is failed with ``subscription deleted``.

    Returns False when there is no active subscription of that id. The caller commits.
    """
    done = await session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.webhook_id == webhook_id, WebhookSubscription.active)
        .values(active=False)
        .returning(WebhookSubscription.webhook_id)
    )
    if done.first() is None:
        return False
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == PENDING)
        .values(status=FAILED, last_error="subscription deleted")
    )
    return True


async def list_deliveries(
    session: AsyncSession, webhook_id: str, limit: int
) -> list[WebhookDelivery]:
    """Newest first."""
    rows = await session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.delivery_id.desc())
        .limit(limit)
    )
    return list(rows)


async def redeliver(
    session: AsyncSession, webhook_id: str, delivery_id: int
) -> WebhookDelivery | None:
    """Queue the delivery's event again as a new row at the back of the subscription's
    queue (``redelivery_of`` the original, whose record stays as it was). The receiver
    sees the same ``event_id``. None when the delivery is not this subscription's.
    The caller commits."""
    original = await session.get(WebhookDelivery, delivery_id)
    if original is None or original.webhook_id != webhook_id:
        return None
    row = WebhookDelivery(
        webhook_id=webhook_id,
        event_id=original.event_id,
        topic=original.topic,
        redelivery_of=original.delivery_id,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


# --- the dispatcher's side ---------------------------------------------------------------

#: Active subscriptions, each with its ``head``: the oldest pending delivery, the one the
#: dispatcher sends next (its queue is delivered in order).
_ACTIVE_HEADS = """
    FROM webhook_subscriptions s
    CROSS JOIN LATERAL (
        SELECT d.next_attempt_at FROM webhook_deliveries d
        WHERE d.webhook_id = s.webhook_id AND d.status = 'pending'
        ORDER BY d.delivery_id LIMIT 1
    ) head
    WHERE s.active
"""

#: Subscriptions whose head is due, not leased by another dispatcher, locked so two
#: dispatchers claiming at once take different ones.
_CLAIM = text(
    f"""
    SELECT s.webhook_id
    {_ACTIVE_HEADS}
      AND (s.lease_until IS NULL OR s.lease_until < now())
      AND head.next_attempt_at <= now()
    ORDER BY head.next_attempt_at
    LIMIT :limit
    FOR UPDATE OF s SKIP LOCKED
    """
)


async def claim_due(session: AsyncSession, limit: int, lease_seconds: float) -> list[str]:
    """Lease up to ``limit`` subscriptions whose head delivery is due. The caller commits
    (then works them outside the transaction, and ``release``s each)."""
    ids = list((await session.execute(_CLAIM, {"limit": limit})).scalars())
    if ids:
        await session.execute(
            text(
                "UPDATE webhook_subscriptions SET lease_until = now() + make_interval(secs => :s)"
                " WHERE webhook_id = ANY(:ids)"
            ),
            {"s": lease_seconds, "ids": ids},
        )
    return ids


async def renew(session: AsyncSession, webhook_id: str, lease_seconds: float) -> None:
    """Still working this queue: keep the lease for another ``lease_seconds``."""
    await session.execute(
        text(
            "UPDATE webhook_subscriptions SET lease_until = now() + make_interval(secs => :s)"
            " WHERE webhook_id = :id"
        ),
        {"s": lease_seconds, "id": webhook_id},
    )


async def release(session: AsyncSession, webhook_id: str) -> None:
    await session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.webhook_id == webhook_id)
        .values(lease_until=None)
    )


@dataclass(frozen=True)
class Head:
    """What the dispatcher needs to send a subscription's oldest pending delivery."""

    delivery_id: int
    webhook_id: str
    url: str
    secret: str
    event_id: uuid.UUID
    topic: str
    occurred_at: datetime
    data: dict[str, Any]
    attempts: int
    due: bool


async def head(session: AsyncSession, webhook_id: str) -> Head | None:
    """The subscription's oldest pending delivery (due or not), if it is still active."""
    row = (
        await session.execute(
            select(
                WebhookDelivery.delivery_id,
                WebhookSubscription.url,
                WebhookSubscription.secret,
                WebhookEvent.event_id,
                WebhookEvent.topic,
                WebhookEvent.occurred_at,
                WebhookEvent.data,
                WebhookDelivery.attempts,
                WebhookDelivery.next_attempt_at <= func.now(),
            )
            .join(WebhookSubscription, WebhookSubscription.webhook_id == WebhookDelivery.webhook_id)
            .join(WebhookEvent, WebhookEvent.event_id == WebhookDelivery.event_id)
            .where(
                WebhookDelivery.webhook_id == webhook_id,
                WebhookDelivery.status == PENDING,
                WebhookSubscription.active,
            )
            .order_by(WebhookDelivery.delivery_id)
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    return Head(
        delivery_id=row[0],
        webhook_id=webhook_id,
        url=row[1],
        secret=row[2],
        event_id=row[3],
        topic=row[4],
        occurred_at=row[5],
        data=row[6],
        attempts=row[7],
        due=bool(row[8]),
    )


async def record_delivered(session: AsyncSession, delivery_id: int, status_code: int) -> bool:
    """Mark a pending delivery delivered (and count it). False if it was no longer pending
    (deleted meanwhile). The caller commits."""
    done = await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.delivery_id == delivery_id, WebhookDelivery.status == PENDING)
        .values(
            status=DELIVERED,
            attempts=WebhookDelivery.attempts + 1,
            last_status_code=status_code,
            last_error=None,
            delivered_at=func.now(),
        )
        .returning(WebhookDelivery.delivery_id)
    )
    if done.first() is None:
        return False
    await _count(session, DELIVERED)
    return True


_FAIL = text(
    """
    UPDATE webhook_deliveries
    SET attempts = attempts + 1,
        last_status_code = :code,
        last_error = :error,
        status = CASE WHEN now() + make_interval(secs => :delay)
                           > created_at + make_interval(secs => :window)
                      THEN 'failed' ELSE 'pending' END,
        next_attempt_at = now() + make_interval(secs => :delay)
    WHERE delivery_id = :id AND status = 'pending'
    RETURNING status
    """
)


async def record_failure(
    session: AsyncSession,
    delivery_id: int,
    *,
    status_code: int | None,
    error: str,
    delay: float,
    window: float,
) -> str | None:
    """Record a failed attempt: retry after ``delay`` seconds, or fail the delivery for good
    when that retry would fall outside ``window`` seconds from the row's creation.

    Returns the new status (``pending`` or ``failed``), None if it was no longer pending.
    The caller commits.
    """
    done = await session.execute(
        _FAIL,
        {
            "code": status_code,
            "error": error[:1000],
            "delay": delay,
            "window": window,
            "id": delivery_id,
        },
    )
    status = done.scalar()
    if status == FAILED:
        await _count(session, FAILED)
    return status


async def _count(session: AsyncSession, outcome: str) -> None:
    stmt = pg_insert(WebhookDeliveryTotal).values(outcome=outcome, n=1)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[WebhookDeliveryTotal.outcome],
            set_={"n": WebhookDeliveryTotal.n + 1},
        )
    )


async def next_due_in(session: AsyncSession) -> float | None:
    """Seconds until the earliest head of an active subscription is due (0 if one is due
    now), None when nothing is pending."""
    value = await session.scalar(
        text(f"SELECT extract(epoch FROM min(head.next_attempt_at) - now()) {_ACTIVE_HEADS}")
    )
    return None if value is None else max(0.0, float(value))


async def totals(session: AsyncSession) -> dict[str, int]:
    """Finished deliveries per outcome, and the pending ones (counted up to a cap)."""
    rows = await session.execute(select(WebhookDeliveryTotal.outcome, WebhookDeliveryTotal.n))
    result = {DELIVERED: 0, FAILED: 0, **{o: int(n) for o, n in rows.all()}}
    capped = (
        select(WebhookDelivery.delivery_id)
        .where(WebhookDelivery.status == PENDING)
        .limit(PENDING_CAP)
        .subquery()
    )
    result[PENDING] = int(await session.scalar(select(func.count()).select_from(capped)) or 0)
    return result
