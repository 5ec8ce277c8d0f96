"""Sales channels: what they are, how far each has been told of stock changes, what it
accepted last, and the ledger of writes back to them (fulfillments, holds, cancellations).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from store.tables.base import Base, now_column


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
    created_at: Mapped[datetime] = now_column()


class ChannelCursor(Base):
    """How far in the outbox (``(txid, id)`` order) a channel has been brought up to date."""

    __tablename__ = "channel_cursors"
    channel: Mapped[str] = mapped_column(ForeignKey("channels.code"), primary_key=True)
    last_txid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = now_column()


class OutboxCursor(Base):
    """The outbox position of a reader that is not a channel (the low-stock watch)."""

    __tablename__ = "outbox_cursors"
    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_txid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = now_column()


class ChannelPush(Base):
    """The last quantity a channel accepted for a SKU (skips pushes that change nothing)."""

    __tablename__ = "channel_pushes"
    channel: Mapped[str] = mapped_column(ForeignKey("channels.code"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    available: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    pushed_at: Mapped[datetime] = now_column()


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
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()
