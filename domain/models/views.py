"""What the ``details`` Query shows of an order and its shipments: state, template steps, why
it is stuck, where it was routed.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from domain.models.order import Hold, OrderLine
from domain.routing import PlanView, SiteVerdict
from domain.status import LabelStatus, OrderStatus, ShipmentStatus, StuckReason


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
