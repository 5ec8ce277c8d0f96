"""What the outside sees of an order: its timeline events, its status and search
attributes, its read-model row (with the events, shipment rows and customer messages
decided since the last write, in one local activity), and the ``details`` snapshot.

Events and rows are gathered in memory and written together by ``flush``
(docs/decisions/0002-notifications-with-the-move.md: customer messages ride in
the same transaction).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey

from domain import names
from domain.models import (
    NotifyRequest,
    OrderEvent,
    OrderProjection,
    OrderState,
    ProjectOrderInput,
)
from domain.status import OrderStatus
from domain.summary import OrderSummary
from workflows import policies
from workflows.order.state import OrderData
from workflows.order.steps import StepClock

ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
WAREHOUSE = SearchAttributeKey.for_keyword_list("Warehouse")
TAGS = SearchAttributeKey.for_keyword_list("Tags")
STUCK = SearchAttributeKey.for_bool("Stuck")


class Journal:
    def __init__(self, data: OrderData, steps: StepClock) -> None:
        self.data = data
        self.steps = steps

    def event(self, type_: str, **detail: Any) -> None:
        data = self.data
        data.event_seq += 1
        data.pending_events.append(
            OrderEvent(key=f"o{data.event_seq}", at=workflow.now(), type=type_, detail=detail)
        )

    async def set_status(self, status: OrderStatus, *, flush: bool = True) -> None:
        """Move the order; the projection is written only when something changed.

        ``flush=False``: the caller's next step writes the projection anyway.
        """
        data = self.data
        if status == data.status and not data.pending_events and not data.pending_shipments:
            return
        if status != data.status:
            data.status = status
            workflow.upsert_search_attributes([ORDER_STATUS.value_set(status.value)])
        if flush:
            await self.flush()

    async def roll_up(self) -> None:
        """Set the status its live shipments say (the order is in fulfilment)."""
        await self.set_status(self.data.status_from_shipments())

    async def show_change(self) -> None:
        """Write a change a person or the channel made: once shipments were started the
        status rolls up from them; before, the spine owns the status and only the row is
        written."""
        if self.data.children:
            await self.roll_up()
        else:
            await self.flush()

    def show_warehouses(self) -> None:
        workflow.upsert_search_attributes([WAREHOUSE.value_set(self.data.live_warehouses())])

    async def flush(self) -> None:
        """Write the projection and pending events (one local activity)."""
        self.steps.note()
        data = self.data
        data.version += 1
        events, data.pending_events = data.pending_events, []
        shipments, data.pending_shipments = data.pending_shipments, []
        notifications, data.pending_notifications = data.pending_notifications, []
        await workflow.execute_local_activity(
            names.RECORD_ORDER,
            ProjectOrderInput(
                order=self._projection(),
                events=events,
                shipments=shipments,
                notifications=notifications,
            ),
            start_to_close_timeout=policies.DATABASE_TIMEOUT,
            retry_policy=policies.DATABASE,
        )

    def _projection(self) -> OrderProjection:
        data, o = self.data, self.data.order
        stuck = data.stuck.effective()
        return OrderProjection(
            order_id=o.order_id,
            version=data.version,
            name=o.name,
            channel=o.channel,
            external_id=o.external_id,
            email=o.email,
            status=data.status,
            tags=data.tags,
            priority=data.priority,
            warehouses=data.live_warehouses(),
            total=o.total,
            currency=o.currency,
            created_at=o.created_at or workflow.info().start_time,
            updated_at=workflow.now(),
            stuck=stuck is not None,
            # What the detail view needs when the workflow can't be queried: written and
            # read through one model (domain/summary.py).
            summary=OrderSummary(
                payment=data.payment,
                holds=list(data.holds.values()),
                lines=o.lines,
                routing=data.routing,
                cancel_reason=data.cancel_reason,
                steps=self.steps.views(),
                # The templates applied (analytics groups step times by it).
                template=list(data.plan.tags),
                tags_version=data.tags_version,
                stuck_reason=stuck.describe() if stuck is not None else None,
                stuck_since=stuck.since if stuck else None,
            ).model_dump(mode="json"),
        )

    def snapshot(self) -> OrderState:
        """The live state of the order (the ``details`` query and some Updates' answer)."""
        data = self.data
        return OrderState(
            order_id=data.order.order_id,
            name=data.order.name,
            status=data.status,
            tags=data.tags,
            priority=data.priority,
            holds=list(data.holds.values()),
            lines=data.order.lines,
            shipments=list(data.shipments.values()),
            routing=data.routing,
            payment=data.payment,
            cancel_reason=data.cancel_reason,
            steps=self.steps.views(),
            stuck=data.stuck.effective(),
            tags_version=data.tags_version,
        )

    def notice(self, milestone: str) -> NotifyRequest:
        """A customer message, keyed so it is sent once whatever the retries."""
        return NotifyRequest(
            order_id=self.data.order.order_id,
            email=self.data.order.email,
            milestone=milestone,
            idempotency_key=f"notify-{self.data.order.order_id}-{milestone}",
        )

    async def notify(self, milestone: str) -> None:
        await workflow.execute_activity(
            names.NOTIFY_CUSTOMER,
            self.notice(milestone),
            start_to_close_timeout=policies.EXTERNAL_TIMEOUT,
            retry_policy=policies.EXTERNAL,
        )
