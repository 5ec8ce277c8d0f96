"""Routing and reserving the order's lines: the whole order once, then handed-back or
added lines as new shipments; waiting as a backorder until stock comes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow

from domain import names
from domain.models import (
    AllocatedShipment,
    AllocationRequest,
    AllocationResult,
    OrderLine,
    ShipmentView,
)
from domain.status import OrderStatus, ShipmentStatus
from domain.templates import Step
from workflows import patches, policies
from workflows.order.holds import Holds, check_cancel
from workflows.order.journal import Journal
from workflows.order.state import OrderData


class Allocation:
    def __init__(self, data: OrderData, journal: Journal, holds: Holds) -> None:
        self.data = data
        self.journal = journal
        self.holds = holds
        #: One re-route allocates at a time: shipment numbers (``next_seq``) are handed
        #: out by the allocation, so two at once would both take the same number.
        self.lock = asyncio.Lock()

    async def allocate(self) -> None:
        """Route and reserve the whole order; wait as a backorder until stock comes."""
        shipments = await self.route(self.data.order.lines, exclude=[], first_pass=True)
        self.data.allocated = True
        self.adopt(shipments)
        check_cancel(self.data)

    async def route(
        self, lines: list[OrderLine], exclude: list[str], first_pass: bool
    ) -> list[AllocatedShipment]:
        """Allocate ``lines`` (all of them, or a rejected shipment's), backordering as needed.

        Returns the new shipments; raises ``Cancelled`` if the order is cancelled while
        it waits. ``first_pass`` keeps the order's status and hold handling of the spine.
        """
        data = self.data
        while True:
            if first_pass:
                await self.holds.proceed()
                await self.journal.flush()  # the order is visible before the query runs
            # From generation 8 a local activity: a short idempotent transaction, so the
            # order starts its shipment in the same workflow task instead of the next
            # (docs/decisions/0015-projection-writes-local-unless-a-person-waits.md).
            execute = (
                workflow.execute_local_activity
                if data.gen >= patches.FLOOR_GENERATION
                else workflow.execute_activity
            )
            data.allocating = True
            result: AllocationResult = await execute(
                names.ALLOCATE_STOCK,
                AllocationRequest(
                    order_id=data.order.order_id,
                    shipment_id=names.shipment_id_for(data.order.order_id, data.next_seq),
                    lines=lines,
                    address=data.order.shipping_address,
                    shipping_method=data.order.shipping_method,
                    priority=data.priority,
                    next_seq=data.next_seq,
                    exclude=exclude,
                    existing=list(data.shipments),
                ),
                result_type=AllocationResult,
                start_to_close_timeout=policies.DATABASE_TIMEOUT,
                retry_policy=policies.DATABASE,
            )
            data.allocating = False
            data.routing = result.routing
            shipments = result.allocated()
            if shipments:
                data.next_seq += len(shipments)
                self.journal.event(
                    "allocated",
                    warehouse=result.routing.decision,
                    shipments={s.shipment_id: s.warehouse for s in shipments},
                    reasons=result.routing.reasons,
                    rules_version=result.routing.rules_version,
                )
                return shipments
            await self._wait_for_stock(result.short_skus, first_pass)

    async def _wait_for_stock(self, short_skus: list[str], first_pass: bool) -> None:
        """A backorder: wait for ``stock_available`` (or the recheck timer), then the
        caller allocates again."""
        data = self.data
        data.stock_signal = False
        data.backordered = True
        self.journal.event("backordered", short_skus=short_skus)
        if first_pass:
            await self.journal.set_status(OrderStatus.BACKORDERED)
        else:
            data.waiting_for_stock += 1
            await self.journal.roll_up()
        recheck = timedelta(seconds=data.order.options.backorder_recheck_seconds)
        try:
            await workflow.wait_condition(
                lambda: data.stock_signal or data.cancel_reason is not None, timeout=recheck
            )
        except TimeoutError:
            self.journal.event("backorder_recheck")
        finally:
            if not first_pass:
                data.waiting_for_stock -= 1
        check_cancel(data)

    def adopt(self, shipments: list[AllocatedShipment]) -> None:
        """Take newly allocated shipments in (open, not started yet)."""
        plan = self.data.plan
        for s in shipments:
            self.data.shipments[s.shipment_id] = ShipmentView(
                shipment_id=s.shipment_id,
                warehouse=s.warehouse,
                status=ShipmentStatus.OPEN,
                lines=s.lines,
                packaging_check=plan.has(Step.PACKAGING_CHECK),
                verify_at_pack=plan.has(Step.PACK_VERIFICATION),
            )
        self.journal.show_warehouses()
