"""Changes the sales channel makes to an order after intake: a new address, line edits, and
what the order passes on to its shipments.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.models.order import Address


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
