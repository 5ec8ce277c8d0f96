"""The read model the dashboard and API list from (orders, shipments, their events and
counts), written only by activities, and the floor's append-only logs.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.tables.base import Base, now_column


class OrderRow(Base):
    """The dashboard's order list. Written by activities only, guarded by ``version``."""

    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_created_keyset", "created_at", "order_id"),
        Index("ix_orders_status", "status"),
        Index("ix_orders_tags", "tags", postgresql_using="gin"),
        Index("ix_orders_status_keyset", "status", "created_at", "order_id"),
        Index("ix_orders_priority_keyset", "priority", "created_at", "order_id"),
        Index("ix_orders_stuck", "updated_at", postgresql_where=text("stuck")),
        Index("ix_orders_stream_seq", "stream_seq"),
        # ix_orders_search (pg_trgm GIN over store.orders.SEARCH_SQL) and ix_orders_line_skus
        # (GIN over summary -> 'lines') live in migration 0005: expression indexes.
    )
    order_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(32))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    warehouses: Mapped[list[Any]] = mapped_column(default=list)
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    stuck: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Stamped from ``order_stream_seq`` by a trigger on every write: the live stream's
    #: event id, so ``Last-Event-ID`` resumes by reading the rows written since.
    stream_seq: Mapped[int | None] = mapped_column(BigInteger)


class ShipmentRow(Base):
    __tablename__ = "shipments"
    __table_args__ = (
        Index("ix_shipments_wh_status", "warehouse", "status"),
        Index("ix_shipments_tracking_number", "tracking_number"),
        Index(
            "ix_shipments_stuck", "stuck_since", postgresql_where=text("stuck_reason IS NOT NULL")
        ),
    )
    shipment_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[int] = mapped_column(Integer)
    warehouse: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    lines: Mapped[list[Any]] = mapped_column()
    carrier: Mapped[str | None] = mapped_column(String(32))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    tracking_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Floor step → when this shipment finished it (migration 0006).
    steps_done: Mapped[dict[str, Any]] = mapped_column(
        server_default=text("'{}'::jsonb"), default=dict
    )
    #: pending / ready / voided (domain.status.LabelStatus); None before the pack.
    label_status: Mapped[str | None] = mapped_column(String(16))
    #: Failed purchase attempts so far and the last error: written by the label activity
    #: itself (not versioned), so the pack answer and ops see a failing carrier at once.
    label_attempts: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    label_error: Mapped[str | None] = mapped_column(Text)
    #: The shipment's own stuck mark (domain.status.StuckReason), migration 0007.
    stuck_reason: Mapped[str | None] = mapped_column(String(32))
    stuck_detail: Mapped[str | None] = mapped_column(Text)
    stuck_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OrderEventRow(Base):
    __tablename__ = "order_events"
    __table_args__ = (UniqueConstraint("order_id", "event_key", name="uq_order_event_key"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(80), index=True)
    event_key: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    type: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OrderStatusCount(Base):
    """Orders per status, kept by a trigger on ``orders`` (16 shards per status, so
    concurrent writers rarely queue on one row); the dashboard's tab counts sum them."""

    __tablename__ = "order_status_counts"
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    shard_no: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class ScanEvent(Base):
    """Every scan attempt, accepted or refused; one row per (shipment, scan_id)."""

    __tablename__ = "scan_events"
    __table_args__ = (
        UniqueConstraint("shipment_id", "scan_id", name="uq_scan_event"),
        # "Was this serial already picked anywhere?" is asked on every serialised scan.
        Index(
            "ix_scan_events_serial",
            "sku",
            "serial",
            postgresql_where=text("accepted AND serial IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    #: Looked up through ``uq_scan_event`` (it leads with shipment_id): no index of its own.
    shipment_id: Mapped[str] = mapped_column(String(100))
    order_id: Mapped[str | None] = mapped_column(String(80))
    warehouse: Mapped[str] = mapped_column(String(32))
    scan_id: Mapped[str] = mapped_column(String(100))
    station: Mapped[str | None] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(8), default="pick", server_default="pick")
    key_id: Mapped[str | None] = mapped_column(String(32))
    barcode: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str | None] = mapped_column(String(64))
    lot: Mapped[str | None] = mapped_column(String(20))
    serial: Mapped[str | None] = mapped_column(String(20))
    expiry: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    accepted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(32))
    response: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = now_column()
    #: The order's template, set and kept by migration 0014's triggers (analytics groups
    #: scans by it without a join to ``orders``).
    template: Mapped[str] = mapped_column(Text, server_default="default")


class PackRefusalRow(Base):
    """A refused pack (migration 0012): the refused Update leaves no trace in the
    workflow's history, and analytics counts these beside refused scans."""

    __tablename__ = "pack_refusals"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    shipment_id: Mapped[str] = mapped_column(String(100), index=True)
    order_id: Mapped[str | None] = mapped_column(String(80))
    warehouse: Mapped[str] = mapped_column(String(32))
    station: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    weight_grams: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = now_column()


class WatchdogMark(Base):
    """An order the stuck-order watchdog found stuck for a reason no SLA timer sees
    (failing activities or workflow tasks, no progress); deleted when the order moves.
    Apart from ``orders``, whose rows only the order's workflow writes."""

    __tablename__ = "watchdog_marks"
    order_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
