"""Generation 10: the shipment tells the order's sales channel its fulfillment and its
carrier milestones (docs/decisions/0009-shopify-write-back.md), through a
``WritebackQueue`` that runs in the background of the shipment.
"""

from __future__ import annotations

import functools

from domain.models import TrackingEvent
from domain.writeback import (
    EVENT_STATUSES,
    WritebackKind,
    WritebackLine,
    WritebackRequest,
    WritebackResult,
    fulfillment_key,
)
from workflows import patches
from workflows.fulfillment import record
from workflows.fulfillment.state import ShipmentState
from workflows.writeback import WritebackQueue


def open_writeback(s: ShipmentState) -> WritebackQueue | None:
    """The shipment's queue of channel writes; None when it has no channel to tell."""
    shipment = s.input
    if (
        shipment.generation >= patches.GENERATION_10.since
        and shipment.writeback_channel
        and shipment.external_id
    ):
        return WritebackQueue(
            functools.partial(_writeback_refused, s), functools.partial(_writeback_done, s)
        )
    return None


def write_back_fulfillment(s: ShipmentState, queue: WritebackQueue | None) -> None:
    """Shipped: one fulfillment in the channel for exactly this shipment's lines."""
    if queue is None or s.tracking is None:
        return
    queue.put(
        WritebackRequest(
            key=fulfillment_key(s.input.order_id, s.input.shipment_id),
            kind=WritebackKind.FULFILLMENT,
            channel=s.input.writeback_channel or "",
            order_id=s.input.order_id,
            external_id=s.input.external_id or "",
            shipment_id=s.input.shipment_id,
            lines=[
                WritebackLine(sku=ln.sku, quantity=ln.quantity)
                for ln in s.lines.values()
                if ln.quantity > 0
            ],
            tracking=s.tracking,
        )
    )


def write_back_event(s: ShipmentState, queue: WritebackQueue | None, event: TrackingEvent) -> None:
    """A carrier milestone that moved the parcel: a fulfillment event in the channel."""
    status = EVENT_STATUSES.get(event.status)
    if queue is None or status is None:
        return
    at = event.occurred_at.isoformat()
    queue.put(
        WritebackRequest(
            key=f"{s.input.order_id}:event:{s.input.shipment_id}:{status}:{at}",
            kind=WritebackKind.FULFILLMENT_EVENT,
            channel=s.input.writeback_channel or "",
            order_id=s.input.order_id,
            external_id=s.input.external_id or "",
            shipment_id=s.input.shipment_id,
            fulfillment_key=fulfillment_key(s.input.order_id, s.input.shipment_id),
            event_status=status,
            happened_at=event.occurred_at,
            message=event.detail,
        )
    )


def _writeback_done(s: ShipmentState, result: WritebackResult) -> None:
    record.event(
        s, "channel_written", key=result.key, remote_id=result.remote_id, existing=result.existing
    )


async def _writeback_refused(s: ShipmentState, request: WritebackRequest, why: str) -> None:
    """The channel refused a write: the shipment's timeline says so and the order is
    marked stuck (``channel_writeback_failed``); the shipment goes on."""
    record.event(s, "channel_writeback_failed", key=request.key, kind=request.kind, error=why)
    await record.move(s, s.status, tell_parent=False)
    await record.tell_order(
        s, writeback_failed=f"{request.kind.value} of {s.input.shipment_id}: {why}"
    )
