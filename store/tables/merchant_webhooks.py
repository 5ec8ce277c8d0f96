"""Merchant webhooks out (migration 0010, docs/decisions/0007): subscriptions, the events
the read model's triggers write, and the delivery queue with its totals.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from store.tables.base import Base, now_column


class WebhookSubscription(Base):
    """A merchant's endpoint and the topics it wants. ``secret`` signs every delivery (it
    is shown once, at creation). Deleting sets ``active`` false: its history stays
    readable in Postgres, the API treats it as gone."""

    __tablename__ = "webhook_subscriptions"
    webhook_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    topics: Mapped[list[str]] = mapped_column(ARRAY(Text))
    secret: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = now_column()
    #: A dispatcher works a subscription's queue alone until then (several worker
    #: processes may run a dispatcher; one delivery at a time keeps the order).
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookEvent(Base):
    """One change of the read model a merchant may hear about, written by the triggers of
    migration 0010 in the transaction of the write, only when some subscription wants it."""

    __tablename__ = "webhook_events"
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    topic: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = now_column()


class WebhookDelivery(Base):
    """One event for one subscription: the queue (``pending`` rows in ``delivery_id``
    order, head first) and its record (attempts, last answer). A redelivery is a new row
    (``redelivery_of`` the original) at the back of the queue."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_list", "webhook_id", "delivery_id"),
        Index(
            "ix_webhook_deliveries_pending",
            "webhook_id",
            "delivery_id",
            postgresql_where=text("status = 'pending'"),
        ),
        CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name="ck_webhook_delivery_status"
        ),
    )
    delivery_id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("webhook_subscriptions.webhook_id")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("webhook_events.event_id"), index=True
    )
    topic: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = now_column()
    #: The retry window is counted from here (the row's creation).
    created_at: Mapped[datetime] = now_column()
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    redelivery_of: Mapped[int | None] = mapped_column(BigInteger)


class WebhookDeliveryTotal(Base):
    """Deliveries finished per outcome (``delivered``/``failed``), counted by the
    dispatcher with the row it finishes: the Prometheus counters read these two rows
    instead of counting a table that only grows."""

    __tablename__ = "webhook_delivery_totals"
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, server_default="0")
