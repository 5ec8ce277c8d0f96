"""``OrderWorkflow``: one order from intake to delivered (or cancelled).

Steps: verification → payment confirmation → allocation → fulfillment (one
``FulfillmentWorkflow`` child per shipment) → delivered. People reach the order through
Updates (cancel, hold, release); Shopify's ``orders/paid`` and stock arriving for a
backorder are Signals. Business outcomes (held, backordered, cancelled) are states; the
workflow fails only on bugs.

This class holds the Temporal entry points (run, signals, updates and their validators,
the query) and wires the modules beside it, which do the work on the order's state
(``state.OrderData``): docs/decisions/0019-workflows-as-packages-over-one-state.md.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from domain.codes import UpdateRefusal
from domain.models import (
    AddressChange,
    AddressChangeResult,
    CancelInput,
    CancelResult,
    HoldInput,
    HoldPlaced,
    LineEdit,
    OrderInput,
    OrderState,
    ReleaseInput,
    ShipmentUpdate,
    TagChange,
)
from domain.status import SHIPPED_OR_LATER, OrderStatus
from domain.tagging import merge_tags
from domain.verification import verify_order
from workflows import patches
from workflows.order.allocation import Allocation
from workflows.order.channel import ChannelWrites
from workflows.order.compensation import compensate
from workflows.order.edits import ChannelEdits
from workflows.order.holds import Cancelled, Holds
from workflows.order.journal import TAGS, Journal
from workflows.order.payment import Payments
from workflows.order.shipments import Shipments
from workflows.order.sla import SlaWatchdog
from workflows.order.state import OrderData
from workflows.order.steps import StepClock
from workflows.order.stuck import StuckFlags


@workflow.defn
class OrderWorkflow:
    @workflow.init
    def __init__(self, order: OrderInput) -> None:
        self.data = data = OrderData.at_intake(order)
        self.steps = StepClock(data)
        self.journal = journal = Journal(data, self.steps)
        self.stuck = StuckFlags(data, journal)
        self.channel = ChannelWrites(data, journal, self.stuck)
        self.holds = Holds(data, journal, self.channel)
        self.payments = Payments(data, journal, self.holds)
        self.allocation = Allocation(data, journal, self.holds)
        self.shipments = Shipments(
            data, journal, self.holds, self.allocation, self.channel, self.stuck
        )
        self.sla = SlaWatchdog(data, self.steps, journal, self.stuck, self.shipments)
        self.edits = ChannelEdits(
            data, journal, self.holds, self.stuck, self.shipments, self.channel
        )

    @workflow.run
    async def run(self, order: OrderInput) -> OrderState:
        data, journal = self.data, self.journal
        data.gen = patches.generation_of_new_order()
        self.channel.open()
        journal.event("received", channel=order.channel, external_id=order.external_id)
        if data.tags_version is not None:
            journal.event(
                "tagged",
                tags=data.tags,
                rules_version=data.tags_version,
                matched=data.tag_rules_matched,
                priority=data.priority,
            )
        if patches.in_force(data.gen, patches.STEP_SLA_WATCHDOG):
            self.sla.start()
        try:
            await self._verify()
            await self.payments.confirm()
            await self.allocation.allocate()
            if data.gen >= patches.GENERATION_9.since:
                # Accepted for fulfilment: the customer's confirmation goes with the next
                # projection write, in its transaction
                # (docs/decisions/0002-notifications-with-the-move.md).
                data.pending_notifications.append(journal.notice("confirmed"))
            await self.shipments.fulfil()
        except Cancelled:
            await compensate(data, journal, self.payments, self.channel)
        await self.channel.drained()  # the channel hears everything before the end
        data.finished = True
        await self.stuck.clear_at_end()
        await self.sla.stopped()
        return self.details()

    async def _verify(self) -> None:
        # The postal-code check and billing-postcode risk came later; older orders replay
        # the verification they had.
        data = self.data
        strict = patches.in_force(data.gen, patches.POSTAL_CODE_CHECK)
        result = verify_order(data.order, strict=strict)
        for reason, note in result.holds:
            self.holds.place(reason, note)
        self.journal.event(
            "verified" if result.passed else "verification_failed",
            risk_score=result.risk_score,
            risk_reasons=result.risk_reasons,
        )
        await self.holds.proceed()
        data.verified = True

    # --- query and signals --------------------------------------------------------------

    @workflow.query
    def details(self) -> OrderState:
        return self.journal.snapshot()

    @workflow.signal
    def payment_received(self) -> None:
        """Shopify's ``orders/paid`` for an order that was pending."""
        self.data.paid_signal = True

    @workflow.signal
    def stock_available(self) -> None:
        """An inventory adjustment added stock for one of this backorder's SKUs."""
        self.data.stock_signal = True

    @workflow.signal
    def shipment_changed(self, update: ShipmentUpdate) -> None:
        """A child ``FulfillmentWorkflow`` moved (picked, packed, shipped, delivered...)."""
        self.data.inbox.append(update)

    # --- updates ------------------------------------------------------------------------

    @workflow.update
    async def cancel(self, request: CancelInput) -> CancelResult:
        data = self.data
        if data.cancel_reason is None:
            data.cancel_reason = request.reason  # the run loop compensates or stops children
            data.cancel_source = request.source
            data.cancel_flags = request
        await workflow.wait_condition(
            lambda: data.status == OrderStatus.CANCELLED or data.status in SHIPPED_OR_LATER
        )
        if data.status != OrderStatus.CANCELLED:
            raise _already_shipped()
        return CancelResult(order_id=data.order.order_id, status=data.status)

    @cancel.validator
    def _validate_cancel(self, request: CancelInput) -> None:
        if self.data.status in SHIPPED_OR_LATER:
            raise _already_shipped()

    @workflow.update
    async def place_hold(self, request: HoldInput) -> HoldPlaced:
        hold = self.holds.place(request.reason, request.note)
        if self.data.children:
            # In fulfillment: the floor stops too (scans and packing refused until released).
            await self.holds.tell_children(True)
        await self.journal.show_change()
        return HoldPlaced(hold_id=hold.hold_id)

    @place_hold.validator
    def _validate_hold(self, request: HoldInput) -> None:
        status = self.data.status
        if status in SHIPPED_OR_LATER or status == OrderStatus.CANCELLED:
            raise ApplicationError(
                f"an order that is {status.value} cannot be held",
                type=UpdateRefusal.NOT_HOLDABLE.value,
            )

    @workflow.update
    async def release_hold(self, request: ReleaseInput) -> OrderState:
        self.holds.release(request.hold_id)
        if self.data.children and not self.data.holds:
            # The last hold is gone: the floor resumes where it stopped.
            await self.holds.tell_children(False)
            await self.journal.roll_up()
        else:
            await self.journal.flush()
        return self.details()

    @release_hold.validator
    def _validate_release(self, request: ReleaseInput) -> None:
        if request.hold_id not in self.data.holds:
            raise ApplicationError(
                f"no active hold {request.hold_id}",
                type=UpdateRefusal.HOLD_NOT_FOUND.value,
            )

    @workflow.update
    async def change_address(self, change: AddressChange) -> AddressChangeResult:
        """Shopify corrected the shipping address (``orders/updated``), generation 10:
        applied before anyone picked, flagged for ops after (``edits.py``)."""
        return await self.edits.change_address(change)

    @change_address.validator
    def _validate_address(self, change: AddressChange) -> None:
        self._refuse_before_generation_10("address changes")
        status = self.data.status
        if status in SHIPPED_OR_LATER or status == OrderStatus.CANCELLED:
            raise ApplicationError(
                f"an order that is {status.value} keeps its address",
                type=UpdateRefusal.NOT_CHANGEABLE.value,
            )

    @workflow.update
    async def note_edit(self, edit: LineEdit) -> AddressChangeResult:
        """Shopify edited the order's lines (``orders/edited``), generation 10: applied
        before anyone picked, flagged for ops after; a repeated edit id is a no-op
        (``edits.py``, docs/decisions/0009-shopify-write-back.md, "Shopify's edits")."""
        return await self.edits.take(edit)

    @note_edit.validator
    def _validate_edit(self, edit: LineEdit) -> None:
        self._refuse_before_generation_10("edits")

    def _refuse_before_generation_10(self, what: str) -> None:
        if self.data.gen < patches.GENERATION_10.since:
            raise ApplicationError(
                f"this order predates {what} from the channel",
                type=UpdateRefusal.NOT_SUPPORTED.value,
            )

    @workflow.update
    async def change_tags(self, change: TagChange) -> OrderState:
        """Staff add or remove tags. Steps already fixed by the template stay as they are:
        a template is chosen once, so a late tag cannot skip a step."""
        data = self.data
        removed = {t.strip().lower() for t in change.remove}
        kept = [t for t in data.tags if t.strip().lower() not in removed]
        data.tags = merge_tags(kept, change.add) if change.add else kept
        self.journal.event("tags_changed", add=change.add, remove=change.remove, actor=change.actor)
        workflow.upsert_search_attributes([TAGS.value_set(data.tags)])
        await self.journal.flush()
        return self.details()

    @change_tags.validator
    def _validate_tags(self, change: TagChange) -> None:
        if not change.add and not change.remove:
            raise ApplicationError(
                "nothing to add or remove",
                type=UpdateRefusal.INVALID_TAGS.value,
            )
        bad = [t for t in change.add if not t.strip() or len(t) > 64 or "," in t]
        if bad:
            raise ApplicationError(
                f"invalid tags: {bad}",
                type=UpdateRefusal.INVALID_TAGS.value,
            )


def _already_shipped() -> ApplicationError:
    return ApplicationError(
        "the order has already shipped", type=UpdateRefusal.ALREADY_SHIPPED.value
    )
