"""The fulfilment phase: one ``FulfillmentWorkflow`` child per shipment, their moves
applied as they signal them, hand-backs routed again, and the order's outcome once every
child is done. Also where the order reads the floor (the shipments' rows) when it must."""

from __future__ import annotations

import asyncio

from temporalio import workflow

from domain import names
from domain.models import (
    FulfillmentInput,
    FulfillmentResult,
    OrderLine,
    ShipmentView,
)
from domain.status import OrderStatus, ShipmentStatus, StuckReason
from domain.templates import Step
from workflows import patches, policies
from workflows.fulfillment import FulfillmentWorkflow
from workflows.order.allocation import Allocation
from workflows.order.channel import ChannelWrites
from workflows.order.holds import Cancelled, Holds
from workflows.order.journal import Journal
from workflows.order.state import OrderData
from workflows.order.stuck import StuckFlags


class Shipments:
    def __init__(
        self,
        data: OrderData,
        journal: Journal,
        holds: Holds,
        allocation: Allocation,
        channel: ChannelWrites,
        stuck: StuckFlags,
    ) -> None:
        self.data = data
        self.journal = journal
        self.holds = holds
        self.allocation = allocation
        self.channel = channel
        self.stuck = stuck

    async def start_child(self, shipment: ShipmentView) -> None:
        data, order = self.data, self.data.order
        data.children[shipment.shipment_id] = await workflow.start_child_workflow(
            FulfillmentWorkflow.run,
            FulfillmentInput(
                order_id=order.order_id,
                shipment_id=shipment.shipment_id,
                warehouse=shipment.warehouse,
                priority=data.priority,
                email=order.email,
                shipping_method=order.shipping_method,
                address=order.shipping_address,
                lines=shipment.lines,
                verify_at_pack=data.plan.has(Step.PACK_VERIFICATION),
                packaging_check=data.plan.has(Step.PACKAGING_CHECK),
                held=bool(data.holds),
                generation=data.gen,
                label_sla_seconds=order.options.label_sla_seconds,
                tracking_stale_seconds=order.options.tracking_stale_seconds,
                writeback_channel=order.writeback_channel if self.channel.active else None,
                external_id=order.external_id if self.channel.active else None,
            ),
            id=names.fulfillment_workflow_id(shipment.shipment_id),
        )

    def _all_settled(self) -> bool:
        """No re-route or edit in flight and every child done: the order can end."""
        data = self.data
        return (
            data.rerouting == 0
            and data.editing == 0
            and all(c.done() for c in data.children.values())
        )

    def _cancel_to_forward(self) -> bool:
        return self.data.cancel_reason is not None and not self.data.cancel_forwarded

    async def fulfil(self) -> None:
        """Start the shipments, follow them to the end, and settle the order's outcome."""
        data = self.data
        data.fulfilling = True
        await self.journal.set_status(OrderStatus.READY_TO_PICK)
        for shipment in list(data.shipments.values()):
            await self.holds.proceed()
            if shipment.shipment_id in data.children or shipment.shipment_id in data.rejected:
                continue  # started by an edit's allocation; emptied by an edit
            await self.start_child(shipment)
        while True:
            await workflow.wait_condition(
                lambda: (
                    bool(data.inbox)
                    or self._all_settled()
                    or self._cancel_to_forward()
                    or bool(self._rejections())
                )
            )
            if data.cancel_reason is not None and not data.cancel_forwarded:
                # Children that already shipped ignore this; the rest stop and report back.
                data.cancel_forwarded = True
                for child in data.running_children():
                    await child.signal(FulfillmentWorkflow.cancel, data.cancel_reason)
            await self.apply_updates()
            for rejection in self._rejections():
                data.rejected.add(rejection.shipment_id)
                data.shipments[rejection.shipment_id].status = ShipmentStatus.CANCELLED
                data.rerouting += 1
                asyncio.create_task(self._reroute(rejection))
            if self._all_settled():
                break
        await self._settle()

    async def _settle(self) -> None:
        data = self.data
        results = [c.result() for sid, c in data.children.items() if sid not in data.rejected]
        if not results:  # every shipment was handed back and the order cancelled meanwhile
            data.cancel_reason = data.cancel_reason or "no warehouse could ship the order"
            raise Cancelled()
        for r in results:
            data.shipments[r.shipment_id].status = r.status
        if all(r.status == ShipmentStatus.DELIVERED for r in results):
            await self.journal.set_status(OrderStatus.DELIVERED)
            return
        if all(r.status == ShipmentStatus.CANCELLED for r in results):
            data.cancel_reason = data.cancel_reason or "fulfillment cancelled"
            raise Cancelled()
        await self.journal.set_status(OrderStatus.FAILED)

    def _rejections(self) -> list[FulfillmentResult]:
        """Finished children that handed their shipment back and are not re-routed yet."""
        found = []
        for sid, child in self.data.children.items():
            if sid in self.data.rejected or not child.done():
                continue
            r = child.result()
            if r.rejected:
                found.append(r)
        return found

    async def _reroute(self, result: FulfillmentResult) -> None:
        """A warehouse handed a shipment back: route its lines again without it."""
        if result.warehouse:
            self.data.refused_by.add(result.warehouse)
        self.journal.event(
            "rerouting",
            shipment_id=result.shipment_id,
            warehouse=result.warehouse,
            reason=result.reject_reason,
        )
        lines = [OrderLine(sku=ln.sku, quantity=ln.quantity) for ln in result.lines]
        await self.allocate_more(lines, avoid_refusers=True)

    async def allocate_more(self, lines: list[OrderLine], *, avoid_refusers: bool) -> None:
        """Route ``lines`` as new shipments (or a backorder) while the order goes on, and
        start them once the fulfilment phase has begun. Runs as a task; the caller counted
        it in ``rerouting``. ``avoid_refusers``: not at warehouses that handed lines back
        (read under the lock: another hand-back may add one while this waits)."""
        data = self.data
        try:
            async with self.allocation.lock:
                exclude = sorted(data.refused_by) if avoid_refusers else []
                try:
                    shipments = await self.allocation.route(lines, exclude, first_pass=False)
                except Cancelled:
                    return  # the run loop compensates the whole order
                self.allocation.adopt(shipments)
                if data.fulfilling:
                    for s in shipments:
                        await self.start_child(data.shipments[s.shipment_id])
            if data.fulfilling:
                await self.journal.roll_up()
        finally:
            data.rerouting -= 1

    async def apply_updates(self) -> None:
        """Apply the moves the children signalled, in order; then the status rolls up."""
        data = self.data
        changed = False
        while data.inbox:
            update = data.inbox.pop(0)
            view = data.shipments[update.shipment_id]
            view.status = update.status
            if update.warehouse and update.warehouse != view.warehouse:
                self.journal.event(
                    "shipment_moved",
                    shipment_id=view.shipment_id,
                    source=view.warehouse,
                    to=update.warehouse,
                )
                view.warehouse = update.warehouse
                self.journal.show_warehouses()
            if update.lines:
                view.lines = update.lines
            view.packaging_checked = view.packaging_checked or update.packaging_checked
            view.steps_done.update(update.steps_done)
            if update.tracking is not None:
                view.tracking = update.tracking
                view.label_url = update.label_url
            if update.record is not None:
                data.pending_shipments.append(update.record)
            if data.gen >= patches.GENERATION_9.since:
                self.stuck.note_shipment(update)
            if update.writeback_failed is not None:
                self.stuck.note_channel_refusal(update.writeback_failed)
            if update.edit_refused is not None:
                self.stuck.flag_for_ops(
                    StuckReason.ORDER_EDITED_IN_CHANNEL,
                    f"{update.edit_refused}: its units were not removed; adjust the order",
                )
            if (
                update.status == ShipmentStatus.CANCELLED
                and data.cancel_reason is None
                and view.shipment_id not in data.rejected
            ):
                # Only a channel edit cancels a shipment while its order goes on (generation
                # 10): every line of it was removed. It leaves the order's shipments.
                self.drop_emptied(view)
            changed = True
        if changed:
            await self.journal.roll_up()

    def drop_emptied(self, view: ShipmentView) -> None:
        """An edit removed every line of a shipment: it leaves the order's shipments."""
        self.data.rejected.add(view.shipment_id)
        view.lines = []
        self.journal.event("shipment_emptied", shipment_id=view.shipment_id)
        self.journal.show_warehouses()

    async def refresh_floor(self) -> None:
        """Read where the floor really is (the shipments' rows): the order does not hear
        floor moves, so before calling a floor step late it looks (generation 8)."""
        data = self.data
        rows: list[ShipmentView] = await workflow.execute_local_activity(
            names.READ_FLOOR,
            data.order.order_id,
            result_type=list[ShipmentView],
            start_to_close_timeout=policies.DATABASE_TIMEOUT,
            retry_policy=policies.DATABASE,
        )
        for row in rows:
            view = data.shipments.get(row.shipment_id)
            if view is None or row.shipment_id in data.rejected:
                continue
            view.steps_done.update(row.steps_done)
            if sum(ln.picked for ln in row.lines) >= sum(ln.picked for ln in view.lines):
                view.lines = row.lines
            if view.status == ShipmentStatus.OPEN and row.status == ShipmentStatus.PICKING:
                view.status = row.status
