"""The warehouse floor: the work list, scans, packing, labels, moves; carrier events."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from api.bounds import Grams, Sku
from domain.models import ShipmentLine, Tracking
from domain.status import LabelStatus, ShipmentStatus, ShippingMethod, StuckReason, TrackingStatus

# --- warehouse floor ----------------------------------------------------------------------


class WorkItem(BaseModel):
    shipment_id: str
    order_id: str
    warehouse: str
    status: str
    priority: int
    lines: list[ShipmentLine]
    created_at: datetime
    #: ``pending`` between the pack and the label, then ``ready``; None before the pack.
    label_status: LabelStatus | None = None
    #: Why the shipment is stuck (``carrier_unavailable``, ``tracking_stale``,
    #: ``carrier_exception``), or None.
    stuck_reason: StuckReason | None = None


class ShipmentStuck(BaseModel):
    reason: StuckReason
    detail: str | None = None
    since: datetime


class ShipmentDetail(BaseModel):
    """One shipment as the floor and ops read it (``GET /api/v1/shipments/{id}``)."""

    shipment_id: str
    order_id: str
    warehouse: str
    status: ShipmentStatus
    priority: int
    lines: list[ShipmentLine]
    tracking: Tracking | None = None
    label_status: LabelStatus | None = None
    label_url: str | None = None
    #: Failed label purchase attempts so far, and the carrier's last error.
    label_attempts: int = 0
    label_error: str | None = None
    stuck: ShipmentStuck | None = None
    updated_at: datetime


class LabelRetryIn(BaseModel):
    """Ops: buy the pending label again now, optionally with another service level."""

    service_level: ShippingMethod | None = None


class ScanIn(BaseModel):
    barcode: str = Field(min_length=1, max_length=100)
    scan_id: str = Field(min_length=1, max_length=100)
    quantity: int = Field(default=1, gt=0, le=10_000)
    station: str | None = Field(default=None, max_length=64)
    stage: Literal["pick", "pack"] = Field(
        default="pick",
        description="pack: the pack station's re-scan of a picked item (high-value orders)",
    )


class ScanOut(BaseModel):
    """At the pick stage ``picked``/``remaining`` count picks; at the pack stage, re-scans."""

    accepted: Literal[True] = True
    sku: str
    picked: int
    remaining: int
    shipment_remaining: int
    stage: Literal["pick", "pack"] = "pick"


class PackIn(BaseModel):
    weight_grams: Grams
    package: str | None = Field(default=None, max_length=64)
    #: The packing station, for the errors analytics of a refused pack.
    station: str | None = Field(default=None, max_length=64)


class PackOut(BaseModel):
    """200: the label came within ``OMS_PACK_LABEL_WAIT_SECONDS`` (``ready``, with the
    tracking and the label); 202: the parcel is recorded and the label follows
    (``pending``; the shipment shows it when ready)."""

    shipment_id: str
    label_status: LabelStatus
    tracking: Tracking | None = None
    label_url: str | None = None
    #: While pending: the carrier's last error, when an attempt has failed.
    label_error: str | None = None


# --- carriers -----------------------------------------------------------------------------


class CarrierEventIn(BaseModel):
    tracking_number: str = Field(min_length=1, max_length=64)
    status: TrackingStatus
    occurred_at: AwareDatetime
    detail: str | None = Field(default=None, max_length=2000)
    #: The carrier's own id of the event: a repeated delivery is recognised by it.
    event_id: str | None = Field(default=None, min_length=1, max_length=128)
    location: str | None = Field(default=None, max_length=200)


class CarrierAck(BaseModel):
    shipment_id: str
    status: TrackingStatus
    #: The same event was received before: stored once, applied once.
    duplicate: bool = False


# --- moving, rejecting, checking packaging ------------------------------------------------


class MoveIn(BaseModel):
    warehouse: str = Field(min_length=1, max_length=32)
    reason: str = Field(default="moved by ops", max_length=500)


class RejectIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)
    sku: Sku | None = Field(default=None, description="the item found missing on the shelf")


class PackagingCheckIn(BaseModel):
    note: str | None = Field(default=None, max_length=500)
