"""Changes to where a shipment ships from and what it holds, before anyone picks it:
ops' move to another warehouse, the warehouse handing it back (reject), and, generation
10, the channel's address change (reroute) and removed units (shrink).

While the reservations change in the database, ``moving`` is set: scans and other changes
wait (their validators refuse). Once picking started, none of these apply.
"""

from __future__ import annotations

from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from domain import names
from domain.codes import ScanRefusal, UpdateRefusal
from domain.models import (
    LineRemoval,
    MoveInput,
    MoveRequest,
    MoveResult,
    OrderLine,
    RejectInput,
    RelocateInput,
    RerouteRequest,
    RerouteResult,
    ShrinkRequest,
)
from domain.status import ShipmentStatus
from workflows import policies
from workflows.fulfillment import record
from workflows.fulfillment.state import ShipmentState

T = TypeVar("T")


def validate_move(s: ShipmentState, request: MoveInput) -> None:
    if s.stopped() or s.status != ShipmentStatus.OPEN or s.picked_units():
        raise ApplicationError(
            f"shipment is {s.status.value}; only an open shipment nobody has started "
            "picking can move",
            type=UpdateRefusal.NOT_MOVABLE.value,
        )
    if s.moving:
        raise ApplicationError(
            "the shipment is already being moved",
            type=UpdateRefusal.NOT_MOVABLE.value,
        )
    if request.warehouse == s.warehouse:
        raise ApplicationError(
            f"the shipment already ships from {s.warehouse}",
            type=UpdateRefusal.SAME_WAREHOUSE.value,
        )


async def move_shipment(s: ShipmentState, request: MoveInput) -> None:
    """Move the reservations in one transaction; if the target lacks stock or capacity,
    refuse (the shipment stays where it was)."""
    result = await _change_reservations(
        s,
        names.MOVE_SHIPMENT,
        MoveRequest(
            order_id=s.input.order_id,
            shipment_id=s.input.shipment_id,
            to_warehouse=request.warehouse,
            reason=request.reason,
        ),
        MoveResult,
    )
    if not result.moved:
        raise ApplicationError(result.detail, type=UpdateRefusal.CANNOT_MOVE.value)
    before, s.warehouse = s.warehouse, request.warehouse
    record.event(s, "shipment_moved", source=before, to=request.warehouse, reason=request.reason)


def validate_reject(s: ShipmentState, request: RejectInput) -> None:
    if s.rejected is not None:
        return  # a repeat gets the same answer
    if (
        s.cancel_reason is not None
        or s.moving
        or s.pack_request is not None
        or s.status not in (ShipmentStatus.OPEN, ShipmentStatus.PICKING)
    ):
        raise ApplicationError(
            f"shipment is {s.status.value}; only a shipment not yet packed can be handed back",
            type=UpdateRefusal.NOT_REJECTABLE.value,
        )
    if request.sku is not None and request.sku not in s.lines:
        raise ApplicationError(
            f"{request.sku} is not in this shipment", type=ScanRefusal.WRONG_ITEM.value
        )


async def reroute(s: ShipmentState, request: RelocateInput) -> None:
    """Generation 10: take the order's new address and, if another warehouse is now the
    best, move the reservations there; once picking started, only say so."""
    if s.picking_started():
        record.event(s, "address_change_not_applied", reason="picking has started")
        return
    s.address = request.address
    result = await _change_reservations(
        s,
        names.REROUTE_SHIPMENT,
        RerouteRequest(
            order_id=s.input.order_id,
            shipment_id=s.input.shipment_id,
            warehouse=s.warehouse,
            lines=[
                OrderLine(sku=ln.sku, quantity=ln.quantity)
                for ln in s.lines.values()
                if ln.quantity > 0
            ],
            address=request.address,
            shipping_method=s.input.shipping_method,
            priority=s.input.priority,
        ),
        RerouteResult,
    )
    before, s.warehouse = s.warehouse, result.warehouse
    record.event(
        s,
        "rerouted" if result.moved else "reroute_kept",
        source=before,
        to=result.warehouse,
        detail=result.detail,
    )
    await record.move(s, s.status, tell_parent=result.moved)


async def shrink(s: ShipmentState, removal: LineRemoval) -> None:
    """Generation 10: take a channel edit's removed units off the shipment (the caller
    holds the edit lock). Every line gone: the shipment is to be cancelled."""
    if removal.key in s.edits_applied:
        return
    if s.picking_started():
        s.edits_applied.add(removal.key)
        record.event(s, "edit_not_applied", edit_id=removal.key, reason="picking has started")
        await record.tell_order(
            s,
            edit_refused=f"edit {removal.key}: picking of {s.input.shipment_id} had started",
        )
        return
    keep = {sku: max(ln.quantity - removal.removed.get(sku, 0), 0) for sku, ln in s.lines.items()}
    released = await _change_reservations(
        s,
        names.SHRINK_SHIPMENT,
        ShrinkRequest(order_id=s.input.order_id, shipment_id=s.input.shipment_id, keep=keep),
        int,
    )
    s.edits_applied.add(removal.key)
    for sku, units in keep.items():
        if units == 0:
            del s.lines[sku]
        else:
            s.lines[sku].quantity = units
    record.event(
        s,
        "lines_removed",
        edit_id=removal.key,
        removed={k: v for k, v in removal.removed.items() if v},
        released=released,
        left={sku: ln.quantity for sku, ln in s.lines.items()},
    )
    if not s.lines:
        # The run loop sees it and cancels: the row and the order hear it there.
        s.cancel_reason = "every line was removed in the channel"
        return
    await record.move(s, s.status)


async def _change_reservations(
    s: ShipmentState, activity: str, request: Any, result_type: type[T]
) -> T:
    """Run the activity that changes the shipment's reservations with ``moving`` set: no
    scans and no other change while it runs, whatever it answers."""
    s.moving = True
    try:
        result: T = await workflow.execute_activity(
            activity,
            request,
            result_type=result_type,
            start_to_close_timeout=policies.DATABASE_TIMEOUT,
            retry_policy=policies.DATABASE,
        )
    finally:
        s.moving = False
    return result
