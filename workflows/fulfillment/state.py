"""The shipment's state, grouped in one dataclass: what ``FulfillmentWorkflow`` knows.

The workflow holds one ``ShipmentState``; the modules beside it (scans, packing, label,
tracking, moves) read and change it through plain functions, so the state a handler
touches is named in one place rather than scattered over a class's attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.models import (
    Address,
    FulfillmentInput,
    LabelRetryInput,
    NotifyRequest,
    OrderEvent,
    PackInput,
    PackResult,
    RejectInput,
    ScanResult,
    ShipmentLine,
    StuckInfo,
    Tracking,
    TrackingEvent,
)
from domain.status import LabelStatus, ShipmentStatus, ShippingMethod
from workflows import patches


@dataclass
class ShipmentState:
    input: FulfillmentInput
    #: Where the shipment ships from; ops may move it before picking starts.
    warehouse: str
    #: Where it goes; Shopify may correct it before picking starts (generation 10).
    address: Address
    #: The order is on hold: no scans or packing until it is released.
    held: bool
    lines: dict[str, ShipmentLine]
    #: The service the label is bought for; ops may change it while it is pending.
    service_level: ShippingMethod
    #: Generation 8 on: floor moves go to the read model with each Update's answer.
    floor_in_read_model: bool
    #: Generation 9 (workflows/patches.py): the pack answers before the label.
    pack_first: bool
    status: ShipmentStatus = ShipmentStatus.OPEN
    moving: bool = False
    rejected: RejectInput | None = None
    packaging_checked: bool = False
    scans: dict[str, ScanResult] = field(default_factory=dict)
    serials: set[tuple[str, str]] = field(default_factory=set)  # (sku, GS1 serial) picked
    pack_request: PackInput | None = None
    pack_result: PackResult | None = None
    tracking: Tracking | None = None
    label_url: str | None = None
    cancel_reason: str | None = None
    #: Past the point of no return (label bought, stock being committed): the parcel ships.
    shipping: bool = False
    tracking_inbox: list[TrackingEvent] = field(default_factory=list)
    version: int = 1  # the projection's version: each write carries a higher one
    event_seq: int = 0
    pending_events: list[OrderEvent] = field(default_factory=list)
    #: Floor step → when this shipment finished it (read by the order's SLA watchdog).
    steps_done: dict[str, datetime] = field(default_factory=dict)
    #: Floor steps the order is waiting to hear about (it marked itself stuck on them).
    watched: set[str] = field(default_factory=set)
    #: Customer notifications decided and not yet written (with the next own write).
    pending_notifications: list[NotifyRequest] = field(default_factory=list)
    label_status: LabelStatus | None = None
    label_keys: list[str] = field(default_factory=list)
    #: Ops asked to buy the label again now (or with another service).
    label_retry: LabelRetryInput | None = None
    #: The shipment's own stuck mark (carrier trouble); the order shows it too.
    stuck: StuckInfo | None = None
    #: When the last tracking event applied happened, and when news last came.
    tracking_latest: datetime | None = None
    last_news: datetime | None = None
    seen_events: set[str] = field(default_factory=set)
    silent: bool = False
    #: Generation 10: channel edits (their keys) already taken off this shipment.
    edits_applied: set[str] = field(default_factory=set)

    @classmethod
    def start(cls, shipment: FulfillmentInput) -> ShipmentState:
        return cls(
            input=shipment,
            warehouse=shipment.warehouse,
            address=shipment.address,
            held=shipment.held,
            lines={line.sku: line.model_copy() for line in shipment.lines},
            service_level=shipment.shipping_method,
            floor_in_read_model=shipment.generation >= patches.FLOOR_GENERATION,
            pack_first=shipment.generation >= patches.GENERATION_9.since,
        )

    def patched(self, patch: patches.Patch) -> bool:
        return patches.in_force(self.input.generation, patch)

    def picked_units(self) -> int:
        return sum(line.picked for line in self.lines.values())

    def remaining(self) -> int:
        return sum(line.quantity - line.picked for line in self.lines.values())

    def stopped(self) -> bool:
        return self.cancel_reason is not None or self.rejected is not None

    def picking_started(self) -> bool:
        """Too late to change where it ships from or what it holds: stopped, scanned,
        being moved or packed."""
        return (
            self.stopped()
            or self.status != ShipmentStatus.OPEN
            or bool(self.picked_units())
            or self.moving
            or self.pack_request is not None
        )

    def floor_open(self) -> bool:
        """Scans and packing are taken: open or picking, nothing stopped it."""
        return not self.stopped() and self.status in (ShipmentStatus.OPEN, ShipmentStatus.PICKING)
