"""What order intake reads and records: the rule sets in force (routing, tags), one intake
record per order, and the webhook receipts that make a repeated delivery harmless.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.tables.base import Base, now_column


class RuleSet(Base):
    """A version of a rule set (``routing`` or ``tags``); the highest version is in force.

    Versions are never edited, so every decision can name the rules that made it.
    """

    __tablename__ = "rule_sets"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    rules: Mapped[list[Any]] = mapped_column()
    actor: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = now_column()


class OrderIntake(Base):
    """One row per order ever accepted: maps channel ids and idempotency keys to order ids."""

    __tablename__ = "order_intake"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_intake_channel_ext"),)
    order_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = now_column()


class WebhookReceipt(Base):
    __tablename__ = "webhook_receipts"
    webhook_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    topic: Mapped[str] = mapped_column(String(64))
    shop: Mapped[str | None] = mapped_column(String(200))
    order_id: Mapped[str | None] = mapped_column(String(80))
    received_at: Mapped[datetime] = now_column()
