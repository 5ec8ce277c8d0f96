"""Ops: stuck orders, accuracy, health, analytics windows, the dev mailbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

# --- ops ----------------------------------------------------------------------------------


class StuckOrder(BaseModel):
    order_id: str
    status: str
    stuck_since: datetime
    reason: str | None
    #: ``sla`` (the order's own step timer) or ``watchdog`` (failing activities or
    #: workflow tasks, no progress: docs/decisions/0010), and what the watchdog saw.
    source: str = "sla"
    detail: str | None = None


class AccuracyRow(BaseModel):
    group: str | None
    scans: int
    rejected: int
    accuracy: float
    #: Shipments shipped in the window, those with no refused scan and no weight
    #: mismatch, and their ratio (fulfillment accuracy); null per station.
    shipped: int | None = None
    shipped_clean: int | None = None
    fulfillment_accuracy: float | None = None


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)


# --- analytics ----------------------------------------------------------------------------


class Window(BaseModel):
    since: datetime
    until: datetime


class ErrorsOut(Window):
    rows: list[dict[str, Any]]


class DelayRow(BaseModel):
    group: str | None
    step: str
    count: int
    p50_s: float
    p90_s: float
    p99_s: float
    sla_breaches: int


class DelaysOut(Window):
    rows: list[DelayRow]


class ThroughputRow(BaseModel):
    bucket: datetime
    received: int
    shipped: int
    delivered: int
    cancelled: int


class ThroughputOut(Window):
    rows: list[ThroughputRow]


# --- dev mailbox --------------------------------------------------------------------------


class MailboxEntry(BaseModel):
    """One caught email (one per Message-ID)."""

    id: int
    to: str
    subject: str
    milestone: str | None
    order_id: str | None
    shipment_id: str | None = None
    message_id: str
    at: datetime
    #: How many times the sink received this Message-ID (a resend counts here, not twice).
    copies: int
