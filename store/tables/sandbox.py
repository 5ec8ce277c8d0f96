"""The sandbox world's own memory: what sandbox channels received, what the sandbox payment
gateway and carrier remember, and the sandbox Shopify store's orders.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.tables.base import Base, now_column


class SandboxChannelReceipt(Base):
    """What a sandbox sales channel received: one row per distinct idempotency key."""

    __tablename__ = "sandbox_channel_receipts"
    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    available: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = now_column()


class SandboxOperation(Base):
    """What the sandbox payment gateway / carrier "remember", as a remote service would:
    a repeated idempotency key returns the first result instead of acting twice."""

    __tablename__ = "sandbox_operations"
    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    service: Mapped[str] = mapped_column(String(16))  # payments | carrier
    kind: Mapped[str] = mapped_column(String(16))
    result: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = now_column()


class SandboxShopifyOrder(Base):
    """An order of a sandbox Shopify store (``/sandbox/shopify/{shop}``): its REST body
    and, in ``doc``, what the GraphQL Admin API shows of it (fulfillment orders, holds,
    fulfillments and their events, cancellation). One row per order, updated under a row
    lock, so concurrent mutations see each other as Shopify's would."""

    __tablename__ = "sandbox_shopify_orders"
    shop: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    doc: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = now_column()
