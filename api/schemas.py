"""Request and response models of the HTTP contract (API.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.bounds import (
    Barcode,
    Grams,
    Latitude,
    LineQuantity,
    Longitude,
    Price,
    Rank,
    Sku,
    Tag,
    Units,
    UnitsDelta,
    WarehouseCode,
    ZoneName,
)
from domain.models import (
    Hold,
    OrderLine,
    RoutingDecision,
    ShipmentLine,
    ShipmentView,
    StepView,
    StuckInfo,
    Tracking,
)
from domain.status import (
    FinancialStatus,
    HoldReason,
    LabelStatus,
    OrderStatus,
    ShipmentStatus,
    ShippingMethod,
    StuckReason,
    TrackingStatus,
)

# --- keys ---------------------------------------------------------------------------------


class KeyCreate(BaseModel):
    role: Literal["admin", "ops", "staff", "integration"]
    warehouse: WarehouseCode | None = None
    name: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _staff_needs_warehouse(self) -> KeyCreate:
        if self.role == "staff" and not self.warehouse:
            raise ValueError("a staff key needs a warehouse")
        return self


class KeyCreated(BaseModel):
    key: str
    key_id: str


class KeyRevoked(BaseModel):
    key_id: str
    revoked: bool = True


# --- catalog ------------------------------------------------------------------------------


class WarehouseIn(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=200)
    country_code: str = Field(min_length=2, max_length=2)
    latitude: Latitude
    longitude: Longitude
    priority: Rank = 100
    daily_capacity: Units | None = None
    active: bool = True
    timezone: ZoneName = Field(default="UTC", description="IANA zone for its day and cut-off")
    carrier_cutoff: str | None = Field(
        default=None,
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="local HH:MM after which express/overnight miss today's pickup",
    )

    @model_validator(mode="after")
    def _known_zone(self) -> WarehouseIn:
        _check_zone(self.timezone)
        return self


def _check_zone(zone: str | None) -> None:
    if zone is None:
        return
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {zone!r}") from exc


class WarehousePatch(BaseModel):
    """Ops tuning a warehouse: what routing reads (rank, capacity, cut-off, active)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    priority: Rank | None = None
    daily_capacity: Units | None = None
    active: bool | None = None
    timezone: ZoneName | None = None
    carrier_cutoff: str | None = Field(default=None, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")

    @model_validator(mode="after")
    def _known_zone(self) -> WarehousePatch:
        _check_zone(self.timezone)
        return self


class WarehouseOut(WarehouseIn):
    model_config = ConfigDict(from_attributes=True)


class PackagingBarcode(BaseModel):
    """A case or inner-pack barcode: one scan of it picks ``quantity`` units."""

    barcode: Barcode
    quantity: int = Field(ge=2, le=100_000)


class ProductIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=300)
    barcodes: list[Barcode] = Field(default_factory=list, max_length=50)
    weight_grams: Grams
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    packaging: list[PackagingBarcode] = Field(default_factory=list, max_length=20)


class ProductOut(BaseModel):
    sku: str
    name: str
    barcodes: list[str]
    weight_grams: int
    tags: list[str]
    packaging: list[PackagingBarcode] = Field(default_factory=list)


class AdjustmentIn(BaseModel):
    sku: Sku
    warehouse: WarehouseCode
    delta: UnitsDelta | None = None
    on_hand: Units | None = None
    reason: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _one_of(self) -> AdjustmentIn:
        if (self.delta is None) == (self.on_hand is None):
            raise ValueError("give exactly one of delta or on_hand")
        return self


class LevelOut(BaseModel):
    sku: str
    warehouse: str
    on_hand: int
    reserved: int
    available: int


# --- intake -------------------------------------------------------------------------------


class AcceptedOrder(BaseModel):
    order_id: str


class AddressIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    address1: str = Field(min_length=1, max_length=200)
    address2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    province_code: str | None = Field(default=None, max_length=10)
    zip: str = Field(max_length=20)
    country_code: str = Field(min_length=2, max_length=2)
    phone: str | None = Field(default=None, max_length=40)
    latitude: Latitude | None = None
    longitude: Longitude | None = None


class LineIn(BaseModel):
    sku: Sku
    quantity: LineQuantity
    unit_price: Price


class OrderIn(BaseModel):
    external_id: str = Field(min_length=1, max_length=64)
    channel: str = Field(min_length=1, max_length=40)
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    customer_name: str | None = Field(default=None, max_length=200)
    shipping_address: AddressIn
    shipping_method: ShippingMethod = ShippingMethod.STANDARD
    lines: list[LineIn] = Field(min_length=1, max_length=250)
    financial_status: FinancialStatus
    currency: str = Field(default="USD", min_length=3, max_length=3)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    note: str | None = Field(default=None, max_length=5000)


class WebhookAck(BaseModel):
    order_id: str | None = None
    status: str = "accepted"


# --- reading orders -----------------------------------------------------------------------


class OrderSummary(BaseModel):
    order_id: str
    name: str
    status: str
    tags: list[str]
    priority: int
    warehouses: list[str]
    total: Decimal
    currency: str
    created_at: datetime
    updated_at: datetime
    stuck: bool


class OrderPage(BaseModel):
    items: list[OrderSummary]
    next_cursor: str | None


class EventOut(BaseModel):
    at: datetime
    type: str
    detail: dict[str, Any]


class OrderDetail(BaseModel):
    order_id: str
    name: str
    status: str
    tags: list[str]
    priority: int
    holds: list[Hold]
    lines: list[OrderLine]
    shipments: list[ShipmentView]
    routing: RoutingDecision | None = None
    payment: str | None = None
    cancel_reason: str | None = None
    steps: list[StepView] = Field(
        default_factory=list, description="the order's template: every step with its state"
    )
    stuck: StuckInfo | None = None
    tags_version: int | None = Field(default=None, description="tag rules that tagged it")
    events: list[EventOut]
    live: bool = Field(
        description="True when read from the running workflow, False from the projection"
    )


class HistoryEntry(BaseModel):
    event_id: int
    time: datetime
    type: str
    summary: str


class ShipmentHistory(BaseModel):
    shipment_id: str
    workflow_id: str
    run_id: str | None
    events: list[HistoryEntry]


class OrderHistory(BaseModel):
    order_id: str
    workflow_id: str
    run_id: str | None
    events: list[HistoryEntry]
    shipments: list[ShipmentHistory] | None = Field(
        default=None,
        description="with ?include=shipments: each shipment's FulfillmentWorkflow history",
    )


# --- acting -------------------------------------------------------------------------------


class CancelIn(BaseModel):
    reason: str = Field(default="requested", min_length=1, max_length=500)
    restock: bool = Field(
        default=True, description="Shopify puts the items back in stock (write-back channels)"
    )
    refund: bool = Field(
        default=False,
        description="Shopify refunds the payment too (off: this product's payment step refunds)",
    )


class CancelOut(BaseModel):
    order_id: str
    status: OrderStatus


class HoldIn(BaseModel):
    reason: HoldReason
    note: str | None = Field(default=None, max_length=1000)


class HoldOut(BaseModel):
    hold_id: str


class ReleaseOut(BaseModel):
    order_id: str
    hold_id: str
    status: OrderStatus
    holds: list[Hold]


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
