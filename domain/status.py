"""The fixed vocabularies of the HTTP contract (API.md): statuses, hold and refusal reasons,
and the one rule that derives an order's status from its shipments'."""

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol


class OrderStatus(StrEnum):
    RECEIVED = "received"
    ON_HOLD = "on_hold"
    AWAITING_PAYMENT = "awaiting_payment"
    BACKORDERED = "backordered"
    READY_TO_PICK = "ready_to_pick"
    PICKING = "picking"
    PACKING = "packing"
    SHIPPED = "shipped"
    PARTIALLY_SHIPPED = "partially_shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    FAILED = "failed"


#: Once an order reaches one of these it can no longer be cancelled.
SHIPPED_OR_LATER = frozenset(
    {OrderStatus.SHIPPED, OrderStatus.PARTIALLY_SHIPPED, OrderStatus.DELIVERED}
)
TERMINAL = frozenset({OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.FAILED})


class ShipmentStatus(StrEnum):
    OPEN = "open"
    PICKING = "picking"
    PACKED = "packed"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    CANCELLED = "cancelled"


class HoldReason(StrEnum):
    """Shopify's fulfillment hold reasons."""

    HIGH_RISK_OF_FRAUD = "HIGH_RISK_OF_FRAUD"
    INCORRECT_ADDRESS = "INCORRECT_ADDRESS"
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    INVENTORY_OUT_OF_STOCK = "INVENTORY_OUT_OF_STOCK"
    OTHER = "OTHER"


class TrackingStatus(StrEnum):
    """Shopify's fulfillment event statuses, as carriers report them."""

    LABEL_PRINTED = "label_printed"
    CARRIER_PICKED_UP = "carrier_picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    ATTEMPTED_DELIVERY = "attempted_delivery"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    FAILURE = "failure"


#: How a carrier event moves a shipment. Events not listed leave the status alone.
TRACKING_TO_SHIPMENT: dict[TrackingStatus, ShipmentStatus] = {
    TrackingStatus.CARRIER_PICKED_UP: ShipmentStatus.IN_TRANSIT,
    TrackingStatus.IN_TRANSIT: ShipmentStatus.IN_TRANSIT,
    TrackingStatus.DELAYED: ShipmentStatus.IN_TRANSIT,
    TrackingStatus.OUT_FOR_DELIVERY: ShipmentStatus.OUT_FOR_DELIVERY,
    TrackingStatus.ATTEMPTED_DELIVERY: ShipmentStatus.OUT_FOR_DELIVERY,
    TrackingStatus.DELIVERED: ShipmentStatus.DELIVERED,
    TrackingStatus.FAILURE: ShipmentStatus.EXCEPTION,
}


class LabelStatus(StrEnum):
    """Where a packed shipment's label is: the pack never waits for it (docs/decisions/0008)."""

    PENDING = "pending"
    READY = "ready"
    VOIDED = "voided"


class StuckReason(StrEnum):
    """Why a shipment is stuck on its carrier; the order shows the same reason."""

    #: Packed, and the label still missing after ``OMS_LABEL_SLA_SECONDS``.
    CARRIER_UNAVAILABLE = "carrier_unavailable"
    #: Shipped, and no tracking news for ``OMS_TRACKING_STALE_HOURS``.
    TRACKING_STALE = "tracking_stale"
    #: The carrier reported a failure; cleared when the parcel moves again.
    CARRIER_EXCEPTION = "carrier_exception"
    #: Generation 10: the sales channel refused a write-back (a user error: the same
    #: request can never succeed). Stays until ops sort it out in the channel.
    CHANNEL_WRITEBACK_FAILED = "channel_writeback_failed"
    #: Generation 10: the channel changed the shipping address after picking started; not
    #: applied, ops decide (both addresses in the detail).
    ADDRESS_CHANGED_AFTER_PICK = "address_changed_after_pick"
    #: Generation 10: the channel edited the order's lines; not applied automatically yet,
    #: ops adjust the order (the edit, SKU by SKU, in the detail).
    ORDER_EDITED_IN_CHANNEL = "order_edited_in_channel"


class PaymentState(StrEnum):
    """Where the order's money is. The values reach the read model and the API as strings."""

    PENDING = "pending"
    PAID = "paid"  # paid at checkout or by ``orders/paid``: nothing to capture
    CAPTURED = "captured"
    REFUNDED = "refunded"
    VOIDED = "voided"
    #: The gateway declined a refund or void (the reversal's own answer, kept as it came).
    DECLINED = "declined"


#: Payment states in which the order holds the customer's money (a cancel refunds it).
PAYMENT_TAKEN = frozenset({PaymentState.PAID, PaymentState.CAPTURED})


class FinancialStatus(StrEnum):
    PAID = "paid"
    AUTHORIZED = "authorized"
    PENDING = "pending"


class ShippingMethod(StrEnum):
    STANDARD = "standard"
    EXPRESS = "express"
    OVERNIGHT = "overnight"


#: Shipment states at or past packing: nothing is left to pick.
PACKED_OR_LATER = frozenset(
    {
        ShipmentStatus.PACKED,
        ShipmentStatus.SHIPPED,
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.OUT_FOR_DELIVERY,
        ShipmentStatus.DELIVERED,
        ShipmentStatus.EXCEPTION,
    }
)

#: Shipment states past the warehouse door: the parcel is the carrier's (or delivered).
SHIPMENT_SHIPPED_OR_LATER = PACKED_OR_LATER - {ShipmentStatus.PACKED}


class RollUpLine(Protocol):
    """What the status roll-up reads of a shipment line (``domain.models.ShipmentLine``)."""

    @property
    def quantity(self) -> int: ...
    @property
    def picked(self) -> int: ...


class RollUpShipment(Protocol):
    """What the status roll-up reads of a shipment (``domain.models.ShipmentView``)."""

    @property
    def status(self) -> ShipmentStatus: ...
    @property
    def lines(self) -> Sequence[RollUpLine]: ...


def order_status_from_shipments(
    shipments: Sequence[RollUpShipment], *, held: bool, waiting_for_stock: bool
) -> OrderStatus:
    """The order's status once it is in fulfilment, from its live shipments (those not
    handed back or emptied).

    ``held``: the order has a hold and its shipments were started (a hold before that is
    the spine's own ``on_hold``). ``waiting_for_stock``: handed-back or added
    lines wait as a backorder. Pure: the order workflow and its tests share it.
    """
    statuses = [s.status for s in shipments]
    if held and not all(s in SHIPMENT_SHIPPED_OR_LATER for s in statuses):
        return OrderStatus.ON_HOLD
    if waiting_for_stock and all(s == ShipmentStatus.OPEN for s in statuses):
        # Handed-back lines wait for stock and nothing else is under way.
        return OrderStatus.BACKORDERED
    if all(s == ShipmentStatus.DELIVERED for s in statuses):
        return OrderStatus.DELIVERED
    if all(s in SHIPMENT_SHIPPED_OR_LATER for s in statuses):
        return OrderStatus.SHIPPED
    if any(s in SHIPMENT_SHIPPED_OR_LATER for s in statuses):
        return OrderStatus.PARTIALLY_SHIPPED
    if any(s == ShipmentStatus.PACKED for s in statuses):
        return OrderStatus.PACKING
    lines = [line for s in shipments for line in s.lines]
    if lines and all(line.picked >= line.quantity for line in lines):
        return OrderStatus.PACKING
    if any(line.picked for line in lines) or ShipmentStatus.PICKING in statuses:
        return OrderStatus.PICKING
    return OrderStatus.READY_TO_PICK
