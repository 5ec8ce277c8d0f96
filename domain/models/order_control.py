"""What staff do to an order: change its tags, hold and release it, cancel it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.status import HoldReason, OrderStatus


class TagChange(BaseModel):
    """Staff add or remove tags on an order."""

    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)
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
