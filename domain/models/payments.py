"""The payment activity's request and answer: capture, refund or void, once per key."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel


class PaymentRequest(BaseModel):
    order_id: str
    amount: Decimal
    currency: str
    idempotency_key: str
    kind: str = "capture"  # capture | refund | void


class PaymentResult(BaseModel):
    idempotency_key: str
    status: str  # captured | voided | refunded | declined
    gateway_ref: str | None = None
    detail: str | None = None
