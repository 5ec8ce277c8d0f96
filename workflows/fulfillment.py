"""``FulfillmentWorkflow``: one shipment from one warehouse, pick → pack → ship → delivered.

A child of ``OrderWorkflow``. Scans and pack are Updates whose validators refuse wrong input
synchronously, so a refused scan leaves no trace in history; carrier tracking events arrive
as Signals. The parent hears only what changes the order's course (shipped, exception, a
move to another warehouse; rejection and delivery through the result): floor moves (each
scan, the packaging check) answer with the shipment's row, which the API writes before it
replies, so the read model is true when the person reads it
(docs/decisions/0001-floor-state-in-the-read-model.md). Generations before 8 told the
parent every floor move; they replay as they ran.
"""

from __future__ import annotations

import asyncio
import functools
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from domain import names
from domain.codes import PackRefusal, ScanRefusal, UpdateRefusal
from domain.models import (
    CommitRequest,
    FloorAnswer,
    FulfillmentInput,
    FulfillmentResult,
    LabelRequest,
    LabelResult,
    LabelRetryInput,
    LineRemoval,
    MoveInput,
    MoveRequest,
    MoveResult,
    NotifyRequest,
    OrderEvent,
    OrderLine,
    PackagingCheckInput,
    PackInput,
    PackResult,
    ProjectShipmentInput,
    RejectInput,
    RejectRequest,
    RelocateInput,
    RerouteRequest,
    RerouteResult,
    ScanInput,
    ScanResult,
    ShipmentLine,
    ShipmentProjection,
    ShipmentUpdate,
    ShipmentView,
    ShrinkRequest,
    StuckInfo,
    Tracking,
    TrackingEvent,
    VoidLabelRequest,
    duration_text,
)
from domain.packing import expected_weight, weight_ok, weight_window
from domain.status import (
    TRACKING_TO_SHIPMENT,
    LabelStatus,
    ShipmentStatus,
    ShippingMethod,
    StuckReason,
    TrackingStatus,
)
from domain.tracking import apply_tracking
from domain.writeback import (
    EVENT_STATUSES,
    WritebackKind,
    WritebackLine,
    WritebackRequest,
    WritebackResult,
    fulfillment_key,
)
from workflows import patches, policies
from workflows.writeback import WritebackQueue

#: Shipment states after shipping that move the parent order (to delivered / failed).
TELL_PARENT_AFTER_SHIPPING = frozenset({ShipmentStatus.DELIVERED, ShipmentStatus.EXCEPTION})

#: Tracking milestones the customer hears about, once each.
NOTIFY_ON = {
    TrackingStatus.OUT_FOR_DELIVERY: "out_for_delivery",
    TrackingStatus.DELIVERED: "delivered",
}


@workflow.defn
class FulfillmentWorkflow:
    @workflow.init
    def __init__(self, shipment: FulfillmentInput) -> None:
        self.input = shipment
        #: Where the shipment ships from; ops may move it before picking starts.
        self.warehouse = shipment.warehouse
        #: Where it goes; Shopify may correct it before picking starts (generation 10).
        self.address = shipment.address
        self.moving = False
        self.rejected: RejectInput | None = None
        #: The order is on hold: no scans or packing until it is released.
        self.held = shipment.held
        self.packaging_checked = False
        self.status = ShipmentStatus.OPEN
        self.lines: dict[str, ShipmentLine] = {
            line.sku: line.model_copy() for line in shipment.lines
        }
        self.scans: dict[str, ScanResult] = {}
        self.serials: set[tuple[str, str]] = set()  # (sku, GS1 serial) already picked
        self.pack_request: PackInput | None = None
        self.pack_result: PackResult | None = None
        self.tracking: Tracking | None = None
        self.label_url: str | None = None
        self.cancel_reason: str | None = None
        #: Past the point of no return (label bought, stock being committed): the parcel ships.
        self.shipping = False
        self.tracking_inbox: list[TrackingEvent] = []
        self.version = 1  # the projection's version: each write carries a higher one
        self.event_seq = 0
        self.pending_events: list[OrderEvent] = []
        #: Floor step → when this shipment finished it (read by the order's SLA watchdog).
        self.steps_done: dict[str, datetime] = {}
        #: Generation 8 on: floor moves go to the read model with each Update's answer.
        self.floor_in_read_model = shipment.generation >= patches.FLOOR_GENERATION
        #: Floor steps the order is waiting to hear about (it marked itself stuck on them).
        self.watched: set[str] = set()
        #: Customer notifications decided and not yet written (with the next own write).
        self.pending_notifications: list[NotifyRequest] = []
        self.reporter: asyncio.Task[None] | None = None
        #: Generation 9 (workflows/patches.py): the pack answers before the label.
        self.pack_first = shipment.generation >= patches.GENERATION_9.since
        self.label_status: LabelStatus | None = None
        #: The service the label is bought for; ops may change it while it is pending.
        self.service_level: ShippingMethod = shipment.shipping_method
        self.label_keys: list[str] = []
        #: Ops asked to buy the label again now (or with another service).
        self.label_retry: LabelRetryInput | None = None
        #: The shipment's own stuck mark (carrier trouble); the order shows it too.
        self.stuck: StuckInfo | None = None
        #: When the last tracking event applied happened, and when news last came.
        self.tracking_latest: datetime | None = None
        self.last_news: datetime | None = None
        self.seen_events: set[str] = set()
        self.silent = False
        #: Generation 10: this shipment's fulfillment and its tracking events, written back
        #: to the order's sales channel (docs/decisions/0009-shopify-write-back.md).
        self.writeback: WritebackQueue | None = None
        if (
            shipment.generation >= patches.GENERATION_10.since
            and shipment.writeback_channel
            and shipment.external_id
        ):
            self.writeback = WritebackQueue(self._writeback_refused, self._writeback_done)
        #: Generation 10: channel edits (their keys) already taken off this shipment.
        self.edits_applied: set[str] = set()
        self.edit_lock = asyncio.Lock()

    def _patched(self, patch: patches.Patch) -> bool:
        return patches.in_force(self.input.generation, patch)

    @workflow.run
    async def run(self, shipment: FulfillmentInput) -> FulfillmentResult:
        if self._patched(patches.SHIPMENT_ANNOUNCES_ITSELF):
            # The shipment enters the warehouse work list only now that this workflow can
            # take its scans (allocation used to write the row a moment before).
            await self._move(ShipmentStatus.OPEN, tell_parent=False)
        if self.floor_in_read_model:
            self.reporter = asyncio.create_task(self._report_watched_steps())
        # Pick: wait for the first accepted scan, then for the last.
        await workflow.wait_condition(lambda: self._picked_units() > 0 or self._stopped())
        if self._stopped():
            return await self._cancelled()
        # Older generations: a pick finished by its first scan (one unit, a case, a GS1
        # count) tells the order once, below.
        if not self.floor_in_read_model and (
            self._remaining() > 0
            or not self._patched(patches.ONE_FLOOR_MOVE_WHEN_FIRST_SCAN_PICKS_ALL)
        ):
            await self._move(ShipmentStatus.PICKING, person_waiting=True)
        await workflow.wait_condition(lambda: self._remaining() == 0 or self._stopped())
        if self._stopped():
            return await self._cancelled()
        if not self.floor_in_read_model:
            self._event("picked", units=self._picked_units())
            # The parent sees every line picked → packing.
            await self._move(ShipmentStatus.PICKING, person_waiting=True)
        if self.pack_first:
            return await self._pack_ship_track()

        # Pack: the pack Update hands over a verified weight; buy the label and ship.
        await workflow.wait_condition(lambda: self.pack_request is not None or self._stopped())
        if self._stopped():
            return await self._cancelled()
        assert self.pack_request is not None
        label: LabelResult = await workflow.execute_activity(
            names.BUY_LABEL,
            LabelRequest(
                order_id=shipment.order_id,
                shipment_id=shipment.shipment_id,
                warehouse=self.warehouse,
                address=shipment.address,
                shipping_method=shipment.shipping_method,
                weight_grams=self.pack_request.weight_grams,
                idempotency_key=f"label-{shipment.shipment_id}",
            ),
            result_type=LabelResult,
            start_to_close_timeout=policies.EXTERNAL_TIMEOUT,
            retry_policy=policies.EXTERNAL,
        )
        self.tracking, self.label_url = label.tracking, label.label_url
        self._event("label_purchased", carrier=label.tracking.carrier, number=label.tracking.number)
        if self._stopped():
            return await self._cancelled()
        self.shipping = True
        if self.floor_in_read_model:
            await self._ship(self.pack_request, label)
        else:
            await workflow.execute_activity(
                names.COMMIT_STOCK,
                CommitRequest(shipment_id=shipment.shipment_id),
                start_to_close_timeout=policies.DATABASE_TIMEOUT,
                retry_policy=policies.DATABASE,
            )
            self._event("shipped", weight_grams=self.pack_request.weight_grams)
            self.pack_result = PackResult(tracking=label.tracking, label_url=label.label_url)
            await self._move(ShipmentStatus.SHIPPED, person_waiting=True)
            await self._notify("shipped", {"tracking_number": label.tracking.number})

        # Track: carrier events until delivered.
        while self.status != ShipmentStatus.DELIVERED:
            await workflow.wait_condition(lambda: bool(self.tracking_inbox))
            event = self.tracking_inbox.pop(0)
            self._event(
                f"tracking_{event.status.value}",
                occurred_at=event.occurred_at.isoformat(),
                detail=event.detail,
            )
            status = TRACKING_TO_SHIPMENT.get(event.status, self.status)
            # In transit / out for delivery don't change the order's status: the parent
            # hears only of outcomes (exception; delivered, from generation 8 on, through
            # the result); the shipments projection and this workflow's Query show every step.
            if self.floor_in_read_model:
                tell_parent = status == ShipmentStatus.EXCEPTION
            else:
                tell_parent = status in TELL_PARENT_AFTER_SHIPPING or not self._patched(
                    patches.PARENT_HEARS_TRACKING_OUTCOMES_ONLY
                )
            if self.floor_in_read_model:
                if event.status in NOTIFY_ON:
                    self._decide_notify(NOTIFY_ON[event.status], {"detail": event.detail})
                await self._move(status, tell_parent=tell_parent)
                continue
            await self._move(status, tell_parent=tell_parent)
            if event.status in NOTIFY_ON:
                await self._notify(NOTIFY_ON[event.status], {"detail": event.detail})
        return FulfillmentResult(
            shipment_id=shipment.shipment_id, status=self.status, tracking=self.tracking
        )

    # --- generation 9: the label follows the pack; tracking in order ------------------------

    async def _pack_ship_track(self) -> FulfillmentResult:
        """The pack Update recorded the parcel and answered; buy its label (the carrier's
        retries, ops' retry, the label SLA), ship, then follow tracking until delivered
        (docs/decisions/0008-the-label-follows-the-pack.md)."""
        await workflow.wait_condition(lambda: self.pack_request is not None or self._stopped())
        if self._stopped():
            return await self._cancelled()
        assert self.pack_request is not None
        label = await self._buy_label()
        if label is None:
            return await self._cancelled()
        self.tracking, self.label_url = label.tracking, label.label_url
        self.label_status = LabelStatus.READY
        self._event("label_purchased", carrier=label.tracking.carrier, number=label.tracking.number)
        if self.stuck is not None:  # the shipped row and the signal below carry the clearing
            self._unstick()
        self.shipping = True
        await self._ship(self.pack_request, label)
        self._write_back_fulfillment()
        self.last_news = workflow.now()
        silence = asyncio.create_task(self._watch_silence())
        while self.status != ShipmentStatus.DELIVERED:
            await workflow.wait_condition(
                lambda: bool(self.tracking_inbox) or (self.silent and self.stuck is None)
            )
            if self.tracking_inbox:
                await self._apply_tracking(self.tracking_inbox.pop(0))
            elif self.silent:
                stale = timedelta(seconds=self.input.tracking_stale_seconds)
                self._stick(
                    StuckReason.TRACKING_STALE,
                    f"no tracking news for {duration_text(int(stale.total_seconds()))}"
                    f" since {self._since_text()}",
                    since=(self.last_news or workflow.now()) + stale,
                    sla=stale,
                )
                await self._move(self.status, tell_parent=True)
        silence.cancel()
        if self.writeback is not None:
            # The channel hears everything before the shipment ends; what it said is in
            # the shipment's timeline.
            await self.writeback.drained()
            if self.pending_events:
                await self._move(self.status, tell_parent=False)
        return FulfillmentResult(
            shipment_id=self.input.shipment_id, status=self.status, tracking=self.tracking
        )

    # --- generation 10: write-back to the sales channel ------------------------------------

    def _write_back_fulfillment(self) -> None:
        """Shipped: one fulfillment in the channel for exactly this shipment's lines."""
        if self.writeback is None or self.tracking is None:
            return
        self.writeback.put(
            WritebackRequest(
                key=fulfillment_key(self.input.order_id, self.input.shipment_id),
                kind=WritebackKind.FULFILLMENT,
                channel=self.input.writeback_channel or "",
                order_id=self.input.order_id,
                external_id=self.input.external_id or "",
                shipment_id=self.input.shipment_id,
                lines=[
                    WritebackLine(sku=ln.sku, quantity=ln.quantity)
                    for ln in self.lines.values()
                    if ln.quantity > 0
                ],
                tracking=self.tracking,
            )
        )

    def _write_back_event(self, event: TrackingEvent) -> None:
        """A carrier milestone that moved the parcel: a fulfillment event in the channel."""
        status = EVENT_STATUSES.get(event.status)
        if self.writeback is None or status is None:
            return
        at = event.occurred_at.isoformat()
        self.writeback.put(
            WritebackRequest(
                key=f"{self.input.order_id}:event:{self.input.shipment_id}:{status}:{at}",
                kind=WritebackKind.FULFILLMENT_EVENT,
                channel=self.input.writeback_channel or "",
                order_id=self.input.order_id,
                external_id=self.input.external_id or "",
                shipment_id=self.input.shipment_id,
                fulfillment_key=fulfillment_key(self.input.order_id, self.input.shipment_id),
                event_status=status,
                happened_at=event.occurred_at,
                message=event.detail,
            )
        )

    def _writeback_done(self, result: WritebackResult) -> None:
        self._event(
            "channel_written",
            key=result.key,
            remote_id=result.remote_id,
            existing=result.existing,
        )

    async def _writeback_refused(self, request: WritebackRequest, why: str) -> None:
        """The channel refused a write: the shipment's timeline says so and the order is
        marked stuck (``channel_writeback_failed``); the shipment goes on."""
        self._event("channel_writeback_failed", key=request.key, kind=request.kind, error=why)
        await self._move(self.status, tell_parent=False)
        parent = workflow.info().parent
        if parent is not None:
            await self._tell_parent(
                parent.workflow_id,
                self.status,
                list(self.lines.values()),
                writeback_failed=f"{request.kind.value} of {self.input.shipment_id}: {why}",
            )

    def _since_text(self) -> str:
        return self.last_news.isoformat(timespec="minutes") if self.last_news else "shipping"

    def _label_request(self) -> LabelRequest:
        assert self.pack_request is not None
        n = len(self.label_keys) + 1
        key = f"label-{self.input.shipment_id}" + (f"-{n}" if n > 1 else "")
        earlier, self.label_keys = list(self.label_keys), [*self.label_keys, key]
        return LabelRequest(
            order_id=self.input.order_id,
            shipment_id=self.input.shipment_id,
            warehouse=self.warehouse,
            address=self.address,
            shipping_method=self.service_level,
            weight_grams=self.pack_request.weight_grams,
            idempotency_key=key,
            earlier_keys=earlier,
        )

    async def _buy_label(self) -> LabelResult | None:
        """Buy the label under the carrier retry policy, for as long as it takes.

        Past ``label_sla_seconds`` the shipment is stuck (``carrier_unavailable``) for ops,
        who may ask for it again now or with another service (``retry_label``): the running
        attempt is cancelled and a new one starts. A plain retry keeps the idempotency key;
        another service takes a new key, and the activity first asks the carrier about the
        earlier keys, so a label sold under one is adopted, not bought twice.
        None: the shipment was cancelled meanwhile.
        """
        due = workflow.now() + timedelta(seconds=self.input.label_sla_seconds)
        request = self._label_request()
        buying = self._start_buying(request)
        while True:
            left = due - workflow.now()
            if self.stuck is None and left <= timedelta(0):
                sla = timedelta(seconds=self.input.label_sla_seconds)
                self._stick(
                    StuckReason.CARRIER_UNAVAILABLE,
                    f"no label after {duration_text(int(sla.total_seconds()))}:"
                    " the carrier keeps failing",
                    since=due,
                    sla=sla,
                )
                self._event("label_late", sla_seconds=self.input.label_sla_seconds)
                await self._move(self.status, tell_parent=True)
                continue
            try:
                await workflow.wait_condition(
                    functools.partial(self._label_wait_over, buying),
                    timeout=left if self.stuck is None else None,
                )
            except TimeoutError:
                continue
            if buying.done():
                return buying.result()
            buying.cancel()
            with suppress(asyncio.CancelledError, ActivityError):
                await buying
            if self._stopped():
                return None
            retry, self.label_retry = self.label_retry, None
            assert retry is not None
            if retry.service_level is not None and retry.service_level != self.service_level:
                self.service_level = retry.service_level
                request = self._label_request()
            self._event(
                "label_retry",
                service_level=self.service_level.value,
                key=request.idempotency_key,
                actor=retry.actor,
            )
            buying = self._start_buying(request)

    def _label_wait_over(self, buying: asyncio.Task[LabelResult]) -> bool:
        return buying.done() or self.label_retry is not None or self._stopped()

    def _start_buying(self, request: LabelRequest) -> asyncio.Task[LabelResult]:
        return asyncio.ensure_future(
            workflow.execute_activity(
                names.BUY_LABEL,
                request,
                result_type=LabelResult,
                start_to_close_timeout=policies.EXTERNAL_TIMEOUT,
                retry_policy=policies.EXTERNAL,
                # A cancelled attempt (ops' retry, the order cancelled) is waited for: a
                # label it bought is then in the ledger, to reuse or to void.
                cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        )

    async def _apply_tracking(self, event: TrackingEvent) -> None:
        """Record every event; move only on a newer one (domain/tracking.py)."""
        if event.event_key is not None:
            if event.event_key in self.seen_events:
                return
            self.seen_events.add(event.event_key)
        applied = apply_tracking(self.status, self.tracking_latest, event.status, event.occurred_at)
        self._event(
            f"tracking_{event.status.value}",
            occurred_at=event.occurred_at.isoformat(),
            detail=event.detail,
            location=event.location,
            applied=applied.moves,
        )
        # Any word from the carrier is news, even one too old to move the parcel.
        self.last_news = workflow.now()
        self.silent = False
        was_stuck = self.stuck
        if was_stuck is not None and was_stuck.reason == StuckReason.TRACKING_STALE:
            self._unstick()
        if not applied.moves:  # recorded in the timeline, moves nothing
            await self._move(self.status, tell_parent=self.stuck != was_stuck)
            return
        self.tracking_latest = event.occurred_at
        if applied.exception:
            if was_stuck is None or was_stuck.reason != StuckReason.CARRIER_EXCEPTION:
                self._stick(
                    StuckReason.CARRIER_EXCEPTION,
                    f"the carrier reported a failure: {event.detail or 'no detail'}",
                    since=workflow.now(),
                    sla=timedelta(0),
                )
        elif self.stuck is not None:
            self._unstick()
        if applied.milestone is not None:
            self._decide_notify(applied.milestone, {"detail": event.detail})
        self._write_back_event(event)
        await self._move(applied.status, tell_parent=self.stuck != was_stuck)

    async def _watch_silence(self) -> None:
        """Sleep until tracking has been quiet for ``tracking_stale_seconds``: one timer
        for the whole road (not one per event), re-armed only when it fires early."""
        stale = timedelta(seconds=self.input.tracking_stale_seconds)
        while True:
            due = (self.last_news or workflow.now()) + stale
            if workflow.now() < due:
                await workflow.sleep(due - workflow.now())
                continue
            self.silent = True
            await workflow.wait_condition(lambda: not self.silent)

    def _stick(self, reason: StuckReason, detail: str, *, since: datetime, sla: timedelta) -> None:
        self.stuck = StuckInfo(
            step="ship",
            since=since,
            sla_seconds=int(sla.total_seconds()),
            reason=reason,
            detail=detail,
        )
        self._event("stuck", reason=reason.value, detail=detail)

    def _unstick(self) -> None:
        assert self.stuck is not None
        assert self.stuck.reason is not None
        stuck_for = int((workflow.now() - self.stuck.since).total_seconds())
        self._event("unstuck", reason=self.stuck.reason.value, stuck_seconds=max(stuck_for, 0))
        self.stuck = None

    def _pack_answer(self) -> PackResult:
        """A repeated pack's answer: the shipment as it stands, never a second label."""
        return PackResult(
            label_status=self.label_status or LabelStatus.PENDING,
            tracking=self.tracking,
            label_url=self.label_url,
        )

    # --- helpers ----------------------------------------------------------------------------

    def _picked_units(self) -> int:
        return sum(line.picked for line in self.lines.values())

    def _remaining(self) -> int:
        return sum(line.quantity - line.picked for line in self.lines.values())

    def _stopped(self) -> bool:
        return self.cancel_reason is not None or self.rejected is not None

    async def _cancelled(self) -> FulfillmentResult:
        """Cancelled before shipping: void a purchased label; the parent releases stock.

        A rejected shipment gives its own reservations back here and reports its lines, so
        the parent can route them again without the warehouse that refused them.
        """
        if self.rejected is not None and self.cancel_reason is None:
            return await self._rejected(self.rejected)
        if self.tracking is not None or (self.pack_first and self.label_keys):
            # Generation 9 cancels with the label pending too: whatever the carrier sold
            # under this shipment's keys is voided.
            await workflow.execute_activity(
                names.VOID_LABEL,
                VoidLabelRequest(shipment_id=self.input.shipment_id, purchase_keys=self.label_keys),
                start_to_close_timeout=policies.EXTERNAL_TIMEOUT,
                retry_policy=policies.EXTERNAL,
            )
            if self.label_status is not None:
                self.label_status = LabelStatus.VOIDED
            self._event("label_voided", number=self.tracking.number if self.tracking else None)
        self._event("shipment_cancelled", reason=self.cancel_reason)
        await self._move(ShipmentStatus.CANCELLED)
        return FulfillmentResult(shipment_id=self.input.shipment_id, status=self.status)

    async def _rejected(self, rejection: RejectInput) -> FulfillmentResult:
        await workflow.execute_activity(
            names.REJECT_SHIPMENT,
            RejectRequest(
                order_id=self.input.order_id,
                shipment_id=self.input.shipment_id,
                warehouse=self.warehouse,
                sku=rejection.sku,
                actor=rejection.actor,
            ),
            start_to_close_timeout=policies.DATABASE_TIMEOUT,
            retry_policy=policies.DATABASE,
        )
        self._event(
            "shipment_rejected",
            warehouse=self.warehouse,
            reason=rejection.reason,
            sku=rejection.sku,
        )
        # The parent hears it from the result (it re-routes), not from a status signal.
        await self._move(ShipmentStatus.CANCELLED, tell_parent=False)
        return FulfillmentResult(
            shipment_id=self.input.shipment_id,
            status=self.status,
            rejected=True,
            reject_reason=rejection.reason,
            warehouse=self.warehouse,
            lines=[
                ln.model_copy(update={"picked": 0, "verified": 0}) for ln in self.lines.values()
            ],
        )

    async def _report_watched_steps(self) -> None:
        """Tell the order when a floor step it is stuck on is done here (it asked by
        ``watch_floor``): the one floor move it hears about, and only when it is late."""
        while True:
            await workflow.wait_condition(lambda: bool(self.watched & self.steps_done.keys()))
            self.watched -= self.steps_done.keys()
            parent = workflow.info().parent
            if parent is not None:
                await self._tell_parent(parent.workflow_id, self.status, list(self.lines.values()))

    async def _ship(self, packed: PackInput, label: LabelResult) -> None:
        """Commit the stock and mark the shipment shipped in one transaction (the commit
        activity writes the row), answer the packer, then tell the order."""
        now = workflow.now()
        self.steps_done.setdefault("pack", now)
        self.steps_done["ship"] = now
        self._event("shipped", weight_grams=packed.weight_grams)
        self._decide_notify("shipped", {"tracking_number": label.tracking.number})
        self.status = ShipmentStatus.SHIPPED
        await workflow.execute_activity(
            names.COMMIT_STOCK,
            CommitRequest(shipment_id=self.input.shipment_id, record=self._record()),
            start_to_close_timeout=policies.DATABASE_TIMEOUT,
            retry_policy=policies.DATABASE,
        )
        self.pack_result = PackResult(tracking=label.tracking, label_url=label.label_url)
        parent = workflow.info().parent
        if parent is not None:
            await self._tell_parent(parent.workflow_id, self.status, list(self.lines.values()))

    def _record(self, *, by_api: bool = False) -> ProjectShipmentInput:
        """The shipment's row as it stands, with a new version, and the events not yet
        written: the projection write for a move, whoever performs it.

        ``by_api``: the row goes back in an Update's answer for the API to write. Its events
        stay pending too, so the shipment's next own write carries them again (the events
        insert keeps the first of each key): an answer that never got written (the API
        died, the Update came from elsewhere) loses no event."""
        self.version += 1
        events = list(self.pending_events)
        notifications: list[NotifyRequest] = []
        if not by_api:
            self.pending_events = []
            notifications, self.pending_notifications = self.pending_notifications, []
        return ProjectShipmentInput(
            shipment=ShipmentProjection(
                shipment_id=self.input.shipment_id,
                order_id=self.input.order_id,
                version=self.version,
                warehouse=self.warehouse,
                status=self.status,
                priority=self.input.priority,
                lines=[ln.model_copy() for ln in self.lines.values()],
                tracking=self.tracking,
                updated_at=workflow.now(),
                steps_done=dict(self.steps_done),
                label_status=self.label_status,
                stuck=self.stuck,
            ),
            events=events,
            notifications=notifications,
        )

    def _event(self, type_: str, **detail: Any) -> None:
        self.event_seq += 1
        detail["shipment_id"] = self.input.shipment_id
        self.pending_events.append(
            OrderEvent(
                key=f"{self.input.shipment_id}:{self.event_seq}",
                at=workflow.now(),
                type=type_,
                detail=detail,
            )
        )

    async def _move(
        self, status: ShipmentStatus, *, tell_parent: bool = True, person_waiting: bool = False
    ) -> None:
        """Record the shipment (projection + events) and tell the parent order.

        ``person_waiting``: this move answers a scan or pack Update, whose reply leaves with
        the workflow task. A local activity would hold that task (and the person) until the
        write is done, so those moves use a regular activity; the others stay local, which
        costs one history event instead of three and no extra workflow task.

        Floor moves with a parent to tell (the first scan: picking; the last: all picked)
        hand the row to the order in the signal instead, and the order writes it with its
        own projection: a signal it gets anyway, no activity round trip of ours. Those two
        moves cost the Temporal server and worker as much as all of a shipment's scans did
        (bench/runs/archive-2026-11.md, 2026-11-27 scan path).
        """
        self.status = status
        projection = self._record()
        lines = list(self.lines.values())
        parent = workflow.info().parent
        if (
            person_waiting
            and tell_parent
            and parent is not None
            and status == ShipmentStatus.PICKING
            and self._patched(patches.FLOOR_MOVES_RECORDED_BY_ORDER)
        ):
            await self._tell_parent(parent.workflow_id, status, lines, record=projection)
            return
        local = not person_waiting and self._patched(patches.PROJECTION_LOCAL_UNLESS_PERSON_WAITS)
        if not local and self._patched(patches.SHIPMENT_PROJECTION_AS_ACTIVITY):
            # A regular activity: the workflow task (and with it the answer to the scan or
            # pack Update that caused this move) completes without waiting for the write.
            await workflow.execute_activity(
                names.RECORD_SHIPMENT,
                projection,
                start_to_close_timeout=policies.DATABASE_TIMEOUT,
                retry_policy=policies.DATABASE,
            )
        else:
            await workflow.execute_local_activity(
                names.RECORD_SHIPMENT,
                projection,
                start_to_close_timeout=policies.DATABASE_TIMEOUT,
                retry_policy=policies.DATABASE,
            )
        if parent is not None and tell_parent:
            await self._tell_parent(parent.workflow_id, status, lines)

    async def _tell_parent(
        self,
        parent_id: str,
        status: ShipmentStatus,
        lines: list[ShipmentLine],
        record: ProjectShipmentInput | None = None,
        writeback_failed: str | None = None,
        edit_refused: str | None = None,
    ) -> None:
        await workflow.get_external_workflow_handle(parent_id).signal(
            "shipment_changed",
            ShipmentUpdate(
                shipment_id=self.input.shipment_id,
                status=status,
                tracking=self.tracking,
                label_url=self.label_url,
                lines=lines,
                warehouse=self.warehouse,  # always: a move back home must reach the order too
                packaging_checked=self.packaging_checked,
                record=record,
                steps_done=dict(self.steps_done),
                stuck=self.stuck,
                writeback_failed=writeback_failed,
                edit_refused=edit_refused,
            ),
        )

    def _decide_notify(self, milestone: str, detail: dict[str, object]) -> None:
        """Tell the customer, once: the ledger row goes with the move's own write, in its
        transaction (docs/decisions/0002-notifications-with-the-move.md)."""
        self.pending_notifications.append(
            NotifyRequest(
                order_id=self.input.order_id,
                email=self.input.email,
                milestone=milestone,
                idempotency_key=f"notify-{self.input.shipment_id}-{milestone}",
                detail=detail,
                shipment_id=self.input.shipment_id,
            )
        )

    async def _notify(self, milestone: str, detail: dict[str, object]) -> None:
        """Older generations: one activity per notification."""
        await workflow.execute_activity(
            names.NOTIFY_CUSTOMER,
            NotifyRequest(
                order_id=self.input.order_id,
                email=self.input.email,
                milestone=milestone,
                idempotency_key=f"notify-{self.input.shipment_id}-{milestone}",
                detail=detail,
            ),
            start_to_close_timeout=policies.EXTERNAL_TIMEOUT,
            retry_policy=policies.EXTERNAL,
        )

    def _view(self) -> ShipmentView:
        return ShipmentView(
            shipment_id=self.input.shipment_id,
            warehouse=self.warehouse,
            status=self.status,
            lines=list(self.lines.values()),
            tracking=self.tracking,
            label_url=self.label_url,
            packaging_check=self.input.packaging_check,
            packaging_checked=self.packaging_checked,
            verify_at_pack=self.input.verify_at_pack,
            on_hold=self.held,
            steps_done=dict(self.steps_done),
            label_status=self.label_status,
            stuck=self.stuck,
        )

    # --- messages ---------------------------------------------------------------------------

    @workflow.query
    def details(self) -> ShipmentView:
        return self._view()

    @workflow.update
    def scan(self, scan: ScanInput) -> ScanResult:
        """Count one accepted scan; a repeated ``scan_id`` returns the first answer.

        Pick-stage scans take items off the shelf; pack-stage scans re-check each picked item
        at the pack station (required when ``verify_at_pack``).
        """
        if scan.scan_id in self.scans:
            return self.scans[scan.scan_id]
        line = self.lines[scan.sku]
        if scan.stage == "pack":
            line.verified += scan.quantity
            done, left = line.verified, line.picked - line.verified
            total_left = sum(ln.quantity - ln.verified for ln in self.lines.values())
        else:
            line.picked += scan.quantity
            if scan.serial is not None:
                self.serials.add((scan.sku, scan.serial))
            done, left, total_left = line.picked, line.quantity - line.picked, self._remaining()
        result = ScanResult(
            accepted=True,
            sku=scan.sku,
            picked=done,
            remaining=left,
            shipment_remaining=total_left,
            stage=scan.stage,
        )
        self.scans[scan.scan_id] = result  # a repeat gets the answer; its row was written
        if not self.floor_in_read_model:
            return result
        if scan.stage == "pack":
            if total_left == 0:
                self.steps_done["pack_verification"] = workflow.now()
        else:
            self.status = ShipmentStatus.PICKING
            if total_left == 0:
                self.steps_done["pick"] = workflow.now()
                self._event("picked", units=self._picked_units())
        return result.model_copy(update={"record": self._record(by_api=True)})

    @scan.validator
    def _validate_scan(self, scan: ScanInput) -> None:
        if scan.scan_id in self.scans:
            return
        if (
            self._stopped()
            or self.moving
            or self.pack_request is not None
            or self.status not in (ShipmentStatus.OPEN, ShipmentStatus.PICKING)
        ):
            raise ApplicationError(
                f"shipment is {self.status.value}, not being picked",
                type=ScanRefusal.NOT_PICKABLE.value,
            )
        if self.held:
            raise ApplicationError(
                "the order is on hold: scans wait until the hold is released",
                type=ScanRefusal.ON_HOLD.value,
            )
        line = self.lines.get(scan.sku)
        if line is None:
            raise ApplicationError(
                f"{scan.sku} is not in this shipment", type=ScanRefusal.WRONG_ITEM.value
            )
        if scan.stage == "pack":
            if line.verified + scan.quantity > line.picked:
                raise ApplicationError(
                    f"{scan.sku}: {line.picked} picked, {line.verified} already verified",
                    type=ScanRefusal.NOT_PICKED.value,
                )
            return
        if scan.serial is not None and (scan.sku, scan.serial) in self.serials:
            raise ApplicationError(
                f"{scan.sku} serial {scan.serial} was already picked",
                type=ScanRefusal.DUPLICATE_SERIAL.value,
            )
        if line.picked + scan.quantity > line.quantity:
            raise ApplicationError(
                f"{scan.sku}: {line.quantity - line.picked} left to pick, scanned {scan.quantity}",
                type=ScanRefusal.OVER_SCAN.value,
            )

    @workflow.update
    async def pack(self, request: PackInput) -> PackResult:
        """Hand a verified parcel to the run loop; from generation 9 answer at once with
        the packed row (the label follows), before that wait for the label."""
        if self.pack_first:
            if self.pack_request is not None:
                return self._pack_answer()
            self.pack_request = request
            self.status = ShipmentStatus.PACKED
            self.label_status = LabelStatus.PENDING
            self.steps_done.setdefault("pack", workflow.now())
            self._event("packed", weight_grams=request.weight_grams, package=request.package)
            return self._pack_answer().model_copy(update={"record": self._record(by_api=True)})
        if self.pack_request is None:
            self.pack_request = request
        await workflow.wait_condition(lambda: self.pack_result is not None or self._stopped())
        if self.pack_result is None:
            raise ApplicationError(
                "the shipment was cancelled",
                type=UpdateRefusal.CANCELLED.value,
            )
        return self.pack_result

    @pack.validator
    def _validate_pack(self, request: PackInput) -> None:
        if self.pack_request is not None and not self._stopped():
            return  # a retried pack gets the first answer (the current state)
        if self._stopped() or self.status not in (ShipmentStatus.OPEN, ShipmentStatus.PICKING):
            raise ApplicationError(
                f"shipment is {self.status.value}", type=PackRefusal.NOT_PACKABLE.value
            )
        if self.held:
            raise ApplicationError(
                "the order is on hold: pack it once the hold is released",
                type=PackRefusal.ON_HOLD.value,
            )
        self._refuse_if_unpicked(PackRefusal.ITEMS_MISSING.value)
        unverified = {
            s: ln.quantity - ln.verified
            for s, ln in self.lines.items()
            if ln.verified < ln.quantity
        }
        if self.input.verify_at_pack and unverified:
            raise ApplicationError(
                "re-scan at the pack station first: "
                + ", ".join(f"{q} x {s}" for s, q in sorted(unverified.items())),
                type=PackRefusal.ITEMS_UNVERIFIED.value,
            )
        if self.input.packaging_check and not self.packaging_checked:
            raise ApplicationError(
                "fragile items: confirm protective packaging before packing",
                type=PackRefusal.PACKAGING_UNCHECKED.value,
            )
        lines = list(self.lines.values())
        if not weight_ok(lines, request.weight_grams):
            low, high = weight_window(lines)
            raise ApplicationError(
                f"measured {request.weight_grams} g; expected {expected_weight(lines)} g "
                f"(accepted {low}-{high} g)",
                type=PackRefusal.WEIGHT_MISMATCH.value,
            )

    def _refuse_if_unpicked(self, reason: str) -> None:
        missing = {
            s: ln.quantity - ln.picked for s, ln in self.lines.items() if ln.picked < ln.quantity
        }
        if missing:
            raise ApplicationError(
                "not picked yet: " + ", ".join(f"{q} x {s}" for s, q in sorted(missing.items())),
                type=reason,
            )

    @workflow.update
    async def confirm_packaging(self, request: PackagingCheckInput) -> FloorAnswer:
        """The packer confirms protective packaging for fragile items (a template step)."""
        if self.packaging_checked:
            return FloorAnswer(view=self._view())
        self.packaging_checked = True
        self._event("packaging_checked", note=request.note, actor=request.actor)
        if not self.floor_in_read_model:
            await self._move(self.status, person_waiting=True)
            return FloorAnswer(view=self._view())
        self.steps_done["packaging_check"] = workflow.now()
        return FloorAnswer(view=self._view(), record=self._record(by_api=True))

    @confirm_packaging.validator
    def _validate_packaging(self, request: PackagingCheckInput) -> None:
        if self.packaging_checked:
            return  # a repeat gets the same answer
        if not self.input.packaging_check:
            raise ApplicationError(
                "this shipment's template has no packaging check",
                type=UpdateRefusal.NOT_REQUIRED.value,
            )
        if self._stopped() or self.status not in (ShipmentStatus.OPEN, ShipmentStatus.PICKING):
            raise ApplicationError(
                f"shipment is {self.status.value}", type=PackRefusal.NOT_PACKABLE.value
            )
        if self.held:
            raise ApplicationError("the order is on hold", type=PackRefusal.ON_HOLD.value)
        self._refuse_if_unpicked(PackRefusal.ITEMS_MISSING.value)

    @workflow.signal
    def set_hold(self, held: bool) -> None:
        """The order was held or released: scans and packing stop or resume."""
        self.held = held

    @workflow.update
    async def move(self, request: MoveInput) -> FloorAnswer:
        """Ops moves the shipment to another warehouse before picking starts.

        The reservations move in one transaction; if the target lacks stock or capacity,
        the Update fails and the shipment stays where it was.
        """
        self.moving = True
        try:
            result: MoveResult = await workflow.execute_activity(
                names.MOVE_SHIPMENT,
                MoveRequest(
                    order_id=self.input.order_id,
                    shipment_id=self.input.shipment_id,
                    to_warehouse=request.warehouse,
                    reason=request.reason,
                ),
                result_type=MoveResult,
                start_to_close_timeout=policies.DATABASE_TIMEOUT,
                retry_policy=policies.DATABASE,
            )
        finally:
            self.moving = False
        if not result.moved:
            raise ApplicationError(
                result.detail,
                type=UpdateRefusal.CANNOT_MOVE.value,
            )
        before, self.warehouse = self.warehouse, request.warehouse
        self._event("shipment_moved", source=before, to=request.warehouse, reason=request.reason)
        if not self.floor_in_read_model:
            await self._move(self.status, person_waiting=True)
            return FloorAnswer(view=self._view())
        record = self._record(by_api=True)
        parent = workflow.info().parent
        if parent is not None:  # the order's warehouses (search attribute, list) change
            await self._tell_parent(parent.workflow_id, self.status, list(self.lines.values()))
        return FloorAnswer(view=self._view(), record=record)

    @move.validator
    def _validate_move(self, request: MoveInput) -> None:
        if self._stopped() or self.status != ShipmentStatus.OPEN or self._picked_units():
            raise ApplicationError(
                f"shipment is {self.status.value}; only an open shipment nobody has started "
                "picking can move",
                type=UpdateRefusal.NOT_MOVABLE.value,
            )
        if self.moving:
            raise ApplicationError(
                "the shipment is already being moved",
                type=UpdateRefusal.NOT_MOVABLE.value,
            )
        if request.warehouse == self.warehouse:
            raise ApplicationError(
                f"the shipment already ships from {self.warehouse}",
                type=UpdateRefusal.SAME_WAREHOUSE.value,
            )

    @workflow.update
    async def reject(self, request: RejectInput) -> FloorAnswer:
        """The warehouse cannot ship this (e.g. the shelf is empty): hand it back.

        The cancelled row is written by a local activity of the same workflow task, so it
        is in the read model before this answer leaves."""
        if self.rejected is None:
            self.rejected = request
        await workflow.wait_condition(lambda: self.status == ShipmentStatus.CANCELLED)
        return FloorAnswer(view=self._view())

    @reject.validator
    def _validate_reject(self, request: RejectInput) -> None:
        if self.rejected is not None:
            return  # a repeat gets the same answer
        if (
            self.cancel_reason is not None
            or self.moving
            or self.pack_request is not None
            or self.status not in (ShipmentStatus.OPEN, ShipmentStatus.PICKING)
        ):
            raise ApplicationError(
                f"shipment is {self.status.value}; only a shipment not yet packed can be "
                "handed back",
                type=UpdateRefusal.NOT_REJECTABLE.value,
            )
        if request.sku is not None and request.sku not in self.lines:
            raise ApplicationError(
                f"{request.sku} is not in this shipment", type=ScanRefusal.WRONG_ITEM.value
            )

    @workflow.update
    def retry_label(self, request: LabelRetryInput) -> FloorAnswer:
        """Ops: buy the pending label again now, optionally with another service level."""
        self.label_retry = request
        return FloorAnswer(view=self._view())

    @retry_label.validator
    def _validate_retry_label(self, request: LabelRetryInput) -> None:
        if not self.pack_first or self.label_status != LabelStatus.PENDING or self._stopped():
            raise ApplicationError(
                "only a packed shipment whose label is pending can retry it",
                type=UpdateRefusal.LABEL_NOT_PENDING.value,
            )

    @workflow.signal
    async def relocate(self, request: RelocateInput) -> None:
        """Generation 10: the order's address changed (Shopify) and nobody has started
        picking: take the new address and, if another warehouse is now the best, move the
        reservations there. Once picking started it is not applied (the order flags it)."""
        if (
            self._stopped()
            or self.status != ShipmentStatus.OPEN
            or self._picked_units()
            or self.moving
            or self.pack_request is not None
        ):
            self._event("address_change_not_applied", reason="picking has started")
            return
        self.address = request.address
        self.moving = True
        try:
            result: RerouteResult = await workflow.execute_activity(
                names.REROUTE_SHIPMENT,
                RerouteRequest(
                    order_id=self.input.order_id,
                    shipment_id=self.input.shipment_id,
                    warehouse=self.warehouse,
                    lines=[
                        OrderLine(sku=ln.sku, quantity=ln.quantity)
                        for ln in self.lines.values()
                        if ln.quantity > 0
                    ],
                    address=request.address,
                    shipping_method=self.input.shipping_method,
                    priority=self.input.priority,
                ),
                result_type=RerouteResult,
                start_to_close_timeout=policies.DATABASE_TIMEOUT,
                retry_policy=policies.DATABASE,
            )
        finally:
            self.moving = False
        before, self.warehouse = self.warehouse, result.warehouse
        self._event(
            "rerouted" if result.moved else "reroute_kept",
            source=before,
            to=result.warehouse,
            detail=result.detail,
        )
        await self._move(self.status, tell_parent=result.moved)

    @workflow.signal
    async def remove_lines(self, removal: LineRemoval) -> None:
        """Generation 10: a channel edit took units off the order before anyone picked this
        shipment. Its reservations shrink to what is left (released in one transaction,
        absolute targets: a retry or replay releases nothing twice), the row on the work
        list shows the new lines, the order hears them. Every line gone: the shipment is
        cancelled (no label was bought yet). If picking started meanwhile, nothing is
        applied and the order marks itself for ops (docs/decisions/0009)."""
        async with self.edit_lock:
            if removal.key in self.edits_applied:
                return
            parent = workflow.info().parent
            if (
                self._stopped()
                or self.status != ShipmentStatus.OPEN
                or self._picked_units()
                or self.moving
                or self.pack_request is not None
            ):
                self.edits_applied.add(removal.key)
                self._event("edit_not_applied", edit_id=removal.key, reason="picking has started")
                if parent is not None:
                    await self._tell_parent(
                        parent.workflow_id,
                        self.status,
                        list(self.lines.values()),
                        edit_refused=f"edit {removal.key}: picking of "
                        f"{self.input.shipment_id} had started",
                    )
                return
            keep = {
                sku: max(ln.quantity - removal.removed.get(sku, 0), 0)
                for sku, ln in self.lines.items()
            }
            self.moving = True  # no scans while the reservations change
            try:
                released: int = await workflow.execute_activity(
                    names.SHRINK_SHIPMENT,
                    ShrinkRequest(
                        order_id=self.input.order_id,
                        shipment_id=self.input.shipment_id,
                        keep=keep,
                    ),
                    result_type=int,
                    start_to_close_timeout=policies.DATABASE_TIMEOUT,
                    retry_policy=policies.DATABASE,
                )
            finally:
                self.moving = False
            self.edits_applied.add(removal.key)
            for sku, units in keep.items():
                if units == 0:
                    del self.lines[sku]
                else:
                    self.lines[sku].quantity = units
            self._event(
                "lines_removed",
                edit_id=removal.key,
                removed={k: v for k, v in removal.removed.items() if v},
                released=released,
                left={sku: ln.quantity for sku, ln in self.lines.items()},
            )
            if not self.lines:
                # The run loop sees it and cancels: the row and the order hear it there.
                self.cancel_reason = "every line was removed in the channel"
                return
            await self._move(self.status)

    @workflow.signal
    def watch_floor(self, step: str) -> None:
        """The order is over a floor step's SLA: tell it once this shipment finishes it."""
        self.watched.add(step)

    @workflow.signal
    def track(self, event: TrackingEvent) -> None:
        """A carrier tracking event, durably received by the API before it was sent."""
        self.tracking_inbox.append(event)

    @workflow.signal
    def cancel(self, reason: str) -> None:
        """The parent order is being cancelled. Ignored once the parcel has shipped."""
        if self.pack_result is None and not self.shipping:
            self.cancel_reason = reason
