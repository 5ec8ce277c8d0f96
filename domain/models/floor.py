"""What people on the warehouse floor send a shipment (scans, pack, packaging check, label
retry, move, reject) and what it answers.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from domain.models.projection import ProjectShipmentInput
from domain.models.views import ShipmentView, Tracking
from domain.status import LabelStatus, ShippingMethod


class ScanInput(BaseModel):
    """A pick scan, already resolved from barcode to SKU by the API."""

    scan_id: str
    sku: str
    quantity: int = Field(default=1, gt=0)
    barcode: str = ""
    station: str | None = None
    lot: str | None = None  # GS1 AI (10)
    serial: str | None = None  # GS1 AI (21): each serial may be picked once
    stage: Literal["pick", "pack"] = "pick"  # "pack": the pack station's verification scan


class ScanResult(BaseModel):
    accepted: bool
    sku: str
    picked: int  # of this SKU so far
    remaining: int  # of this SKU still to pick
    shipment_remaining: int = 0  # units still to pick (or, at the pack stage, to verify)
    stage: Literal["pick", "pack"] = "pick"
    #: The shipment's row after this scan, for the API to write with the scan's own record
    #: (read-your-writes for the person scanning); None from workflows of older generations.
    record: ProjectShipmentInput | None = None


class FloorAnswer(BaseModel):
    """What an Update that moves the floor (packaging check, move, reject) answers: the
    shipment as the person sees it, and its row for the API to write before replying."""

    view: ShipmentView
    record: ProjectShipmentInput | None = None


class PackInput(BaseModel):
    weight_grams: int = Field(gt=0)
    package: str | None = None


class PackResult(BaseModel):
    """The pack's answer. Generation 9 answers once the parcel is recorded, with the label
    ``pending`` (and the shipment's row for the API to write); earlier generations waited
    for the label and always answered ``ready``."""

    label_status: LabelStatus = LabelStatus.READY
    tracking: Tracking | None = None
    label_url: str | None = None
    record: ProjectShipmentInput | None = None


class LabelRetryInput(BaseModel):
    """Ops asks for the label again now (resetting the carrier back-off), optionally with
    another service level."""

    service_level: ShippingMethod | None = None
    actor: str | None = None


class PackagingCheckInput(BaseModel):
    """The packer confirms protective packaging (fragile items)."""

    note: str | None = None
    actor: str | None = None


class MoveInput(BaseModel):
    """Ops moves an open shipment to another warehouse."""

    warehouse: str
    reason: str = "moved by ops"


class RejectInput(BaseModel):
    """A warehouse gives a shipment back; ``sku`` names the item found missing."""

    reason: str
    sku: str | None = None
    actor: str | None = None
