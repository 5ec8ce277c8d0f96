"""Requests to the stock activities: allocate, release, move, re-route, shrink, reject and
commit reservations, and their answers.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.models.order import Address, OrderLine
from domain.models.projection import ProjectShipmentInput
from domain.models.views import RoutingDecision, ShipmentLine
from domain.status import ShippingMethod


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
