"""``OrderWorkflow``: one order from intake to delivered (or cancelled).

Steps: verification → payment confirmation → allocation → fulfillment (one
``FulfillmentWorkflow`` child per shipment) → delivered. People reach the order through
Updates (cancel, hold, release); Shopify's ``orders/paid`` and stock arriving for a
backorder are Signals. Business outcomes (held, backordered, cancelled) are states; the
workflow fails only on bugs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

from domain import names
from domain.codes import UpdateRefusal
from domain.floor import FLOOR_STEPS
from domain.models import (
    Address,
    AddressChange,
    AddressChangeResult,
    AllocatedShipment,
    AllocationRequest,
    AllocationResult,
    CancelInput,
    CancelResult,
    FulfillmentInput,
    FulfillmentResult,
    Hold,
    HoldInput,
    HoldPlaced,
    LineEdit,
    LineItemsRequest,
    LineItemsResult,
    LineRemoval,
    NotifyRequest,
    OrderEvent,
    OrderInput,
    OrderLine,
    OrderProjection,
    OrderState,
    PaymentRequest,
    PaymentResult,
    ProjectOrderInput,
    ProjectShipmentInput,
    ReleaseInput,
    ReleaseRequest,
    RelocateInput,
    RoutingDecision,
    ShipmentUpdate,
    ShipmentView,
    ShrinkRequest,
    StepView,
    StuckInfo,
    TagChange,
)
from domain.priority import order_priority
from domain.status import (
    PACKED_OR_LATER,
    PAYMENT_TAKEN,
    SHIPMENT_SHIPPED_OR_LATER,
    SHIPPED_OR_LATER,
    FinancialStatus,
    HoldReason,
    OrderStatus,
    PaymentState,
    ShipmentStatus,
    StuckReason,
    order_status_from_shipments,
)
from domain.tagging import merge_tags, tags_for
from domain.templates import DEFAULT_TEMPLATES, Step, StepPlan, plan_for
from domain.verification import verify_order
from domain.writeback import (
    WritebackKind,
    WritebackRequest,
    WritebackResult,
    cancel_reason_code,
)
from workflows import patches, policies
from workflows.fulfillment import FulfillmentWorkflow
from workflows.writeback import WritebackQueue

ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
WAREHOUSE = SearchAttributeKey.for_keyword_list("Warehouse")
TAGS = SearchAttributeKey.for_keyword_list("Tags")
STUCK = SearchAttributeKey.for_bool("Stuck")

#: While a floor step is over its SLA, how often the order looks at the floor again.
FLOOR_RECHECK = timedelta(minutes=5)


class _Cancelled(Exception):
    """Raised inside ``run`` to unwind to compensation when a cancel is requested."""


@workflow.defn
class OrderWorkflow:
    @workflow.init
    def __init__(self, order: OrderInput) -> None:
        self.order = order
        self.status = OrderStatus.RECEIVED
        # Tag rules are pure data handed over at intake, so evaluating them here is
        # deterministic; orders from before the rules carry none and keep their own tags.
        tagged = tags_for(order)
        self.tags = tagged.tags
        self.tags_version = order.tagging.version if order.tagging else None
        self.tag_rules_matched = tagged.matched
        self.priority = max(order_priority(order), tagged.priority)
        #: The template: steps and SLAs fixed at start, so none can be skipped later.
        self.plan: StepPlan = plan_for(self.tags, order.templates or DEFAULT_TEMPLATES)
        self.verified = False
        self.step_started: dict[Step, datetime] = {}
        self.step_done: dict[Step, datetime] = {}
        self.stuck: StuckInfo | None = None
        #: Generation 9: shipments stuck on their carrier (label, tracking), by id.
        self.shipment_stuck: dict[str, StuckInfo] = {}
        #: Customer messages decided and written with the next flush (generation 9).
        self.pending_notifications: list[NotifyRequest] = []
        self.breached: set[Step] = set()
        self.finished = False
        self.watchdog: asyncio.Task[None] | None = None
        self.holds: dict[str, Hold] = {}
        self.routing: RoutingDecision | None = None
        self.shipments: dict[str, ShipmentView] = {}
        self.payment = PaymentState.PENDING
        self.cancel_reason: str | None = None
        self.cancel_forwarded = False
        self.paid_signal = False
        self.stock_signal = False
        self.inbox: list[ShipmentUpdate] = []
        self.children: dict[str, workflow.ChildWorkflowHandle[Any, FulfillmentResult]] = {}
        self.version = 0
        self.event_seq = 0
        self.pending_events: list[OrderEvent] = []
        #: Shipment rows handed over by children's floor moves, written with the next flush.
        self.pending_shipments: list[ProjectShipmentInput] = []
        self.allocated = False
        self.backordered = False
        self.next_seq = 1  # shipment numbering: <order>-1, -2, ... across splits/reroutes
        self.rejected: set[str] = set()  # shipments a warehouse handed back
        self.refused_by: set[str] = set()  # warehouses that handed back lines
        self.rerouting = 0  # re-allocations in flight after a rejection
        self.waiting_for_stock = 0  # of those, how many wait as backorders
        #: One re-route allocates at a time: shipment numbers (``next_seq``) are handed
        #: out by the allocation, so two at once would both take the same number.
        self.reroute_lock = asyncio.Lock()
        #: The behaviour generation (workflows/patches.py), decided first thing in ``run``.
        self.gen = 0
        #: Generation 10: holds, releases and the cancellation written back to the order's
        #: sales channel (docs/decisions/0009-shopify-write-back.md); what it refused.
        self.writeback: WritebackQueue | None = None
        self.writeback_failed: StuckInfo | None = None
        #: Generation 10: what the channel changed that was not applied (an address after
        #: picking started, a line edit), shown to ops, the first one as the stuck reason.
        self.ops_flags: list[StuckInfo] = []
        self.cancel_source = "oms"
        self.cancel_flags = CancelInput()
        #: Generation 10: channel edits taken (by edit id), one applied at a time, how many
        #: are being applied (the order does not finish under one), the allocation in
        #: flight (an edit waits for it) and whether shipments are being started.
        self.edits_seen: set[str] = set()
        self.edit_lock = asyncio.Lock()
        self.editing = 0
        self.allocating = False
        self.fulfilling = False

    # --- entry ----------------------------------------------------------------------------

    def _patched(self, patch: patches.Patch) -> bool:
        return patches.in_force(self.gen, patch)

    @workflow.run
    async def run(self, order: OrderInput) -> OrderState:
        self.gen = patches.generation_of_new_order()
        if self.gen >= patches.GENERATION_10.since and order.writeback_channel:
            self.writeback = WritebackQueue(self._writeback_refused, self._writeback_done)
        self._event("received", channel=order.channel, external_id=order.external_id)
        if self.tags_version is not None:
            self._event(
                "tagged",
                tags=self.tags,
                rules_version=self.tags_version,
                matched=self.tag_rules_matched,
                priority=self.priority,
            )
        if self._patched(patches.STEP_SLA_WATCHDOG):
            self._note_steps()
            self.watchdog = asyncio.create_task(self._watch_slas())
        try:
            await self._verify()
            await self._confirm_payment()
            await self._allocate()
            if self.gen >= patches.GENERATION_9.since:
                # Accepted for fulfilment: the customer's confirmation goes with the next
                # projection write, in its transaction (docs/decisions/0002).
                self.pending_notifications.append(self._notice("confirmed"))
            await self._fulfil()
        except _Cancelled:
            await self._compensate()
        if self.writeback is not None:
            await self.writeback.drained()  # the channel hears everything before the end
        self.finished = True
        if self.shipment_stuck:
            self.shipment_stuck.clear()
            if self.stuck is None:
                # A refused write-back stays: ops sort it out in the channel.
                workflow.upsert_search_attributes(
                    [STUCK.value_set(self.writeback_failed is not None or bool(self.ops_flags))]
                )
        if self.stuck is not None:
            await self._clear_stuck()
        if self.watchdog is not None:
            # The watchdog may be clearing a breach right now (its projection write is a
            # local activity): the workflow must not complete before that write does.
            await self.watchdog
        return self.details()

    # --- steps ----------------------------------------------------------------------------

    async def _verify(self) -> None:
        # The postal-code check and billing-postcode risk came later; older orders replay
        # the verification they had.
        result = verify_order(self.order, strict=self._patched(patches.POSTAL_CODE_CHECK))
        for reason, note in result.holds:
            self._add_hold(reason, note)
        self._event(
            "verified" if result.passed else "verification_failed",
            risk_score=result.risk_score,
            risk_reasons=result.risk_reasons,
        )
        await self._proceed()
        self.verified = True

    async def _confirm_payment(self) -> None:
        fs = self.order.financial_status
        if fs == FinancialStatus.PAID:
            self.payment = PaymentState.PAID
            self._event("payment_confirmed", how="paid at checkout")
            return
        if fs == FinancialStatus.PENDING:
            await self._set_status(OrderStatus.AWAITING_PAYMENT)
            timeout = timedelta(seconds=self.order.options.payment_timeout_seconds)
            try:
                await workflow.wait_condition(
                    lambda: self.paid_signal or self.cancel_reason is not None, timeout=timeout
                )
            except TimeoutError:
                self.cancel_reason = "payment not received in time"
                self._event("payment_timeout", waited_seconds=int(timeout.total_seconds()))
            self._check_cancel()
            self.payment = PaymentState.PAID
            self._event("payment_confirmed", how="orders/paid")
            if self._patched(patches.PAID_ORDER_LEAVES_AWAITING_PAYMENT):
                # Paid: allocation is next and writes the projection. Without this a hold
                # met on the way resumed to `awaiting_payment`, and releasing it told the
                # person the paid order was waiting for its payment.
                await self._set_status(OrderStatus.RECEIVED, flush=False)
            return
        # authorized: capture now, once, whatever the retries.
        attempt = 0
        while True:
            attempt += 1
            key = f"capture-{self.order.order_id}" + (f"-{attempt}" if attempt > 1 else "")
            result: PaymentResult = await workflow.execute_activity(
                names.CAPTURE_PAYMENT,
                PaymentRequest(
                    order_id=self.order.order_id,
                    amount=self.order.total,
                    currency=self.order.currency,
                    idempotency_key=key,
                ),
                result_type=PaymentResult,
                start_to_close_timeout=policies.EXTERNAL_TIMEOUT,
                retry_policy=policies.EXTERNAL,
            )
            if result.status == "captured":
                self.payment = PaymentState.CAPTURED
                self._event("payment_captured", gateway_ref=result.gateway_ref, key=key)
                return
            # A decline is an answer: hold the order until someone sorts it out.
            self._add_hold(HoldReason.AWAITING_PAYMENT, f"capture declined: {result.detail}")
            self._event("payment_declined", detail=result.detail, key=key)
            await self._proceed()

    async def _allocate(self) -> None:
        """Route and reserve the whole order; wait as a backorder until stock comes."""
        shipments = await self._route(self.order.lines, exclude=[], first_pass=True)
        self.allocated = True
        self._adopt(shipments)
        self._check_cancel()

    async def _route(
        self, lines: list[OrderLine], exclude: list[str], first_pass: bool
    ) -> list[AllocatedShipment]:
        """Allocate ``lines`` (all of them, or a rejected shipment's), backordering as needed.

        Returns the new shipments; raises ``_Cancelled`` if the order is cancelled while
        it waits. ``first_pass`` keeps the order's status and hold handling of the spine.
        """
        while True:
            if first_pass:
                await self._proceed()
                await self._flush()  # the order is visible before the allocation query runs
            # From generation 8 a local activity: a short idempotent transaction, so the
            # order starts its shipment in the same workflow task instead of the next.
            execute = (
                workflow.execute_local_activity
                if self.gen >= patches.FLOOR_GENERATION
                else workflow.execute_activity
            )
            self.allocating = True
            result: AllocationResult = await execute(
                names.ALLOCATE_STOCK,
                AllocationRequest(
                    order_id=self.order.order_id,
                    shipment_id=names.shipment_id_for(self.order.order_id, self.next_seq),
                    lines=lines,
                    address=self.order.shipping_address,
                    shipping_method=self.order.shipping_method,
                    priority=self.priority,
                    next_seq=self.next_seq,
                    exclude=exclude,
                    existing=list(self.shipments),
                ),
                result_type=AllocationResult,
                start_to_close_timeout=policies.DATABASE_TIMEOUT,
                retry_policy=policies.DATABASE,
            )
            self.allocating = False
            self.routing = result.routing
            shipments = result.allocated()
            if shipments:
                self.next_seq += len(shipments)
                self._event(
                    "allocated",
                    warehouse=result.routing.decision,
                    shipments={s.shipment_id: s.warehouse for s in shipments},
                    reasons=result.routing.reasons,
                    rules_version=result.routing.rules_version,
                )
                return shipments
            self.stock_signal = False
            self.backordered = True
            self._event("backordered", short_skus=result.short_skus)
            if first_pass:
                await self._set_status(OrderStatus.BACKORDERED)
            else:
                self.waiting_for_stock += 1
                await self._set_status(self._status_from_shipments())
            recheck = timedelta(seconds=self.order.options.backorder_recheck_seconds)
            try:
                await workflow.wait_condition(
                    lambda: self.stock_signal or self.cancel_reason is not None, timeout=recheck
                )
            except TimeoutError:
                self._event("backorder_recheck")
            finally:
                if not first_pass:
                    self.waiting_for_stock -= 1
            self._check_cancel()

    def _adopt(self, shipments: list[AllocatedShipment]) -> None:
        for s in shipments:
            self.shipments[s.shipment_id] = ShipmentView(
                shipment_id=s.shipment_id,
                warehouse=s.warehouse,
                status=ShipmentStatus.OPEN,
                lines=s.lines,
                packaging_check=self.plan.has(Step.PACKAGING_CHECK),
                verify_at_pack=self.plan.has(Step.PACK_VERIFICATION),
            )
        self._upsert_warehouses()

    def _upsert_warehouses(self) -> None:
        active = {v.warehouse for sid, v in self.shipments.items() if sid not in self.rejected}
        workflow.upsert_search_attributes([WAREHOUSE.value_set(sorted(active))])

    async def _start_child(self, shipment: ShipmentView) -> None:
        self.children[shipment.shipment_id] = await workflow.start_child_workflow(
            FulfillmentWorkflow.run,
            FulfillmentInput(
                order_id=self.order.order_id,
                shipment_id=shipment.shipment_id,
                warehouse=shipment.warehouse,
                priority=self.priority,
                email=self.order.email,
                shipping_method=self.order.shipping_method,
                address=self.order.shipping_address,
                lines=shipment.lines,
                verify_at_pack=self.plan.has(Step.PACK_VERIFICATION),
                packaging_check=self.plan.has(Step.PACKAGING_CHECK),
                held=bool(self.holds),
                generation=self.gen,
                label_sla_seconds=self.order.options.label_sla_seconds,
                tracking_stale_seconds=self.order.options.tracking_stale_seconds,
                writeback_channel=self.order.writeback_channel if self.writeback else None,
                external_id=self.order.external_id if self.writeback else None,
            ),
            id=names.fulfillment_workflow_id(shipment.shipment_id),
        )

    async def _reroute(self, result: FulfillmentResult) -> None:
        """A warehouse handed a shipment back: route its lines again without it."""
        try:
            if result.warehouse:
                self.refused_by.add(result.warehouse)
            self._event(
                "rerouting",
                shipment_id=result.shipment_id,
                warehouse=result.warehouse,
                reason=result.reject_reason,
            )
            lines = [OrderLine(sku=ln.sku, quantity=ln.quantity) for ln in result.lines]
            async with self.reroute_lock:
                try:
                    shipments = await self._route(
                        lines, exclude=sorted(self.refused_by), first_pass=False
                    )
                except _Cancelled:
                    return  # the run loop compensates the whole order
                self._adopt(shipments)
                for s in shipments:
                    await self._start_child(self.shipments[s.shipment_id])
            await self._set_status(self._status_from_shipments())
        finally:
            self.rerouting -= 1

    def _rejections(self) -> list[FulfillmentResult]:
        """Finished children that handed their shipment back and are not re-routed yet."""
        found = []
        for sid, child in self.children.items():
            if sid in self.rejected or not child.done():
                continue
            r = child.result()
            if r.rejected:
                found.append(r)
        return found

    async def _fulfil(self) -> None:
        self.fulfilling = True
        await self._set_status(OrderStatus.READY_TO_PICK)
        for shipment in list(self.shipments.values()):
            await self._proceed()
            if shipment.shipment_id in self.children or shipment.shipment_id in self.rejected:
                continue  # started by an edit's allocation; emptied by an edit
            await self._start_child(shipment)
        while True:
            await workflow.wait_condition(
                lambda: (
                    bool(self.inbox)
                    or (
                        self.rerouting == 0
                        and self.editing == 0
                        and all(c.done() for c in self.children.values())
                    )
                    or (self.cancel_reason is not None and not self.cancel_forwarded)
                    or bool(self._rejections())
                )
            )
            if self.cancel_reason is not None and not self.cancel_forwarded:
                # Children that already shipped ignore this; the rest stop and report back.
                self.cancel_forwarded = True
                for child in self.children.values():
                    if not child.done():
                        await child.signal(FulfillmentWorkflow.cancel, self.cancel_reason)
            await self._apply_shipment_updates()
            for rejection in self._rejections():
                self.rejected.add(rejection.shipment_id)
                self.shipments[rejection.shipment_id].status = ShipmentStatus.CANCELLED
                self.rerouting += 1
                asyncio.create_task(self._reroute(rejection))
            if (
                self.rerouting == 0
                and self.editing == 0
                and all(c.done() for c in self.children.values())
            ):
                break
        results = [c.result() for sid, c in self.children.items() if sid not in self.rejected]
        if not results:  # every shipment was handed back and the order cancelled meanwhile
            self.cancel_reason = self.cancel_reason or "no warehouse could ship the order"
            raise _Cancelled()
        for r in results:
            self.shipments[r.shipment_id].status = r.status
        if all(r.status == ShipmentStatus.DELIVERED for r in results):
            await self._set_status(OrderStatus.DELIVERED)
            return
        if all(r.status == ShipmentStatus.CANCELLED for r in results):
            self.cancel_reason = self.cancel_reason or "fulfillment cancelled"
            raise _Cancelled()
        await self._set_status(OrderStatus.FAILED)

    async def _apply_shipment_updates(self) -> None:
        changed = False
        while self.inbox:
            update = self.inbox.pop(0)
            view = self.shipments[update.shipment_id]
            view.status = update.status
            if update.warehouse and update.warehouse != view.warehouse:
                self._event(
                    "shipment_moved",
                    shipment_id=view.shipment_id,
                    source=view.warehouse,
                    to=update.warehouse,
                )
                view.warehouse = update.warehouse
                self._upsert_warehouses()
            if update.lines:
                view.lines = update.lines
            view.packaging_checked = view.packaging_checked or update.packaging_checked
            view.steps_done.update(update.steps_done)
            if update.tracking is not None:
                view.tracking = update.tracking
                view.label_url = update.label_url
            if update.record is not None:
                self.pending_shipments.append(update.record)
            if self.gen >= patches.GENERATION_9.since:
                self._note_shipment_stuck(update)
            if update.writeback_failed is not None:
                self._note_writeback_failed(update.writeback_failed)
            if update.edit_refused is not None:
                self._flag_for_ops(
                    StuckReason.ORDER_EDITED_IN_CHANNEL,
                    f"{update.edit_refused}: its units were not removed; adjust the order",
                )
            if (
                update.status == ShipmentStatus.CANCELLED
                and self.cancel_reason is None
                and view.shipment_id not in self.rejected
            ):
                # Only a channel edit cancels a shipment while its order goes on (generation
                # 10): every line of it was removed. It leaves the order's shipments.
                self.rejected.add(view.shipment_id)
                view.lines = []
                self._event("shipment_emptied", shipment_id=view.shipment_id)
                self._upsert_warehouses()
            changed = True
        if changed:
            await self._set_status(self._status_from_shipments())

    def _note_shipment_stuck(self, update: ShipmentUpdate) -> None:
        """A shipment stuck on its carrier (or clear again): the order shows the first
        such reason, next to its own step SLAs (``Stuck`` search attribute, ops views)."""
        was_stuck = self._effective_stuck() is not None
        before = self.shipment_stuck.get(update.shipment_id)
        if update.stuck is None:
            self.shipment_stuck.pop(update.shipment_id, None)
        else:
            self.shipment_stuck[update.shipment_id] = update.stuck
        if before == update.stuck:
            return
        if update.stuck is not None and update.stuck.reason is not None:
            self._event(
                "shipment_stuck",
                shipment_id=update.shipment_id,
                reason=update.stuck.reason.value,
                detail=update.stuck.detail,
            )
        elif before is not None and before.reason is not None:
            self._event(
                "shipment_unstuck", shipment_id=update.shipment_id, reason=before.reason.value
            )
        if was_stuck != (self._effective_stuck() is not None):
            workflow.upsert_search_attributes([STUCK.value_set(not was_stuck)])

    def _effective_stuck(self) -> StuckInfo | None:
        """The order's own step SLA breach first, then a write-back the channel refused,
        else its longest-stuck shipment's."""
        if self.stuck is not None:
            return self.stuck
        if self.writeback_failed is not None:
            return self.writeback_failed
        if self.ops_flags:
            return self.ops_flags[0]
        if not self.shipment_stuck:
            return None
        return min(self.shipment_stuck.values(), key=lambda s: s.since)

    def _status_from_shipments(self) -> OrderStatus:
        return order_status_from_shipments(
            self._live(),
            held=bool(self.holds) and bool(self.children),
            waiting_for_stock=bool(self.waiting_for_stock),
        )

    async def _compensate(self) -> None:
        """Undo in reverse: shipments (labels), reservations, payment; then tell the customer."""
        self._event("cancelling", reason=self.cancel_reason)
        # A backorder that never got stock has nothing reserved, but its row in `backorders`
        # must be closed too, or stock adjustments keep waking a finished workflow.
        # release_stock does both and is idempotent; patched so older histories replay.
        if self.allocated or (
            self.backordered and self._patched(patches.RELEASE_BACKORDER_ON_CANCEL)
        ):
            await workflow.execute_activity(
                names.RELEASE_STOCK,
                ReleaseRequest(order_id=self.order.order_id, reason=self.cancel_reason or ""),
                start_to_close_timeout=policies.DATABASE_TIMEOUT,
                retry_policy=policies.DATABASE,
            )
            for view in self.shipments.values():
                view.status = ShipmentStatus.CANCELLED
            self._event("stock_released")
        if self.payment in PAYMENT_TAKEN:
            await self._reverse_payment("refund", self.order.total)
        elif self.order.financial_status == FinancialStatus.AUTHORIZED:
            await self._reverse_payment("void", Decimal("0"))
        self.holds.clear()
        await self._notify("cancelled")
        self._event("cancelled", reason=self.cancel_reason)
        if self.cancel_source != "shopify":
            # Shopify stops expecting a shipment; one cancelled there already knows.
            self._write_back(
                WritebackKind.CANCEL,
                "cancel",
                cancel_reason=cancel_reason_code(self.cancel_reason or ""),
                refund=self.cancel_flags.refund,
                restock=self.cancel_flags.restock,
                note=self.cancel_reason,
            )
        await self._set_status(OrderStatus.CANCELLED)

    # --- generation 10: write-back to the sales channel ------------------------------------

    def _write_back(self, kind: WritebackKind, suffix: str, **fields: Any) -> None:
        if self.writeback is None:
            return
        self.writeback.put(
            WritebackRequest(
                key=f"{self.order.order_id}:{suffix}",
                kind=kind,
                channel=self.order.writeback_channel or "",
                order_id=self.order.order_id,
                external_id=self.order.external_id,
                **fields,
            )
        )

    def _writeback_done(self, result: WritebackResult) -> None:
        self._event(
            "channel_written", key=result.key, remote_id=result.remote_id, existing=result.existing
        )

    async def _writeback_refused(self, request: WritebackRequest, why: str) -> None:
        self._note_writeback_failed(f"{request.kind.value}: {why}")
        await self._flush()

    def _note_writeback_failed(self, why: str) -> None:
        """The channel refused a write (a user error): the order is stuck with the reason
        for ops; nothing waits on it. The first refusal is the one shown."""
        was_stuck = self._effective_stuck() is not None
        self._event("channel_writeback_failed", error=why)
        if self.writeback_failed is None:
            self.writeback_failed = StuckInfo(
                step="channel",
                since=workflow.now(),
                sla_seconds=0,
                reason=StuckReason.CHANNEL_WRITEBACK_FAILED,
                detail=why[:500],
            )
        if not was_stuck:
            workflow.upsert_search_attributes([STUCK.value_set(True)])

    # --- template steps and SLAs -------------------------------------------------------------

    def _live(self) -> list[ShipmentView]:
        return [v for sid, v in self.shipments.items() if sid not in self.rejected]

    def _step_done_now(self, step: Step) -> bool:
        """Whether the order has got past ``step`` (every live shipment, for floor steps)."""
        if step == Step.VERIFY:
            return self.verified
        if step == Step.PAY:
            return self.payment in PAYMENT_TAKEN
        if step == Step.ALLOCATE:
            return self.allocated
        live = self._live()
        if not live:
            return False
        if step in FLOOR_STEPS and all(
            v.status in PACKED_OR_LATER or step.value in v.steps_done for v in live
        ):
            return True
        if step == Step.PICK:
            return all(
                v.status in PACKED_OR_LATER or all(ln.picked >= ln.quantity for ln in v.lines)
                for v in live
            )
        if step == Step.PACKAGING_CHECK:
            return all(v.status in PACKED_OR_LATER or v.packaging_checked for v in live)
        if step == Step.PACK_VERIFICATION:
            return all(
                v.status in PACKED_OR_LATER or all(ln.verified >= ln.quantity for ln in v.lines)
                for v in live
            )
        if step == Step.PACK:
            return all(v.status in PACKED_OR_LATER for v in live)
        return all(v.status in SHIPMENT_SHIPPED_OR_LATER for v in live)  # SHIP

    def _current_step(self) -> Step | None:
        """The first step of the template not done yet (None: all done or order ended)."""
        if self.finished or self.status in (OrderStatus.CANCELLED, OrderStatus.FAILED):
            return None
        for planned in self.plan.steps:
            if planned.step not in self.step_done and not self._step_done_now(planned.step):
                return planned.step
        return None

    def _note_steps(self) -> None:
        """Stamp when steps completed and when the current one started."""
        current = self._current_step()
        now = workflow.now()
        for planned in self.plan.steps:
            if planned.step == current:
                self.step_started.setdefault(planned.step, now)
                break
            if planned.step not in self.step_done and (
                current is not None or self._step_done_now(planned.step)
            ):
                done = self._floor_done_at(planned.step) or now
                self.step_started.setdefault(planned.step, done)
                self.step_done[planned.step] = done

    def _floor_done_at(self, step: Step) -> datetime | None:
        """When the last live shipment finished a floor step, if every one says so."""
        if step not in FLOOR_STEPS:
            return None
        times = [v.steps_done.get(step.value) for v in self._live()]
        if not times or any(t is None for t in times):
            return None
        return max(t for t in times if t is not None)

    async def _refresh_floor(self) -> None:
        """Read where the floor really is (the shipments' rows): the order does not hear
        floor moves, so before calling a floor step late it looks (generation 8)."""
        rows: list[ShipmentView] = await workflow.execute_local_activity(
            names.READ_FLOOR,
            self.order.order_id,
            result_type=list[ShipmentView],
            start_to_close_timeout=policies.DATABASE_TIMEOUT,
            retry_policy=policies.DATABASE,
        )
        for row in rows:
            view = self.shipments.get(row.shipment_id)
            if view is None or row.shipment_id in self.rejected:
                continue
            view.steps_done.update(row.steps_done)
            if sum(ln.picked for ln in row.lines) >= sum(ln.picked for ln in view.lines):
                view.lines = row.lines
            if view.status == ShipmentStatus.OPEN and row.status == ShipmentStatus.PICKING:
                view.status = row.status

    def _step_views(self) -> list[StepView]:
        current = self._current_step()
        views = []
        for planned in self.plan.steps:
            started = self.step_started.get(planned.step)
            done = self.step_done.get(planned.step)
            views.append(
                StepView(
                    step=planned.step.value,
                    state="done" if done else ("active" if planned.step == current else "pending"),
                    sla_seconds=planned.sla_seconds,
                    added_by=planned.added_by,
                    started_at=started,
                    completed_at=done,
                    due_at=started + timedelta(seconds=planned.sla_seconds) if started else None,
                    breached=planned.step in self.breached,
                )
            )
        return views

    def _stuck_reason(self) -> str | None:
        stuck = self._effective_stuck()
        return stuck.describe() if stuck is not None else None

    async def _watch_slas(self) -> None:
        """Mark the order stuck when its current step outlives its SLA; clear it after.

        A breach does not fail or alter the order: it is an event, the ``Stuck`` search
        attribute, the projection's ``stuck`` flag (the ops view and the metric).
        """
        while True:
            self._note_steps()
            step = self._current_step()
            if step is None:
                return
            sla = timedelta(seconds=self.plan.sla(step) or 0)
            due = self.step_started[step] + sla
            left = due - workflow.now()
            if left > timedelta(0):
                try:
                    await workflow.wait_condition(self._past(step), timeout=left)
                    continue
                except TimeoutError:
                    pass
            on_floor = step in FLOOR_STEPS and self.gen >= patches.FLOOR_GENERATION
            if on_floor:
                await self._refresh_floor()
                if self._past(step)():
                    continue
            self.breached.add(step)
            self.stuck = StuckInfo(step=step.value, since=due, sla_seconds=int(sla.total_seconds()))
            self._event("stuck", step=step.value, sla_seconds=int(sla.total_seconds()))
            workflow.upsert_search_attributes([STUCK.value_set(True)])
            await self._flush()
            if on_floor:  # the shipments say when they finish it; the recheck is a backstop
                for sid, child in self.children.items():
                    if sid not in self.rejected and not child.done():
                        await child.signal(FulfillmentWorkflow.watch_floor, step.value)
            while True:
                try:
                    await workflow.wait_condition(
                        self._past(step), timeout=FLOOR_RECHECK if on_floor else None
                    )
                    break
                except TimeoutError:
                    await self._refresh_floor()
            if self.stuck is not None:
                await self._clear_stuck()

    def _past(self, step: Step) -> Callable[[], bool]:
        return lambda: self._current_step() != step

    async def _clear_stuck(self) -> None:
        assert self.stuck is not None
        stuck_for = workflow.now() - self.stuck.since
        self._event("unstuck", step=self.stuck.step, stuck_seconds=int(stuck_for.total_seconds()))
        self.stuck = None
        # A shipment stuck on its carrier keeps the order stuck.
        workflow.upsert_search_attributes([STUCK.value_set(bool(self.shipment_stuck))])
        await self._flush()

    # --- helpers ----------------------------------------------------------------------------

    async def _reverse_payment(self, kind: str, amount: Decimal) -> None:
        """Refund a taken payment or void an authorization, once (key made here)."""
        result: PaymentResult = await workflow.execute_activity(
            names.REVERSE_PAYMENT,
            PaymentRequest(
                order_id=self.order.order_id,
                amount=amount,
                currency=self.order.currency,
                idempotency_key=f"{kind}-{self.order.order_id}",
                kind=kind,
            ),
            result_type=PaymentResult,
            start_to_close_timeout=policies.EXTERNAL_TIMEOUT,
            retry_policy=policies.EXTERNAL,
        )
        self.payment = PaymentState(result.status)
        self._event("payment_reversed", status=result.status, gateway_ref=result.gateway_ref)

    async def _proceed(self) -> None:
        """Wait while the order is held; unwind if it was cancelled."""
        self._check_cancel()
        if not self.holds:
            return
        resume = self.status
        await self._set_status(OrderStatus.ON_HOLD)
        await workflow.wait_condition(lambda: not self.holds or self.cancel_reason is not None)
        self._check_cancel()
        await self._set_status(resume)

    def _check_cancel(self) -> None:
        if self.cancel_reason is not None:
            raise _Cancelled()

    def _add_hold(self, reason: HoldReason, note: str | None) -> Hold:
        hold = Hold(
            hold_id=str(workflow.uuid4()), reason=reason, note=note, created_at=workflow.now()
        )
        self.holds[hold.hold_id] = hold
        self._event("hold_placed", hold_id=hold.hold_id, reason=reason.value, note=note)
        self._write_back(
            WritebackKind.HOLD,
            f"hold:{hold.hold_id}",
            hold_id=hold.hold_id,
            hold_reason=reason,
            note=note,
        )
        return hold

    def _event(self, type_: str, **detail: Any) -> None:
        self.event_seq += 1
        self.pending_events.append(
            OrderEvent(key=f"o{self.event_seq}", at=workflow.now(), type=type_, detail=detail)
        )

    async def _set_status(self, status: OrderStatus, *, flush: bool = True) -> None:
        """Move the order; the projection is written only when something changed.

        ``flush=False``: the caller's next step writes the projection anyway.
        """
        if status == self.status and not self.pending_events and not self.pending_shipments:
            return
        if status != self.status:
            self.status = status
            workflow.upsert_search_attributes([ORDER_STATUS.value_set(status.value)])
        if flush:
            await self._flush()

    async def _flush(self) -> None:
        """Write the projection and pending events (one local activity)."""
        self._note_steps()
        self.version += 1
        events, self.pending_events = self.pending_events, []
        shipments, self.pending_shipments = self.pending_shipments, []
        notifications, self.pending_notifications = self.pending_notifications, []
        stuck = self._effective_stuck()
        o = self.order
        await workflow.execute_local_activity(
            names.RECORD_ORDER,
            ProjectOrderInput(
                order=OrderProjection(
                    order_id=o.order_id,
                    version=self.version,
                    name=o.name,
                    channel=o.channel,
                    external_id=o.external_id,
                    email=o.email,
                    status=self.status,
                    tags=self.tags,
                    priority=self.priority,
                    warehouses=sorted(
                        {v.warehouse for k, v in self.shipments.items() if k not in self.rejected}
                    ),
                    total=o.total,
                    currency=o.currency,
                    created_at=o.created_at or workflow.info().start_time,
                    updated_at=workflow.now(),
                    stuck=self._effective_stuck() is not None,
                    # What the detail view needs when the workflow can't be queried.
                    summary={
                        "payment": self.payment,
                        "holds": [h.model_dump(mode="json") for h in self.holds.values()],
                        "lines": [ln.model_dump(mode="json") for ln in o.lines],
                        "routing": self.routing.model_dump(mode="json") if self.routing else None,
                        "cancel_reason": self.cancel_reason,
                        "steps": [v.model_dump(mode="json") for v in self._step_views()],
                        # The templates applied (analytics groups step times by it).
                        "template": list(self.plan.tags),
                        "tags_version": self.tags_version,
                        "stuck_reason": self._stuck_reason(),
                        "stuck_since": stuck.since.isoformat() if stuck else None,
                    },
                ),
                events=events,
                shipments=shipments,
                notifications=notifications,
            ),
            start_to_close_timeout=policies.DATABASE_TIMEOUT,
            retry_policy=policies.DATABASE,
        )

    def _notice(self, milestone: str) -> NotifyRequest:
        return NotifyRequest(
            order_id=self.order.order_id,
            email=self.order.email,
            milestone=milestone,
            idempotency_key=f"notify-{self.order.order_id}-{milestone}",
        )

    async def _notify(self, milestone: str) -> None:
        await workflow.execute_activity(
            names.NOTIFY_CUSTOMER,
            self._notice(milestone),
            start_to_close_timeout=policies.EXTERNAL_TIMEOUT,
            retry_policy=policies.EXTERNAL,
        )

    # --- messages ---------------------------------------------------------------------------

    @workflow.query
    def details(self) -> OrderState:
        return OrderState(
            order_id=self.order.order_id,
            name=self.order.name,
            status=self.status,
            tags=self.tags,
            priority=self.priority,
            holds=list(self.holds.values()),
            lines=self.order.lines,
            shipments=list(self.shipments.values()),
            routing=self.routing,
            payment=self.payment,
            cancel_reason=self.cancel_reason,
            steps=self._step_views(),
            stuck=self._effective_stuck(),
            tags_version=self.tags_version,
        )

    @workflow.signal
    def payment_received(self) -> None:
        """Shopify's ``orders/paid`` for an order that was pending."""
        self.paid_signal = True

    @workflow.signal
    def stock_available(self) -> None:
        """An inventory adjustment added stock for one of this backorder's SKUs."""
        self.stock_signal = True

    @workflow.signal
    def shipment_changed(self, update: ShipmentUpdate) -> None:
        """A child ``FulfillmentWorkflow`` moved (picked, packed, shipped, delivered...)."""
        self.inbox.append(update)

    @workflow.update
    async def cancel(self, request: CancelInput) -> CancelResult:
        if self.cancel_reason is None:
            self.cancel_reason = request.reason  # the run loop compensates or stops children
            self.cancel_source = request.source
            self.cancel_flags = request
        await workflow.wait_condition(
            lambda: self.status == OrderStatus.CANCELLED or self.status in SHIPPED_OR_LATER
        )
        if self.status != OrderStatus.CANCELLED:
            raise ApplicationError(
                "the order has already shipped",
                type=UpdateRefusal.ALREADY_SHIPPED.value,
            )
        return CancelResult(order_id=self.order.order_id, status=self.status)

    @cancel.validator
    def _validate_cancel(self, request: CancelInput) -> None:
        if self.status in SHIPPED_OR_LATER:
            raise ApplicationError(
                "the order has already shipped",
                type=UpdateRefusal.ALREADY_SHIPPED.value,
            )

    @workflow.update
    async def place_hold(self, request: HoldInput) -> HoldPlaced:
        hold = self._add_hold(request.reason, request.note)
        if self.children:
            # In fulfillment: the floor stops too (scans and packing refused until released).
            await self._tell_children_held(True)
            await self._set_status(self._status_from_shipments())
        else:
            await self._flush()
        return HoldPlaced(hold_id=hold.hold_id)

    async def _tell_children_held(self, held: bool) -> None:
        for child in self.children.values():
            if not child.done():
                await child.signal(FulfillmentWorkflow.set_hold, held)

    @place_hold.validator
    def _validate_hold(self, request: HoldInput) -> None:
        if self.status in SHIPPED_OR_LATER or self.status == OrderStatus.CANCELLED:
            raise ApplicationError(
                f"an order that is {self.status.value} cannot be held",
                type=UpdateRefusal.NOT_HOLDABLE.value,
            )

    @workflow.update
    async def release_hold(self, request: ReleaseInput) -> OrderState:
        hold = self.holds.pop(request.hold_id)
        self._event("hold_released", hold_id=hold.hold_id, reason=hold.reason.value)
        self._write_back(WritebackKind.RELEASE, f"release:{hold.hold_id}", hold_id=hold.hold_id)
        if self.children and not self.holds:
            # The last hold is gone: the floor resumes where it stopped.
            await self._tell_children_held(False)
            await self._set_status(self._status_from_shipments())
        else:
            await self._flush()
        return self.details()

    @workflow.update
    async def change_address(self, change: AddressChange) -> AddressChangeResult:
        """Shopify corrected the shipping address (``orders/updated``), generation 10.

        Before anyone picked: the order takes it, is verified again (a bad address holds
        it, the hold mirrored to Shopify) and each open shipment is routed again for it,
        its reservations moving when another warehouse is now the best. After picking
        started: not applied; the order is marked for ops with both addresses."""
        old = self.order.shipping_address
        new = change.address
        if new == old:
            return AddressChangeResult(outcome="unchanged")
        if self.children:
            await self._refresh_floor()
        live = self._live()
        started = any(
            v.status != ShipmentStatus.OPEN or any(ln.picked for ln in v.lines) for v in live
        )
        if started:
            detail = (
                f"{change.source} changed the shipping address after picking started: "
                f"{_one_line(old)} → {_one_line(new)}"
            )
            self._event(
                "address_change_flagged",
                source=change.source,
                old=old.model_dump(mode="json"),
                new=new.model_dump(mode="json"),
            )
            self._flag_for_ops(StuckReason.ADDRESS_CHANGED_AFTER_PICK, detail)
            await self._flush()
            return AddressChangeResult(outcome="flagged", detail=detail)
        self.order = self.order.model_copy(update={"shipping_address": new})
        self._event(
            "address_changed",
            source=change.source,
            old=old.model_dump(mode="json"),
            new=new.model_dump(mode="json"),
        )
        result = verify_order(self.order, strict=True)
        # Only the address is new: risk holds were decided (and maybe released) already.
        placed = [
            self._add_hold(reason, note)
            for reason, note in result.holds
            if reason == HoldReason.INCORRECT_ADDRESS
        ]
        self._event(
            "verified" if result.passed else "verification_failed",
            risk_score=result.risk_score,
            risk_reasons=result.risk_reasons,
            again="address changed",
        )
        if placed and self.children:
            await self._tell_children_held(True)
        for sid, child in self.children.items():
            if sid not in self.rejected and not child.done():
                await child.signal(FulfillmentWorkflow.relocate, RelocateInput(address=new))
        if self.children:
            await self._set_status(self._status_from_shipments())
        else:
            await self._flush()
        return AddressChangeResult(outcome="applied", detail=f"{len(placed)} hold(s) placed")

    def _flag_for_ops(self, reason: StuckReason, detail: str) -> None:
        was_stuck = self._effective_stuck() is not None
        self.ops_flags.append(
            StuckInfo(
                step="channel",
                since=workflow.now(),
                sla_seconds=0,
                reason=reason,
                detail=detail[:500],
            )
        )
        if not was_stuck:
            workflow.upsert_search_attributes([STUCK.value_set(True)])

    @workflow.update
    async def note_edit(self, edit: LineEdit) -> AddressChangeResult:
        """Shopify edited the order's lines (``orders/edited``), generation 10.

        Before anyone picked, the edit is applied: removed units leave their shipments
        (reservations released, a shipment left with nothing is cancelled), added lines
        are allocated (a new shipment), an order left with no line at all is cancelled.
        After picking started it is not applied: the order is marked for ops. Either way
        the edit is on the timeline, SKU by SKU. A repeat of an edit id is a no-op
        (docs/decisions/0009-shopify-write-back.md, "Shopify's edits")."""
        key = edit.edit_id or str(workflow.uuid4())
        if key in self.edits_seen:
            return AddressChangeResult(outcome="duplicate", detail=f"edit {key} already taken")
        self.edits_seen.add(key)
        self.editing += 1
        try:
            async with self.edit_lock:
                return await self._apply_edit(key, edit)
        finally:
            self.editing -= 1

    async def _apply_edit(self, key: str, edit: LineEdit) -> AddressChangeResult:
        skus = {ln.external_id: ln.sku for ln in self.order.lines if ln.external_id}
        unknown = sorted({*edit.added, *edit.removed} - set(skus))
        lookup_failed = ""
        if unknown and self.writeback is not None:
            # Additions name line items this order has never seen: Shopify says what
            # they are (its order query), retried through throttling and outages.
            try:
                found: LineItemsResult = await workflow.execute_activity(
                    names.READ_LINE_ITEMS,
                    LineItemsRequest(
                        channel=self.order.writeback_channel or "",
                        external_id=self.order.external_id or "",
                    ),
                    result_type=LineItemsResult,
                    start_to_close_timeout=policies.CHANNEL_WRITEBACK_TIMEOUT,
                    retry_policy=policies.CHANNEL_WRITEBACK,
                )
                skus.update({k: v for k, v in found.skus.items() if k not in skus})
            except ActivityError as exc:
                lookup_failed = str(exc.cause or exc)
        unresolved = sorted({*edit.added, *edit.removed} - set(skus))

        def named(changes: dict[str, int]) -> dict[str, int]:
            out: dict[str, int] = {}
            for k, n in changes.items():
                name = skus.get(k, f"line {k}")
                out[name] = out.get(name, 0) + n
            return out

        added, removed = named(edit.added), named(edit.removed)
        if self.children:
            await self._refresh_floor()
        started = any(
            v.status != ShipmentStatus.OPEN or any(ln.picked for ln in v.lines)
            for v in self._live()
        )
        closing = self.cancel_reason is not None or self.status in SHIPPED_OR_LATER
        parts = [f"-{n} {k}" for k, n in removed.items()] + [f"+{n} {k}" for k, n in added.items()]
        apply = bool(parts) and not started and not unresolved and not closing
        self._event(
            "order_edited",
            source=edit.source,
            edit_id=edit.edit_id,
            added=added,
            removed=removed,
            picking_started=started,
            applied=apply,
        )
        if not parts:
            await self._flush()
            return AddressChangeResult(outcome="unchanged", detail="no line change")
        change = f"{edit.source} edit {edit.edit_id or ''}: {', '.join(parts)}"
        if not apply:
            why = (
                "picking had started"
                if started
                else "the order is closing"
                if closing
                else f"line items the channel did not name ({', '.join(unresolved)}"
                + (f": {lookup_failed}" if lookup_failed else "")
                + ")"
            )
            detail = f"{change} — not applied ({why}): adjust the order"
            self._flag_for_ops(StuckReason.ORDER_EDITED_IN_CHANNEL, detail)
            await self._flush()
            return AddressChangeResult(outcome="flagged", detail=detail)
        return await self._take_edit(key, edit, skus, change)

    async def _take_edit(
        self, key: str, edit: LineEdit, skus: dict[str, str], change: str
    ) -> AddressChangeResult:
        """Apply an edit nobody on the floor has started on: the order's lines first (what
        a later allocation or edit reads), then the shipments."""
        await workflow.wait_condition(lambda: not self.allocating)
        lines = self.order.lines  # changed in place: a waiting first allocation reads it
        by_id = {ln.external_id: ln for ln in lines if ln.external_id}
        taken: dict[str, int] = {}  # SKU → units to take off the shipments
        for k, n in edit.removed.items():
            line = by_id.get(k)
            units = min(n, line.quantity) if line is not None else 0
            if line is None or units == 0:
                continue
            line.quantity -= units
            if line.quantity == 0:
                lines.remove(line)
            taken[line.sku] = taken.get(line.sku, 0) + units
        additions: list[OrderLine] = []
        for k, n in edit.added.items():
            if k in by_id and by_id[k] in lines:
                by_id[k].quantity += n
            else:
                lines.append(OrderLine(sku=skus[k], quantity=n, external_id=k))
            additions.append(OrderLine(sku=skus[k], quantity=n, external_id=k))
        if not lines:
            # Shopify keeps an order with nothing in it; here there is nothing left to
            # fulfil: the order is cancelled (stock released, payment reversed by our
            # payment step), not written back: the channel made the change.
            self.cancel_reason = "every line was removed in the channel"
            self.cancel_source = edit.source
            self.cancel_flags = CancelInput(reason=self.cancel_reason, source=edit.source)
            self._event("order_edit_applied", edit_id=key, outcome="cancelled")
            await self._flush()
            return AddressChangeResult(outcome="applied", detail=f"{change}: order cancelled")
        unplaced: dict[str, int] = {}
        if self.allocated:
            unplaced = await self._take_off_shipments(key, taken)
            if additions:
                self.rerouting += 1
                asyncio.create_task(self._allocate_added(additions))
        self._event(
            "order_edit_applied",
            edit_id=key,
            outcome="applied",
            removed=taken,
            added={ln.sku: ln.quantity for ln in additions},
            not_on_a_shipment=unplaced,
        )
        if self.children:
            await self._set_status(self._status_from_shipments())
        else:
            await self._flush()
        return AddressChangeResult(outcome="applied", detail=change)

    async def _take_off_shipments(self, key: str, taken: dict[str, int]) -> dict[str, int]:
        """Take removed units off the live open shipments (lowest shipment number first).
        A started shipment shrinks itself (it checks the floor again, and refuses if a
        scan came first); one not started yet is shrunk here. Returns units no shipment
        held (lines being routed again after a hand-back)."""
        left = dict(taken)
        per_shipment: dict[str, dict[str, int]] = {}
        for view in self._live():
            if view.status != ShipmentStatus.OPEN:
                continue
            for ln in view.lines:
                units = min(left.get(ln.sku, 0), ln.quantity)
                if units:
                    per_shipment.setdefault(view.shipment_id, {})[ln.sku] = units
                    left[ln.sku] -= units
        for sid, removed in per_shipment.items():
            child = self.children.get(sid)
            if child is not None:
                if not child.done():
                    await child.signal(
                        FulfillmentWorkflow.remove_lines, LineRemoval(key=key, removed=removed)
                    )
                continue
            view = self.shipments[sid]
            keep = {ln.sku: max(ln.quantity - removed.get(ln.sku, 0), 0) for ln in view.lines}
            await workflow.execute_activity(
                names.SHRINK_SHIPMENT,
                ShrinkRequest(order_id=self.order.order_id, shipment_id=sid, keep=keep),
                result_type=int,
                start_to_close_timeout=policies.DATABASE_TIMEOUT,
                retry_policy=policies.DATABASE,
            )
            view.lines = [
                ln.model_copy(update={"quantity": keep[ln.sku]})
                for ln in view.lines
                if keep[ln.sku]
            ]
            if not view.lines:
                view.status = ShipmentStatus.CANCELLED
                self.rejected.add(sid)
                self._event("shipment_emptied", shipment_id=sid)
                self._upsert_warehouses()
        return {sku: n for sku, n in left.items() if n}

    async def _allocate_added(self, lines: list[OrderLine]) -> None:
        """Lines an edit added, once the order is allocated: routed and reserved as a new
        shipment (or waiting as a backorder), started if the floor phase has begun."""
        try:
            async with self.reroute_lock:
                try:
                    shipments = await self._route(lines, exclude=[], first_pass=False)
                except _Cancelled:
                    return  # the run loop compensates the whole order
                self._adopt(shipments)
                if self.fulfilling:
                    for s in shipments:
                        await self._start_child(self.shipments[s.shipment_id])
            if self.fulfilling:
                await self._set_status(self._status_from_shipments())
        finally:
            self.rerouting -= 1

    @note_edit.validator
    def _validate_edit(self, edit: LineEdit) -> None:
        if self.gen < patches.GENERATION_10.since:
            raise ApplicationError(
                "this order predates edits from the channel",
                type=UpdateRefusal.NOT_SUPPORTED.value,
            )

    @change_address.validator
    def _validate_address(self, change: AddressChange) -> None:
        if self.gen < patches.GENERATION_10.since:
            raise ApplicationError(
                "this order predates address changes from the channel",
                type=UpdateRefusal.NOT_SUPPORTED.value,
            )
        if self.status in SHIPPED_OR_LATER or self.status == OrderStatus.CANCELLED:
            raise ApplicationError(
                f"an order that is {self.status.value} keeps its address",
                type=UpdateRefusal.NOT_CHANGEABLE.value,
            )

    @workflow.update
    async def change_tags(self, change: TagChange) -> OrderState:
        """Staff add or remove tags. Steps already fixed by the template stay as they are:
        a template is chosen once, so a late tag cannot skip a step."""
        removed = {t.strip().lower() for t in change.remove}
        kept = [t for t in self.tags if t.strip().lower() not in removed]
        self.tags = merge_tags(kept, change.add) if change.add else kept
        self._event("tags_changed", add=change.add, remove=change.remove, actor=change.actor)
        workflow.upsert_search_attributes([TAGS.value_set(self.tags)])
        await self._flush()
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

    @release_hold.validator
    def _validate_release(self, request: ReleaseInput) -> None:
        if request.hold_id not in self.holds:
            raise ApplicationError(
                f"no active hold {request.hold_id}",
                type=UpdateRefusal.HOLD_NOT_FOUND.value,
            )


def _one_line(a: Address) -> str:
    return ", ".join(p for p in (a.name, a.address1, a.city, a.zip, a.country_code) if p)
