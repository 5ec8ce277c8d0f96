"""The database schema as SQLAlchemy 2 declarative models.

Postgres owns the stock truth (levels + reservations), catalog, keys, ledgers that make
outside effects happen once, the read model the dashboard lists from, and append-only logs.
Changes go through Alembic revisions in ``store/migrations``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSONB, list[Any]: JSONB}


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


# --- catalog and stock -----------------------------------------------------------------


class Warehouse(Base):
    __tablename__ = "warehouses"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country_code: Mapped[str] = mapped_column(String(2))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    daily_capacity: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: IANA zone the warehouse's day and carrier cut-off are counted in.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    #: Local "HH:MM" after which express/overnight parcels miss today's carrier pickup.
    carrier_cutoff: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = _now()


class WarehouseDailyLoad(Base):
    """Shipments a warehouse accepted on one local day; the capacity rule's counter.

    Incremented in the reservation's transaction with a predicate against the capacity, so
    two concurrent allocations cannot both take the last slot.
    """

    __tablename__ = "warehouse_daily_load"
    warehouse: Mapped[str] = mapped_column(ForeignKey("warehouses.code"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    shipments: Mapped[int] = mapped_column(Integer, default=0)


class Product(Base):
    __tablename__ = "products"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    weight_grams: Mapped[int] = mapped_column(Integer)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    #: Below this many units available (all warehouses), a ``low_stock`` event is raised.
    low_stock_threshold: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = _now()


class ProductBarcode(Base):
    """A barcode (normalised to GTIN-14) is unique across the catalog."""

    __tablename__ = "product_barcodes"
    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku", ondelete="CASCADE"), index=True)
    multiplier: Mapped[int] = mapped_column(Integer, default=1)


class InventoryLevel(Base):
    __tablename__ = "inventory_levels"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
    )
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    warehouse: Mapped[str] = mapped_column(ForeignKey("warehouses.code"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = _now()


class InventoryAdjustment(Base):
    __tablename__ = "inventory_adjustments"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    warehouse: Mapped[str] = mapped_column(String(32))
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _now()


class Reservation(Base):
    """Units held for a shipment line; every reserved unit is accounted for by a row."""

    __tablename__ = "reservations"
    __table_args__ = (UniqueConstraint("shipment_id", "sku", name="uq_reservation_line"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(80), index=True)
    shipment_id: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str] = mapped_column(String(64))
    warehouse: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(
        String(16), default="reserved"
    )  # reserved|committed|released
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class Backorder(Base):
    """An order waiting for stock; adjustments wake waiters in arrival order.

    ``quantities`` is the claim the order has on incoming stock: a later order may only use
    what is left after every earlier open backorder's claim, which is what makes arrival
    order hold when several waiters are woken at once.
    """

    __tablename__ = "backorders"
    order_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    skus: Mapped[list[Any]] = mapped_column()
    quantities: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    created_at: Mapped[datetime] = _now()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


#: The writing transaction's id (xid8 as bigint): the outbox's read order.
OUTBOX_TXID_DEFAULT = text("(pg_current_xact_id())::text::bigint")


class InventoryOutbox(Base):
    """One row per stock change, written in the change's own transaction.

    Channel sync workflows read it, each from its own cursor, and push the SKU's current
    available quantity; a crash between the stock change and the push can therefore delay
    a channel update but never lose it.

    Readers go in ``(txid, id)`` order and only take rows whose transaction is older than
    every transaction still running (``pg_snapshot_xmin``). Ids alone would not do: two
    transactions commit in any order, so a reader that saw id 11 committed could move its
    cursor past id 10 a moment before id 10 commits, and never see it. A transaction still
    running always has a txid at or above the snapshot's xmin, so it sorts after any cursor.
    """

    __tablename__ = "inventory_outbox"
    __table_args__ = (Index("ix_inventory_outbox_txid_id", "txid", "id"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    txid: Mapped[int] = mapped_column(BigInteger, server_default=OUTBOX_TXID_DEFAULT)
    sku: Mapped[str] = mapped_column(String(64))
    warehouse: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = _now()


class Channel(Base):
    """A sales channel that is told how many units of each SKU it may sell."""

    __tablename__ = "channels"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # shopify | sandbox
    #: Units held back from this channel per SKU, so a slow channel cannot oversell.
    safety_buffer: Mapped[int] = mapped_column(Integer, default=0)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _now()


class ChannelCursor(Base):
    """How far in the outbox (``(txid, id)`` order) a channel has been brought up to date."""

    __tablename__ = "channel_cursors"
    channel: Mapped[str] = mapped_column(ForeignKey("channels.code"), primary_key=True)
    last_txid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = _now()


class OutboxCursor(Base):
    """The outbox position of a reader that is not a channel (the low-stock watch)."""

    __tablename__ = "outbox_cursors"
    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_txid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = _now()


class ChannelPush(Base):
    """The last quantity a channel accepted for a SKU (skips pushes that change nothing)."""

    __tablename__ = "channel_pushes"
    channel: Mapped[str] = mapped_column(ForeignKey("channels.code"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    available: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    pushed_at: Mapped[datetime] = _now()


class StockEvent(Base):
    """Stock happenings ops act on: ``low_stock`` when a SKU falls under its threshold,
    ``restocked`` when it comes back above."""

    __tablename__ = "stock_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _now()


# --- rules -------------------------------------------------------------------------------


class RuleSet(Base):
    """A version of a rule set (``routing`` or ``tags``); the highest version is in force.

    Versions are never edited, so every decision can name the rules that made it.
    """

    __tablename__ = "rule_sets"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    rules: Mapped[list[Any]] = mapped_column()
    actor: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _now()


# --- access and intake -----------------------------------------------------------------


class ApiKey(Base):
    __tablename__ = "api_keys"
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    warehouse: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = _now()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DashboardSession(Base):
    """A signed-in browser. The cookie carries a signed random id whose hash is the key
    here, never the API key; deleting the row (sign out) ends it on every API process."""

    __tablename__ = "dashboard_sessions"
    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SavedView(Base):
    """A named filter set of one key; ``shared`` (admins only) shows it to every key."""

    __tablename__ = "saved_views"
    view_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(100))
    filters: Mapped[dict[str, Any]] = mapped_column()
    shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = _now()


class OrderIntake(Base):
    """One row per order ever accepted: maps channel ids and idempotency keys to order ids."""

    __tablename__ = "order_intake"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_intake_channel_ext"),)
    order_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _now()


class WebhookReceipt(Base):
    __tablename__ = "webhook_receipts"
    webhook_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    topic: Mapped[str] = mapped_column(String(64))
    shop: Mapped[str | None] = mapped_column(String(200))
    order_id: Mapped[str | None] = mapped_column(String(80))
    received_at: Mapped[datetime] = _now()


# --- read model and logs ---------------------------------------------------------------


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
    created_at: Mapped[datetime] = _now()
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
    created_at: Mapped[datetime] = _now()
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
    created_at: Mapped[datetime] = _now()


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


# --- ledgers of outside effects --------------------------------------------------------


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
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


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
    created_at: Mapped[datetime] = _now()
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
    received_at: Mapped[datetime] = _now()
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
    next_attempt_at: Mapped[datetime] = _now()
    last_error: Mapped[str | None] = mapped_column(Text)
    #: Set at the first attempt from the key, kept for every later one: a resend after a
    #: lost acknowledgement carries the same Message-ID.
    message_id: Mapped[str | None] = mapped_column(String(250))
    recorded_at: Mapped[datetime] = _now()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TrackingToken(Base):
    """The unguessable token of an order's customer tracking page (``/track/{token}``)."""

    __tablename__ = "tracking_tokens"
    order_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _now()


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
    first_at: Mapped[datetime] = _now()
    last_at: Mapped[datetime] = _now()


# --- merchant webhooks out (migration 0010, docs/decisions/0007) -----------------------


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
    created_at: Mapped[datetime] = _now()
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
    created_at: Mapped[datetime] = _now()


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
    next_attempt_at: Mapped[datetime] = _now()
    #: The retry window is counted from here (the row's creation).
    created_at: Mapped[datetime] = _now()
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    redelivery_of: Mapped[int | None] = mapped_column(BigInteger)


class WebhookDeliveryTotal(Base):
    """Deliveries finished per outcome (``delivered``/``failed``), counted by the
    dispatcher with the row it finishes: the Prometheus counters read these two rows
    instead of counting a table that only grows."""

    __tablename__ = "webhook_delivery_totals"
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, server_default="0")


# --- the sandbox world's own memory ----------------------------------------------------


class SandboxChannelReceipt(Base):
    """What a sandbox sales channel received: one row per distinct idempotency key."""

    __tablename__ = "sandbox_channel_receipts"
    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    available: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = _now()


class SandboxOperation(Base):
    """What the sandbox payment gateway / carrier "remember", as a remote service would:
    a repeated idempotency key returns the first result instead of acting twice."""

    __tablename__ = "sandbox_operations"
    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    service: Mapped[str] = mapped_column(String(16))  # payments | carrier
    kind: Mapped[str] = mapped_column(String(16))
    result: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = _now()


class ChannelWriteback(Base):
    """The write-back ledger: one row per write a workflow asked of a sales channel (a
    fulfillment, a tracking event, a hold, a release, a cancellation), keyed by the key the
    workflow made. ``done`` rows are answered from here on a retry; ``failed`` rows are the
    channel's refusals, for ops (docs/decisions/0009-shopify-write-back.md)."""

    __tablename__ = "channel_writebacks"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[str] = mapped_column(String(80), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # done | failed
    remote_id: Mapped[str | None] = mapped_column(String(200))
    #: True: the channel had it already (found by the check before creating).
    existing: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    request: Mapped[dict[str, Any]] = mapped_column(default=dict)
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class SandboxShopifyOrder(Base):
    """An order of a sandbox Shopify store (``/sandbox/shopify/{shop}``): its REST body
    and, in ``doc``, what the GraphQL Admin API shows of it (fulfillment orders, holds,
    fulfillments and their events, cancellation). One row per order, updated under a row
    lock, so concurrent mutations see each other as Shopify's would."""

    __tablename__ = "sandbox_shopify_orders"
    shop: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    doc: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _now()
