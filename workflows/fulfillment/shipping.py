"""From the packed parcel to the door (generation 9): buy the label, ship, follow tracking
until delivered (docs/decisions/0008-the-label-follows-the-pack.md).

``ship`` is generation 8's too: the stock commit writes the shipped row in its own
transaction, then the packer has the answer and the order hears it.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow

from domain import names
from domain.models import CommitRequest, FulfillmentResult, LabelResult, PackInput, PackResult
from domain.status import LabelStatus, ShipmentStatus
from workflows import policies
from workflows.fulfillment import channel, ending, label, record, stuck, tracking
from workflows.fulfillment.state import ShipmentState
from workflows.writeback import WritebackQueue


async def ship_after_pack(
    s: ShipmentState, packed: PackInput, writeback: WritebackQueue | None
) -> FulfillmentResult:
    """The pack Update recorded the parcel and answered; buy its label (the carrier's
    retries, ops' retry, the label SLA), ship, then follow tracking until delivered."""
    bought = await label.buy_label(s)
    if bought is None:
        return await ending.end_cancelled(s)
    label.take_label(s, bought)
    s.label_status = LabelStatus.READY
    if s.stuck is not None:  # the shipped row and the signal below carry the clearing
        stuck.unstick(s)
    s.shipping = True
    await ship(s, packed, bought)
    channel.write_back_fulfillment(s, writeback)
    s.last_news = workflow.now()
    silence = asyncio.create_task(tracking.watch_silence(s))
    while s.status != ShipmentStatus.DELIVERED:
        await workflow.wait_condition(
            lambda: bool(s.tracking_inbox) or (s.silent and s.stuck is None)
        )
        if s.tracking_inbox:
            await tracking.apply_event(s, s.tracking_inbox.pop(0), writeback)
        elif s.silent:
            await tracking.mark_stale(s)
    silence.cancel()
    if writeback is not None:
        # The channel hears everything before the shipment ends; what it said is in
        # the shipment's timeline.
        await writeback.drained()
        if s.pending_events:
            await record.move(s, s.status, tell_parent=False)
    return FulfillmentResult(shipment_id=s.input.shipment_id, status=s.status, tracking=s.tracking)


async def ship(s: ShipmentState, packed: PackInput, bought: LabelResult) -> None:
    """Commit the stock and mark the shipment shipped in one transaction (the commit
    activity writes the row), answer the packer, then tell the order."""
    now = workflow.now()
    s.steps_done.setdefault("pack", now)
    s.steps_done["ship"] = now
    record.event(s, "shipped", weight_grams=packed.weight_grams)
    record.decide_notify(s, "shipped", {"tracking_number": bought.tracking.number})
    s.status = ShipmentStatus.SHIPPED
    await workflow.execute_activity(
        names.COMMIT_STOCK,
        CommitRequest(shipment_id=s.input.shipment_id, record=record.row(s)),
        start_to_close_timeout=policies.DATABASE_TIMEOUT,
        retry_policy=policies.DATABASE,
    )
    s.pack_result = PackResult(tracking=bought.tracking, label_url=bought.label_url)
    await record.tell_order(s)
