"""The order's status rolled up from its live shipments (domain/status.py): each mix of
shipments, with and without a hold or lines waiting for stock, gives one order status."""

from __future__ import annotations

import pytest

from domain.models import ShipmentLine, ShipmentView
from domain.status import (
    PAYMENT_TAKEN,
    OrderStatus,
    PaymentState,
    ShipmentStatus,
    order_status_from_shipments,
)

S = ShipmentStatus
O = OrderStatus  # noqa: E741

#: (shipments as (status, [(quantity, picked)]), held, waiting for stock, expected)
CASES = [
    ([(S.OPEN, [(2, 0)])], False, False, O.READY_TO_PICK),
    ([(S.OPEN, [(2, 0)]), (S.OPEN, [(1, 0)])], False, False, O.READY_TO_PICK),
    ([(S.PICKING, [(2, 0)])], False, False, O.PICKING),
    ([(S.OPEN, [(2, 1)])], False, False, O.PICKING),
    ([(S.OPEN, [(2, 2)])], False, False, O.PACKING),
    ([(S.PICKING, [(2, 2), (1, 0)])], False, False, O.PICKING),
    ([(S.PICKING, [(2, 2)]), (S.OPEN, [(1, 1)])], False, False, O.PACKING),
    ([(S.PACKED, [(2, 2)]), (S.OPEN, [(1, 0)])], False, False, O.PACKING),
    ([(S.SHIPPED, [(2, 2)]), (S.OPEN, [(1, 0)])], False, False, O.PARTIALLY_SHIPPED),
    ([(S.EXCEPTION, [(2, 2)]), (S.PACKED, [(1, 1)])], False, False, O.PARTIALLY_SHIPPED),
    ([(S.SHIPPED, [(2, 2)]), (S.IN_TRANSIT, [(1, 1)])], False, False, O.SHIPPED),
    ([(S.OUT_FOR_DELIVERY, [(1, 1)]), (S.DELIVERED, [(1, 1)])], False, False, O.SHIPPED),
    ([(S.EXCEPTION, [(1, 1)])], False, False, O.SHIPPED),
    ([(S.DELIVERED, [(2, 2)]), (S.DELIVERED, [(1, 1)])], False, False, O.DELIVERED),
    # A cancelled shipment still counted (not handed back) is neither shipped nor open.
    ([(S.CANCELLED, [(1, 0)])], False, False, O.READY_TO_PICK),
    # Held: on hold until every shipment left the warehouse.
    ([(S.PICKING, [(2, 1)])], True, False, O.ON_HOLD),
    ([(S.PACKED, [(2, 2)])], True, False, O.ON_HOLD),
    ([(S.SHIPPED, [(2, 2)]), (S.OPEN, [(1, 0)])], True, False, O.ON_HOLD),
    ([(S.SHIPPED, [(2, 2)]), (S.DELIVERED, [(1, 1)])], True, False, O.SHIPPED),
    # Handed-back lines waiting for stock: backordered while nothing else is under way.
    ([(S.OPEN, [(2, 0)])], False, True, O.BACKORDERED),
    ([(S.OPEN, [(2, 1)])], False, True, O.BACKORDERED),
    ([(S.PICKING, [(2, 0)]), (S.OPEN, [(1, 0)])], False, True, O.PICKING),
    ([(S.SHIPPED, [(2, 2)])], False, True, O.SHIPPED),
    ([(S.OPEN, [(2, 0)])], True, True, O.ON_HOLD),
    # Every shipment handed back: nothing live. Vacuous truths say delivered, unless
    # lines wait for stock (or a hold stops a started order).
    ([], False, False, O.DELIVERED),
    ([], False, True, O.BACKORDERED),
    ([], True, False, O.DELIVERED),
]


def _views(shipments: list[tuple[ShipmentStatus, list[tuple[int, int]]]]) -> list[ShipmentView]:
    return [
        ShipmentView(
            shipment_id=f"o-{n}",
            warehouse="w1",
            status=status,
            lines=[
                ShipmentLine(sku=f"sku-{i}", quantity=qty, picked=picked)
                for i, (qty, picked) in enumerate(lines)
            ],
        )
        for n, (status, lines) in enumerate(shipments, start=1)
    ]


@pytest.mark.parametrize(("shipments", "held", "waiting", "expected"), CASES)
def test_each_shipment_mix_gives_one_order_status(
    shipments: list[tuple[ShipmentStatus, list[tuple[int, int]]]],
    held: bool,
    waiting: bool,
    expected: OrderStatus,
) -> None:
    got = order_status_from_shipments(_views(shipments), held=held, waiting_for_stock=waiting)
    assert got == expected


def test_payment_states_keep_the_strings_the_read_model_and_api_show() -> None:
    assert [p.value for p in PaymentState] == [
        "pending",
        "paid",
        "captured",
        "refunded",
        "voided",
        "declined",
    ]
    assert PaymentState("captured") == "captured"
    assert {PaymentState.PAID, PaymentState.CAPTURED} == PAYMENT_TAKEN
