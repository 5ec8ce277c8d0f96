"""Marking the order stuck for ops, and clear again: the ``Stuck`` search attribute and
the timeline events, for each source ``StuckSources`` keeps (the step SLA breach, a
refused write-back, a channel change not applied, a shipment stuck on its carrier)."""

from __future__ import annotations

from temporalio import workflow

from domain.models import ShipmentUpdate, StuckInfo
from domain.status import StuckReason
from workflows.order.journal import STUCK, Journal
from workflows.order.state import OrderData


class StuckFlags:
    def __init__(self, data: OrderData, journal: Journal) -> None:
        self.data = data
        self.journal = journal

    def is_stuck(self) -> bool:
        return self.data.stuck.effective() is not None

    def _show_if_changed(self, was_stuck: bool) -> None:
        """Upsert ``Stuck`` when a change of sources turned the order stuck (or clear)."""
        stuck = self.is_stuck()
        if stuck != was_stuck:
            workflow.upsert_search_attributes([STUCK.value_set(stuck)])

    def note_shipment(self, update: ShipmentUpdate) -> None:
        """A shipment stuck on its carrier (or clear again): the order shows the first
        such reason, next to its own step SLAs (``Stuck`` search attribute, ops views)."""
        was_stuck = self.is_stuck()
        stuck = self.data.stuck.shipments
        before = stuck.get(update.shipment_id)
        if update.stuck is None:
            stuck.pop(update.shipment_id, None)
        else:
            stuck[update.shipment_id] = update.stuck
        if before == update.stuck:
            return
        if update.stuck is not None and update.stuck.reason is not None:
            self.journal.event(
                "shipment_stuck",
                shipment_id=update.shipment_id,
                reason=update.stuck.reason.value,
                detail=update.stuck.detail,
            )
        elif before is not None and before.reason is not None:
            self.journal.event(
                "shipment_unstuck", shipment_id=update.shipment_id, reason=before.reason.value
            )
        self._show_if_changed(was_stuck)

    def note_channel_refusal(self, why: str) -> None:
        """The channel refused a write (a user error): the order is stuck with the reason
        for ops; nothing waits on it. The first refusal is the one shown."""
        was_stuck = self.is_stuck()
        self.journal.event("channel_writeback_failed", error=why)
        if self.data.stuck.channel is None:
            self.data.stuck.channel = _channel_stuck(StuckReason.CHANNEL_WRITEBACK_FAILED, why)
        self._show_if_changed(was_stuck)

    def flag_for_ops(self, reason: StuckReason, detail: str) -> None:
        """A change from the channel the order did not apply: ops decide."""
        was_stuck = self.is_stuck()
        self.data.stuck.ops_flags.append(_channel_stuck(reason, detail))
        self._show_if_changed(was_stuck)

    async def clear_step(self) -> None:
        """The step that outlived its SLA is done: the order's own breach ends."""
        stuck = self.data.stuck
        assert stuck.step is not None
        stuck_for = workflow.now() - stuck.step.since
        self.journal.event(
            "unstuck", step=stuck.step.step, stuck_seconds=int(stuck_for.total_seconds())
        )
        stuck.step = None
        # A shipment stuck on its carrier, a refused write-back or a channel change left to
        # ops keeps the order stuck. (Histories recorded when only the shipments counted
        # replay unchanged: an upsert's value is not part of the replay check.)
        workflow.upsert_search_attributes([STUCK.value_set(self.is_stuck())])
        await self.journal.flush()

    async def clear_at_end(self) -> None:
        """The order is over: its shipments' carrier troubles and its step breach end
        with it; a refused write-back or a flag stays (ops sort it out in the channel)."""
        stuck = self.data.stuck
        if stuck.shipments:
            stuck.shipments.clear()
            if stuck.step is None:
                workflow.upsert_search_attributes([STUCK.value_set(self.is_stuck())])
        if stuck.step is not None:
            await self.clear_step()


def _channel_stuck(reason: StuckReason, detail: str) -> StuckInfo:
    return StuckInfo(
        step="channel",
        since=workflow.now(),
        sla_seconds=0,
        reason=reason,
        detail=detail[:500],
    )
