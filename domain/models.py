"""Pydantic models passed between the API, workflows and activities.

One model per workflow/activity input and output, so signatures can grow without breaking
histories already recorded (new fields get defaults).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from domain.routing import PlanView, SiteVerdict
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
from domain.tagging import TaggingContext
from domain.templates import TemplateSet


class Address(BaseModel):
    name: str = ""
    address1: str = ""
    address2: str | None = None
    city: str = ""
    province_code: str | None = None
    zip: str = ""
    country_code: str = ""
    phone: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class OrderLine(BaseModel):
    sku: str
    quantity: int = Field(gt=0)
    unit_price: Decimal = Decimal("0")
    title: str | None = None
    #: The channel's id of the line (Shopify's line item id): what its order edits name.
    external_id: str | None = None


class OrderOptions(BaseModel):
    """Timers the workflow cannot read from the environment; set by the API at intake."""

    payment_timeout_seconds: int = 3 * 24 * 3600
    backorder_recheck_seconds: int = 6 * 3600
    #: A packed parcel whose label is still missing this long marks its shipment stuck
    #: (``carrier_unavailable``): ``OMS_LABEL_SLA_SECONDS``.
    label_sla_seconds: int = 600
    #: A shipped parcel whose tracking says nothing this long is stuck (``tracking_stale``):
    #: ``OMS_TRACKING_STALE_HOURS``.
    tracking_stale_seconds: int = 72 * 3600


class OrderInput(BaseModel):
    """A normalised order, whatever channel it came from. Input of ``OrderWorkflow``."""

    order_id: str
    external_id: str
    channel: str
    name: str
    email: str
    customer_name: str | None = None
    customer_orders_count: int = 0
    shipping_address: Address
    billing_address: Address | None = None
    shipping_method: ShippingMethod = ShippingMethod.STANDARD
    lines: list[OrderLine]
    financial_status: FinancialStatus = FinancialStatus.PAID
    currency: str = "USD"
    total: Decimal = Decimal("0")
    tags: list[str] = Field(default_factory=list)
    note: str | None = None
    risk_level: str | None = None
    created_at: datetime | None = None
    options: OrderOptions = Field(default_factory=OrderOptions)
    #: The tag rules, product tags and home country to tag the order with, fixed at intake
    #: so the workflow tags it deterministically (None: taken in before tag rules existed).
    tagging: TaggingContext | None = None
    #: The fulfillment templates in force at intake (None: the built-in defaults).
    templates: TemplateSet | None = None
    #: The sales channel (``channels.code``) that hears what happens to the order:
    #: fulfillments, holds, the cancellation (generation 10, docs/decisions/0009). Set
    #: at intake when a ``shopify`` channel is configured for the order's shop.
    writeback_channel: str | None = None


class Hold(BaseModel):
    hold_id: str
    reason: HoldReason
    note: str | None = None
    created_at: datetime


class OrderEvent(BaseModel):
    """One line of the order's audit log (``order_events``)."""

    key: str  # unique per order: makes the write idempotent under activity retries
    at: datetime
    type: str
    detail: dict[str, object] = Field(default_factory=dict)


class Tracking(BaseModel):
    carrier: str
    number: str
    url: str


class ShipmentLine(BaseModel):
    sku: str
    quantity: int
    picked: int = 0
    verified: int = 0  # re-scanned at the pack station (templates that require it)
    weight_grams: int = 0  # per unit, from the catalog: the pack check's expected weight


class ShipmentView(BaseModel):
    shipment_id: str
    warehouse: str
    status: ShipmentStatus
    lines: list[ShipmentLine]
    tracking: Tracking | None = None
    label_url: str | None = None
    #: Template steps of this shipment: the packer must confirm protective packaging.
    packaging_check: bool = False
    packaging_checked: bool = False
    verify_at_pack: bool = False
    on_hold: bool = False
    #: ``pending`` from the pack until the carrier's label comes, then ``ready``
    #: (``voided`` when a cancellation voided it); None before the pack.
    label_status: LabelStatus | None = None
    #: Why the shipment is stuck (``carrier_unavailable``, ``tracking_stale``,
    #: ``carrier_exception``), or None.
    stuck: StuckInfo | None = None
    #: When this shipment finished each floor step of the template (``pick``,
    #: ``packaging_check``, ``pack_verification``, ``pack``, ``ship``): the order's step
    #: view and SLA watchdog read these instead of hearing every floor move.
    steps_done: dict[str, datetime] = Field(default_factory=dict)


class StepView(BaseModel):
    """One step of the order's template, as staff see it in the order detail."""

    step: str
    state: str  # done | active | pending
    sla_seconds: int
    added_by: str | None = None  # the tag whose template added it
    started_at: datetime | None = None
    completed_at: datetime | None = None
    due_at: datetime | None = None
    breached: bool = False


class StuckInfo(BaseModel):
    """Why an order (or a shipment) is stuck: the step whose SLA passed, since when; or,
    for a shipment's carrier trouble, a machine ``reason`` and a sentence for people."""

    step: str
    since: datetime
    sla_seconds: int
    reason: StuckReason | None = None
    detail: str | None = None

    def describe(self) -> str:
        """``<reason or step>: <what is wrong>``, as the ops views show it (they split the
        machine part off at the colon)."""
        if self.reason is not None:
            return f"{self.reason.value}: {self.detail or ''}".rstrip(": ")
        return f"{self.step}: over its SLA of {duration_text(self.sla_seconds)}"


def duration_text(seconds: int) -> str:
    """``2 h``, ``10 min``, ``45 s``: an SLA as people read it."""
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


class RoutingDecision(BaseModel):
    """Where an order went and why: kept on the order and shown in its detail.

    ``decision`` is the warehouse codes joined with " + " (or ``backordered``);
    ``candidates`` carries every warehouse's verdict under every rule.
    """

    decision: str
    reasons: list[str] = Field(default_factory=list)
    rules_version: int | None = None
    candidates: list[SiteVerdict] = Field(default_factory=list)
    runners_up: list[PlanView] = Field(default_factory=list)


class OrderState(BaseModel):
    """What the ``details`` Query returns: the live state of one order."""

    order_id: str
    name: str
    status: OrderStatus
    tags: list[str]
    priority: int
    holds: list[Hold]
    lines: list[OrderLine]
    shipments: list[ShipmentView]
    routing: RoutingDecision | None = None
    payment: str | None = None
    cancel_reason: str | None = None
    steps: list[StepView] = Field(default_factory=list)
    stuck: StuckInfo | None = None
    tags_version: int | None = None


# --- projection -----------------------------------------------------------------------


class OrderProjection(BaseModel):
    """A row of the ``orders`` read model, written only by activities."""

    order_id: str
    version: int
    name: str
    channel: str
    external_id: str
    email: str
    status: OrderStatus
    tags: list[str]
    priority: int
    warehouses: list[str]
    total: Decimal
    currency: str
    created_at: datetime
    updated_at: datetime
    stuck: bool = False
    summary: dict[str, object] = Field(default_factory=dict)


class ShipmentProjection(BaseModel):
    shipment_id: str
    order_id: str
    version: int
    warehouse: str
    status: ShipmentStatus
    priority: int
    lines: list[ShipmentLine]
    tracking: Tracking | None = None
    updated_at: datetime
    steps_done: dict[str, datetime] = Field(default_factory=dict)
    label_status: LabelStatus | None = None
    stuck: StuckInfo | None = None


class ProjectShipmentInput(BaseModel):
    shipment: ShipmentProjection
    events: list[OrderEvent] = Field(default_factory=list)
    #: Customer notifications this move decides to send: their ledger rows are written in
    #: the same transaction as the row (docs/decisions/0002-notifications-with-the-move.md).
    notifications: list[NotifyRequest] = Field(default_factory=list)


class ProjectOrderInput(BaseModel):
    order: OrderProjection
    events: list[OrderEvent] = Field(default_factory=list)
    #: Shipment rows the order writes in the same transaction: its shipments' floor moves
    #: (picking, all picked), which reach it as signals anyway (see FulfillmentWorkflow._move).
    shipments: list[ProjectShipmentInput] = Field(default_factory=list)
    #: Customer messages the order decided (``confirmed``): their ledger rows go in the
    #: same transaction (docs/decisions/0002-notifications-with-the-move.md).
    notifications: list[NotifyRequest] = Field(default_factory=list)


# --- activities -------------------------------------------------------------------------


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


class AllocationRequest(BaseModel):
    order_id: str
    #: The first shipment's id; a split numbers the others on from ``next_seq``.
    shipment_id: str
    lines: list[OrderLine]
    address: Address
    shipping_method: ShippingMethod = ShippingMethod.STANDARD
    priority: int = 0
    next_seq: int = 1
    #: Warehouses not to use (one that rejected these lines).
    exclude: list[str] = Field(default_factory=list)
    #: Shipments the order already has; their reservations are not this allocation's.
    existing: list[str] = Field(default_factory=list)


class AllocatedShipment(BaseModel):
    shipment_id: str
    warehouse: str
    lines: list[ShipmentLine]


class AllocationResult(BaseModel):
    """Either reservations (``shipments``) or a backorder (``backordered`` True).

    ``warehouse``/``lines`` repeat the first shipment: results recorded before splits
    existed carry only those, and workflows replaying them read them.
    """

    shipment_id: str
    warehouse: str | None = None
    lines: list[ShipmentLine] = Field(default_factory=list)
    shipments: list[AllocatedShipment] = Field(default_factory=list)
    backordered: bool = False
    short_skus: list[str] = Field(default_factory=list)
    routing: RoutingDecision

    def allocated(self) -> list[AllocatedShipment]:
        if self.shipments:
            return self.shipments
        if self.warehouse is None:
            return []
        return [
            AllocatedShipment(
                shipment_id=self.shipment_id, warehouse=self.warehouse, lines=self.lines
            )
        ]


class ReleaseRequest(BaseModel):
    order_id: str
    reason: str


class MoveRequest(BaseModel):
    order_id: str
    shipment_id: str
    to_warehouse: str
    reason: str = ""


class MoveResult(BaseModel):
    moved: bool
    detail: str = ""


class RerouteRequest(BaseModel):
    """Route an open shipment's lines again for a new address; move its reservations when
    the best warehouse changed (generation 10: Shopify's ``orders/updated``)."""

    order_id: str
    shipment_id: str
    warehouse: str
    lines: list[OrderLine]
    address: Address
    shipping_method: ShippingMethod
    priority: int = 0


class RerouteResult(BaseModel):
    warehouse: str
    moved: bool
    detail: str = ""


class ShrinkRequest(BaseModel):
    """Keep only ``keep`` units of each SKU reserved for a shipment, releasing the rest
    (generation 10: Shopify's ``orders/edited`` before pick). Absolute targets, not
    deltas: a retry or a replayed workflow asks for the same end state and releases
    nothing twice."""

    order_id: str
    shipment_id: str
    keep: dict[str, int]


class RejectRequest(BaseModel):
    order_id: str
    shipment_id: str
    warehouse: str
    sku: str | None = None
    actor: str | None = None


class CommitRequest(BaseModel):
    shipment_id: str
    #: The shipment's row (status shipped) and events, written in the stock commit's own
    #: transaction: the pack answer leaves only after both, with no activity of its own.
    record: ProjectShipmentInput | None = None


class LabelRequest(BaseModel):
    order_id: str
    shipment_id: str
    warehouse: str
    address: Address
    shipping_method: ShippingMethod
    weight_grams: int
    idempotency_key: str
    #: Keys of this shipment's earlier purchase attempts (ops changed the service): a
    #: label the carrier sold under one of them is adopted, never bought again.
    earlier_keys: list[str] = Field(default_factory=list)


class LabelResult(BaseModel):
    tracking: Tracking
    label_url: str


class VoidLabelRequest(BaseModel):
    shipment_id: str
    #: Generation 9: the keys the label was (maybe) bought under, when the order was
    #: cancelled before the purchase answered.
    purchase_keys: list[str] = Field(default_factory=list)


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


# --- fulfillment ------------------------------------------------------------------------


class FulfillmentInput(BaseModel):
    """Input of ``FulfillmentWorkflow``: one shipment of one order from one warehouse."""

    order_id: str
    shipment_id: str
    warehouse: str
    priority: int
    email: str
    shipping_method: ShippingMethod
    address: Address
    lines: list[ShipmentLine]
    #: Every item must be scanned a second time at the pack station before packing.
    verify_at_pack: bool = False
    #: The packer must confirm protective packaging before packing (``fragile``).
    packaging_check: bool = False
    #: The order was on hold when this shipment started (a re-route during a hold).
    held: bool = False
    #: The behaviour generation the parent runs (workflows/patches.py): decided once by the
    #: parent and fixed in this input, so the child needs no patch markers of its own.
    generation: int = 0
    label_sla_seconds: int = 600
    tracking_stale_seconds: int = 72 * 3600
    #: The channel to tell of this shipment's fulfillment and tracking (generation 10).
    writeback_channel: str | None = None
    #: The order's id in that channel (Shopify's order id).
    external_id: str | None = None


class FulfillmentResult(BaseModel):
    shipment_id: str
    status: ShipmentStatus
    tracking: Tracking | None = None
    #: The warehouse gave the shipment back (shelf empty...): the order routes its lines
    #: again elsewhere. ``warehouse``/``lines`` say what came back from where.
    rejected: bool = False
    reject_reason: str | None = None
    warehouse: str | None = None
    lines: list[ShipmentLine] = Field(default_factory=list)


class ShipmentUpdate(BaseModel):
    """Child → parent signal: the shipment moved."""

    shipment_id: str
    status: ShipmentStatus
    tracking: Tracking | None = None
    label_url: str | None = None
    lines: list[ShipmentLine] = Field(default_factory=list)
    warehouse: str | None = None  # where it ships from now (ops may have moved it)
    packaging_checked: bool = False
    #: The shipment's row and events, for the order to write with its own projection (set
    #: for floor moves; None when the shipment wrote them itself).
    record: ProjectShipmentInput | None = None
    steps_done: dict[str, datetime] = Field(default_factory=dict)
    #: Generation 9: the shipment's own stuck mark (carrier trouble), None when clear.
    stuck: StuckInfo | None = None
    #: Generation 10: a write-back of this shipment the channel refused (why), for the
    #: order to show as ``channel_writeback_failed``.
    writeback_failed: str | None = None
    #: Generation 10: a channel edit this shipment could not apply (picking had started
    #: when its removal arrived): the order marks itself for ops.
    edit_refused: str | None = None


# --- updates and signals from people and carriers ---------------------------------------


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


class TagChange(BaseModel):
    """Staff add or remove tags on an order."""

    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)
    actor: str | None = None


class MoveInput(BaseModel):
    """Ops moves an open shipment to another warehouse."""

    warehouse: str
    reason: str = "moved by ops"


class AddressChange(BaseModel):
    """The channel changed the order's shipping address (Shopify's ``orders/updated``)."""

    address: Address
    source: str = "shopify"


class AddressChangeResult(BaseModel):
    #: ``unchanged``, ``applied`` (re-verified, re-routed; an edit: stock released,
    #: additions allocated) or ``flagged`` (picking had started: not applied, the order is
    #: marked for ops); an edit: ``duplicate`` (that edit id was taken already).
    outcome: str
    detail: str = ""


class LineEdit(BaseModel):
    """Shopify's ``orders/edited``: units added to / removed from lines, by line item id."""

    edit_id: str | None = None
    added: dict[str, int] = Field(default_factory=dict)
    removed: dict[str, int] = Field(default_factory=dict)
    source: str = "shopify"


class LineRemoval(BaseModel):
    """Parent → shipment: units of an edit to take off this shipment's lines, by SKU;
    ``key`` (the edit's id) makes a repeat a no-op."""

    key: str
    removed: dict[str, int]


class LineItemsRequest(BaseModel):
    """Ask the order's sales channel which SKU each of its line items is (an edit's
    additions name line items the order has never seen)."""

    channel: str
    external_id: str


class LineItemsResult(BaseModel):
    #: Shopify line item id (the number, as in webhooks) → SKU.
    skus: dict[str, str] = Field(default_factory=dict)


class RelocateInput(BaseModel):
    """Parent → shipment: the order's address changed before picking; route it again."""

    address: Address


class RejectInput(BaseModel):
    """A warehouse gives a shipment back; ``sku`` names the item found missing."""

    reason: str
    sku: str | None = None
    actor: str | None = None


class CancelInput(BaseModel):
    reason: str = "requested"
    #: Where the cancellation comes from: ``shopify`` (``orders/cancelled``) is not
    #: mirrored back to Shopify; any other is (generation 10).
    source: str = "oms"
    #: Mirrored to Shopify's ``orderCancel``: put the items back in Shopify's stock; have
    #: Shopify refund the payment (off by default: this product's payment step refunds).
    restock: bool = True
    refund: bool = False


class CancelResult(BaseModel):
    order_id: str
    status: OrderStatus


class HoldInput(BaseModel):
    reason: HoldReason
    note: str | None = None


class HoldPlaced(BaseModel):
    hold_id: str


class ReleaseInput(BaseModel):
    hold_id: str


class TrackingEvent(BaseModel):
    tracking_number: str
    status: TrackingStatus
    occurred_at: datetime
    detail: str | None = None
    location: str | None = None
    #: The stored carrier event's id: a repeated signal of one event applies once.
    event_key: str | None = None
