"""Rows of the read model (``orders``, ``shipments``) and the events written with them: only
activities write them, in one transaction per move.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from domain.models.notifications import NotifyRequest
from domain.models.order import OrderEvent
from domain.models.views import ShipmentLine, StuckInfo, Tracking
from domain.status import LabelStatus, OrderStatus, ShipmentStatus


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
