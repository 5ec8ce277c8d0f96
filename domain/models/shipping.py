"""A parcel's label (buy, void) and what its carrier reports of it afterwards."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from domain.models.order import Address
from domain.models.views import Tracking
from domain.status import ShippingMethod, TrackingStatus


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


class TrackingEvent(BaseModel):
    tracking_number: str
    status: TrackingStatus
    occurred_at: datetime
    detail: str | None = None
    location: str | None = None
    #: The stored carrier event's id: a repeated signal of one event applies once.
    event_key: str | None = None
