"""The stock truth: levels, adjustments, reservations, backorders, the outbox every stock
change writes in its own transaction, and the stock events ops act on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.tables.base import Base, now_column


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
    updated_at: Mapped[datetime] = now_column()


class InventoryAdjustment(Base):
    __tablename__ = "inventory_adjustments"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    warehouse: Mapped[str] = mapped_column(String(32))
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = now_column()


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
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()


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
    created_at: Mapped[datetime] = now_column()
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
    created_at: Mapped[datetime] = now_column()


class StockEvent(Base):
    """Stock happenings ops act on: ``low_stock`` when a SKU falls under its threshold,
    ``restocked`` when it comes back above."""

    __tablename__ = "stock_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = now_column()
