"""``FulfillmentWorkflow``'s input and result, and the signal it sends its order when the
shipment moves.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from domain.models.order import Address
from domain.models.projection import ProjectShipmentInput
from domain.models.views import ShipmentLine, StuckInfo, Tracking
from domain.status import ShipmentStatus, ShippingMethod


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
