"""Orders: intake, reading (list, detail, history) and acting (cancel, holds, tags, bulk)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, model_validator

from api.bounds import Latitude, LineQuantity, Longitude, Price, Sku, Tag
from domain.models import Hold, OrderLine, RoutingDecision, ShipmentView, StepView, StuckInfo
from domain.status import FinancialStatus, HoldReason, OrderStatus, ShippingMethod

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


# --- tags ---------------------------------------------------------------------------------


class TagsIn(BaseModel):
    tags: list[Tag] = Field(min_length=1, max_length=50)


class TagsOut(BaseModel):
    order_id: str
    tags: list[str]


# --- bulk actions -------------------------------------------------------------------------


OrderId = Annotated[str, StringConstraints(min_length=1, max_length=80)]


class BulkAction(StrEnum):
    RELEASE_HOLDS = "release_holds"
    CANCEL = "cancel"
    ADD_TAG = "add_tag"
    REMOVE_TAG = "remove_tag"


class BulkIn(BaseModel):
    action: BulkAction
    order_ids: list[OrderId] = Field(min_length=1, max_length=500)
    reason: str | None = Field(default=None, min_length=1, max_length=500)
    tag: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _needs(self) -> BulkIn:
        if self.action in (BulkAction.ADD_TAG, BulkAction.REMOVE_TAG) and not self.tag:
            raise ValueError(f"{self.action.value} needs a tag")
        return self


class BulkResult(BaseModel):
    order_id: str
    ok: bool
    status: str | None = None
    reason: str | None = None
    detail: str | None = None


class BulkOut(BaseModel):
    results: list[BulkResult]
