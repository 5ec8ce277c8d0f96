"""An order as it is taken in, whatever channel it came from: the input of ``OrderWorkflow``,
and the holds and audit events it carries.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from domain.status import FinancialStatus, HoldReason, ShippingMethod
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
