"""Holds, and the cancel check: the two things the order's spine stops for.

A hold pauses the spine (``proceed``) and, once shipments run, the floor too; a cancel
unwinds the spine to compensation by raising ``Cancelled`` at the next check.
"""

from __future__ import annotations

from temporalio import workflow

from domain.models import Hold
from domain.status import HoldReason, OrderStatus
from domain.writeback import WritebackKind
from workflows.fulfillment import FulfillmentWorkflow
from workflows.order.channel import ChannelWrites
from workflows.order.journal import Journal
from workflows.order.state import OrderData


class Cancelled(Exception):
    """Raised inside ``run`` to unwind to compensation when a cancel is requested."""


def check_cancel(data: OrderData) -> None:
    if data.cancel_reason is not None:
        raise Cancelled()


class Holds:
    def __init__(self, data: OrderData, journal: Journal, channel: ChannelWrites) -> None:
        self.data = data
        self.journal = journal
        self.channel = channel

    def place(self, reason: HoldReason, note: str | None) -> Hold:
        """Hold the order (mirrored to the channel); the spine stops at its next step."""
        hold = Hold(
            hold_id=str(workflow.uuid4()), reason=reason, note=note, created_at=workflow.now()
        )
        self.data.holds[hold.hold_id] = hold
        self.journal.event("hold_placed", hold_id=hold.hold_id, reason=reason.value, note=note)
        self.channel.put(
            WritebackKind.HOLD,
            f"hold:{hold.hold_id}",
            hold_id=hold.hold_id,
            hold_reason=reason,
            note=note,
        )
        return hold

    def release(self, hold_id: str) -> None:
        hold = self.data.holds.pop(hold_id)
        self.journal.event("hold_released", hold_id=hold.hold_id, reason=hold.reason.value)
        self.channel.put(WritebackKind.RELEASE, f"release:{hold.hold_id}", hold_id=hold.hold_id)

    async def proceed(self) -> None:
        """Wait while the order is held; unwind if it was cancelled."""
        data = self.data
        check_cancel(data)
        if not data.holds:
            return
        resume = data.status
        await self.journal.set_status(OrderStatus.ON_HOLD)
        await workflow.wait_condition(lambda: not data.holds or data.cancel_reason is not None)
        check_cancel(data)
        await self.journal.set_status(resume)

    async def tell_children(self, held: bool) -> None:
        """Stop (or resume) the floor: scans and packing are refused while held."""
        for child in self.data.running_children():
            await child.signal(FulfillmentWorkflow.set_hold, held)
