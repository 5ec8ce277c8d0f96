"""Generations before 9: the pack waits for the label, and tracking applies as it comes.

Executions of those generations may still be running (and their histories are in
``tests/workflows/histories``): they replay this path exactly as it ran. New shipments
take ``shipping.ship_after_pack``.
"""

from __future__ import annotations

from temporalio import workflow

from domain import names
from domain.models import (
    CommitRequest,
    FulfillmentResult,
    LabelRequest,
    LabelResult,
    PackInput,
    PackResult,
)
from domain.status import TRACKING_TO_SHIPMENT, ShipmentStatus, TrackingStatus
from workflows import patches, policies
from workflows.fulfillment import ending, label, record, shipping
from workflows.fulfillment.state import ShipmentState

#: Shipment states after shipping that move the parent order (to delivered / failed).
TELL_PARENT_AFTER_SHIPPING = frozenset({ShipmentStatus.DELIVERED, ShipmentStatus.EXCEPTION})

#: Tracking milestones the customer hears about, once each.
NOTIFY_ON = {
    TrackingStatus.OUT_FOR_DELIVERY: "out_for_delivery",
    TrackingStatus.DELIVERED: "delivered",
}


async def ship_label_first(s: ShipmentState, packed: PackInput) -> FulfillmentResult:
    """The pack Update handed over a verified weight and waits: buy the label, ship,
    answer the pack, then follow tracking until delivered."""
    shipment = s.input
    bought: LabelResult = await workflow.execute_activity(
        names.BUY_LABEL,
        LabelRequest(
            order_id=shipment.order_id,
            shipment_id=shipment.shipment_id,
            warehouse=s.warehouse,
            address=shipment.address,
            shipping_method=shipment.shipping_method,
            weight_grams=packed.weight_grams,
            idempotency_key=f"label-{shipment.shipment_id}",
        ),
        result_type=LabelResult,
        start_to_close_timeout=policies.EXTERNAL_TIMEOUT,
        retry_policy=policies.EXTERNAL,
    )
    label.take_label(s, bought)
    if s.stopped():
        return await ending.end_cancelled(s)
    s.shipping = True
    if s.floor_in_read_model:
        await shipping.ship(s, packed, bought)
    else:
        await workflow.execute_activity(
            names.COMMIT_STOCK,
            CommitRequest(shipment_id=shipment.shipment_id),
            start_to_close_timeout=policies.DATABASE_TIMEOUT,
            retry_policy=policies.DATABASE,
        )
        record.event(s, "shipped", weight_grams=packed.weight_grams)
        s.pack_result = PackResult(tracking=bought.tracking, label_url=bought.label_url)
        await record.move(s, ShipmentStatus.SHIPPED, person_waiting=True)
        await record.notify(s, "shipped", {"tracking_number": bought.tracking.number})
    await _follow_tracking(s)
    return FulfillmentResult(shipment_id=shipment.shipment_id, status=s.status, tracking=s.tracking)


async def _follow_tracking(s: ShipmentState) -> None:
    """Carrier events as they come, until delivered."""
    while s.status != ShipmentStatus.DELIVERED:
        await workflow.wait_condition(lambda: bool(s.tracking_inbox))
        event = s.tracking_inbox.pop(0)
        record.event(
            s,
            f"tracking_{event.status.value}",
            occurred_at=event.occurred_at.isoformat(),
            detail=event.detail,
        )
        status = TRACKING_TO_SHIPMENT.get(event.status, s.status)
        # In transit / out for delivery don't change the order's status: the parent
        # hears only of outcomes (exception; delivered, from generation 8 on, through
        # the result); the shipments projection and this workflow's Query show every step.
        if s.floor_in_read_model:
            tell_parent = status == ShipmentStatus.EXCEPTION
        else:
            tell_parent = status in TELL_PARENT_AFTER_SHIPPING or not s.patched(
                patches.PARENT_HEARS_TRACKING_OUTCOMES_ONLY
            )
        if s.floor_in_read_model:
            if event.status in NOTIFY_ON:
                record.decide_notify(s, NOTIFY_ON[event.status], {"detail": event.detail})
            await record.move(s, status, tell_parent=tell_parent)
            continue
        await record.move(s, status, tell_parent=tell_parent)
        if event.status in NOTIFY_ON:
            await record.notify(s, NOTIFY_ON[event.status], {"detail": event.detail})
