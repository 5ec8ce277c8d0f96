"""Ledgers of outside effects, which make each happen once: payments, labels, carrier
events, customer notifications (and their tracking tokens, and the dev mailbox).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.tables.base import Base, now_column


class PaymentLedger(Base):
    """One row per payment operation; the idempotency key makes each happen once."""

    __tablename__ = "payment_ledger"
    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(80), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # capture | void | refund
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))  # pending | succeeded | declined
    gateway_ref: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()


class LabelLedger(Base):
    __tablename__ = "labels"
    shipment_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(80), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    carrier: Mapped[str] = mapped_column(String(32))
    tracking_number: Mapped[str] = mapped_column(String(64), unique=True)
    tracking_url: Mapped[str] = mapped_column(Text)
    label_url: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="purchased")  # purchased|voided
    created_at: Mapped[datetime] = now_column()
    # The label as bought (migration 0008; NULL for labels bought before): what was printed
    # on it, and the printable label itself, served by GET /api/v1/shipments/{id}/label.
    # The bytes are deferred: only the label endpoint loads them.
    service_level: Mapped[str | None] = mapped_column(String(16))
    weight_grams: Mapped[int | None] = mapped_column(Integer)
    ship_from: Mapped[dict[str, Any] | None] = mapped_column()
    ship_to: Mapped[dict[str, Any] | None] = mapped_column()
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    zpl: Mapped[str | None] = mapped_column(Text, deferred=True)

    __table_args__ = (Index("ix_labels_created_at", "created_at"),)


class CarrierEvent(Base):
    """Every tracking event a carrier posted, once: by ``(carrier, event_id)`` or, without
    an id, by ``(tracking_number, status, occurred_at)`` (partial unique indexes)."""

    __tablename__ = "carrier_events"
    __table_args__ = (
        Index(
            "uq_carrier_event_id",
            "carrier",
            "event_id",
            unique=True,
            postgresql_where=text("event_id IS NOT NULL"),
        ),
        Index(
            "uq_carrier_event_natural",
            "tracking_number",
            "status",
            "occurred_at",
            unique=True,
            postgresql_where=text("event_id IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    carrier: Mapped[str] = mapped_column(String(32))
    tracking_number: Mapped[str] = mapped_column(String(64), index=True)
    shipment_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    detail: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = now_column()
    event_id: Mapped[str | None] = mapped_column(String(128))
    location: Mapped[str | None] = mapped_column(Text)
    #: Set once the shipment's workflow was signalled (None: stored, not heard yet).
    signalled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Notification(Base):
    """A customer email, once per (order, shipment, milestone): the key. Written pending in
    the transaction of the move that decides it; the worker's sender mails it (migration
    0009, docs/decisions/0006-customer-emails-outbox.md)."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="ck_notifications_status"),
        Index(
            "ix_notifications_due", "next_attempt_at", postgresql_where=text("status = 'pending'")
        ),
    )
    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(80), index=True)
    shipment_id: Mapped[str | None] = mapped_column(String(100))
    milestone: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(320))
    detail: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"), default=dict)
    status: Mapped[str] = mapped_column(String(16), server_default="pending", default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    next_attempt_at: Mapped[datetime] = now_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    #: Set at the first attempt from the key, kept for every later one: a resend after a
    #: lost acknowledgement carries the same Message-ID.
    message_id: Mapped[str | None] = mapped_column(String(250))
    recorded_at: Mapped[datetime] = now_column()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TrackingToken(Base):
    """The unguessable token of an order's customer tracking page (``/track/{token}``)."""

    __tablename__ = "tracking_tokens"
    order_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = now_column()


class DevMailboxMessage(Base):
    """What the ``oms dev`` SMTP sink caught: one row per Message-ID, resends counted."""

    __tablename__ = "dev_mailbox"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    mail_from: Mapped[str] = mapped_column(Text)
    rcpt_to: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    milestone: Mapped[str | None] = mapped_column(String(32))
    order_id: Mapped[str | None] = mapped_column(String(80))
    shipment_id: Mapped[str | None] = mapped_column(String(100))
    raw: Mapped[str] = mapped_column(Text)
    copies: Mapped[int] = mapped_column(Integer, server_default="1", default=1)
    first_at: Mapped[datetime] = now_column()
    last_at: Mapped[datetime] = now_column()
