"""A customer email a workflow decided to send: an activity's input, and a ledger row written
with the move that decided it (docs/decisions/0002-notifications-with-the-move.md).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class NotifyRequest(BaseModel):
    """A customer email the workflow decided to send: once per ``idempotency_key``, one per
    (order, shipment, milestone). ``shipment_id`` names the shipment of a shipment
    milestone (None: an order milestone, or a workflow generation that did not say)."""

    order_id: str
    email: str
    milestone: str
    idempotency_key: str
    detail: dict[str, object] = Field(default_factory=dict)
    shipment_id: str | None = None
