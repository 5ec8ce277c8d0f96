"""How a shipment ends before it ships: cancelled with its order (a bought label is
voided, the order releases the stock) or handed back by its warehouse (it releases its
own reservations and returns its lines for the order to route again).
"""

from __future__ import annotations

from temporalio import workflow

from domain import names
from domain.models import FulfillmentResult, RejectInput, RejectRequest
from domain.status import ShipmentStatus
from workflows import policies
from workflows.fulfillment import label, record
from workflows.fulfillment.state import ShipmentState


async def end_cancelled(s: ShipmentState) -> FulfillmentResult:
    """Cancelled before shipping: void a purchased label; the parent releases stock.

    A rejected shipment gives its own reservations back here and reports its lines, so
    the parent can route them again without the warehouse that refused them.
    """
    if s.rejected is not None and s.cancel_reason is None:
        return await _end_rejected(s, s.rejected)
    if s.tracking is not None or (s.pack_first and s.label_keys):
        await label.void_label(s)
    record.event(s, "shipment_cancelled", reason=s.cancel_reason)
    await record.move(s, ShipmentStatus.CANCELLED)
    return FulfillmentResult(shipment_id=s.input.shipment_id, status=s.status)


async def _end_rejected(s: ShipmentState, rejection: RejectInput) -> FulfillmentResult:
    await workflow.execute_activity(
        names.REJECT_SHIPMENT,
        RejectRequest(
            order_id=s.input.order_id,
            shipment_id=s.input.shipment_id,
            warehouse=s.warehouse,
            sku=rejection.sku,
            actor=rejection.actor,
        ),
        start_to_close_timeout=policies.DATABASE_TIMEOUT,
        retry_policy=policies.DATABASE,
    )
    record.event(
        s, "shipment_rejected", warehouse=s.warehouse, reason=rejection.reason, sku=rejection.sku
    )
    # The parent hears it from the result (it re-routes), not from a status signal.
    await record.move(s, ShipmentStatus.CANCELLED, tell_parent=False)
    return FulfillmentResult(
        shipment_id=s.input.shipment_id,
        status=s.status,
        rejected=True,
        reject_reason=rejection.reason,
        warehouse=s.warehouse,
        lines=[ln.model_copy(update={"picked": 0, "verified": 0}) for ln in s.lines.values()],
    )
