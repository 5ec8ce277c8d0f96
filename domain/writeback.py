"""Write-back to the sales channel: what a workflow asks the channel to record, and why.

A workflow decides each write (a fulfillment for a shipment, a tracking milestone, a hold,
its release, the cancellation) with a key made from what it is about, so the write and
its ledger row (``channel_writebacks``) are the same thing however often the activity runs
(docs/decisions/0009-shopify-write-back.md). Pure data: workflows import it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.models import Tracking
from domain.status import HoldReason, TrackingStatus


class WritebackKind(StrEnum):
    FULFILLMENT = "fulfillment"
    FULFILLMENT_EVENT = "fulfillment_event"
    HOLD = "hold"
    RELEASE = "release"
    CANCEL = "cancel"


class WritebackError(StrEnum):
    """Machine reasons of a refused write-back (``ApplicationError.type`` is
    ``WritebackRejected``; the reason leads its message)."""

    USER_ERROR = "user_error"  # the channel's userErrors: the request can never succeed
    NOT_FOUND = "not_found"  # the order (or fulfillment) does not exist in the channel
    NO_LINES = "no_lines"  # the channel has no open fulfillment-order line for a SKU
    CHANNEL_GONE = "channel_gone"  # the channel was removed or deactivated
    UNAUTHORIZED = "unauthorized"  # 401/403: token or scopes


#: ``ApplicationError.type`` of a write the channel refused; never retried.
WRITEBACK_REJECTED = "WritebackRejected"

#: Carrier milestones mirrored as fulfillment events (Shopify's FulfillmentEventStatus).
EVENT_STATUSES: dict[TrackingStatus, str] = {
    TrackingStatus.CARRIER_PICKED_UP: "CARRIER_PICKED_UP",
    TrackingStatus.IN_TRANSIT: "IN_TRANSIT",
    TrackingStatus.OUT_FOR_DELIVERY: "OUT_FOR_DELIVERY",
    TrackingStatus.ATTEMPTED_DELIVERY: "ATTEMPTED_DELIVERY",
    TrackingStatus.DELAYED: "DELAYED",
    TrackingStatus.DELIVERED: "DELIVERED",
    TrackingStatus.FAILURE: "FAILURE",
}

#: Shopify's ``OrderCancelReason`` values.
CANCEL_REASONS = ("CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF")


class WritebackLine(BaseModel):
    sku: str
    quantity: int = Field(gt=0)


class WritebackRequest(BaseModel):
    """One write to the channel. ``key`` is the ledger key: the same key is one write."""

    key: str
    kind: WritebackKind
    channel: str
    order_id: str
    #: The order's id in the channel (Shopify's numeric order id).
    external_id: str
    shipment_id: str | None = None
    lines: list[WritebackLine] = Field(default_factory=list)
    tracking: Tracking | None = None
    #: FULFILLMENT_EVENT: the key of the shipment's fulfillment write, its Shopify status
    #: (``IN_TRANSIT``...) and when the carrier saw it.
    fulfillment_key: str | None = None
    event_status: str | None = None
    happened_at: datetime | None = None
    message: str | None = None
    #: HOLD / RELEASE: our hold (its id is the Shopify hold's ``handle``).
    hold_id: str | None = None
    hold_reason: HoldReason | None = None
    note: str | None = None
    #: CANCEL: Shopify's OrderCancelReason and the flags of the cancellation.
    cancel_reason: str = "OTHER"
    refund: bool = False
    restock: bool = True


class WritebackResult(BaseModel):
    key: str
    #: What the channel calls the thing written (a fulfillment's gid...), when it has one.
    remote_id: str | None = None
    #: True: the channel already had it (found by the check, or in the ledger).
    existing: bool = False
    #: Nothing to write (e.g. no open fulfillment order left to hold).
    skipped: bool = False
    detail: str | None = None


def cancel_reason_code(reason: str) -> str:
    """Our free-text cancel reason → Shopify's ``OrderCancelReason`` (OTHER unless the text
    names one: "fraud", "customer", "inventory"/"stock", "declined", "staff")."""
    text = reason.lower()
    for code, words in (
        ("FRAUD", ("fraud",)),
        ("DECLINED", ("declin",)),
        ("INVENTORY", ("inventory", "stock")),
        ("CUSTOMER", ("customer",)),
        ("STAFF", ("staff", "mistake")),
    ):
        if any(w in text for w in words):
            return code
    return "OTHER"


def fulfillment_key(order_id: str, shipment_id: str) -> str:
    return f"{order_id}:fulfillment:{shipment_id}"
