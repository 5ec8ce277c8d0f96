"""``FulfillmentWorkflow``: one shipment from one warehouse, pick → pack → ship → delivered.

A child of ``OrderWorkflow`` that reports every move to its parent by Signal. Scans and
pack are Updates whose validators refuse wrong input synchronously, so a refused scan leaves
no trace in history; carrier tracking events arrive as Signals.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from domain.models import (
    CommitRequest,
    FulfillmentInput,
    FulfillmentResult,
    LabelRequest,
    LabelResult,
    MoveInput,
    MoveRequest,
    MoveResult,
    NotifyRequest,
    OrderEvent,
    PackagingCheckInput,
    PackInput,
    PackResult,
    ProjectShipmentInput,
    RejectInput,
    RejectRequest,
    ScanInput,
    ScanResult,
    ShipmentLine,
    ShipmentProjection,
    ShipmentUpdate,
    ShipmentView,
    Tracking,
    TrackingEvent,
    VoidLabelRequest,
)
from domain.packing import expected_weight, weight_ok, weight_window
from domain.status import (
    TRACKING_TO_SHIPMENT,
    PackRefusal,
    ScanRefusal,
    ShipmentStatus,
    TrackingStatus,
)
from workflows import names, policies

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

    @workflow.run
    async def run(self, shipment: FulfillmentInput) -> FulfillmentResult:
        if workflow.patched("shipment-announces-itself"):
            # The shipment enters the warehouse work list only now that this workflow can
            # take its scans (allocation used to write the row a moment before).
            await self._move(ShipmentStatus.OPEN, tell_parent=False)
        # Pick: wait for the first accepted scan, then for the last.
        await workflow.wait_condition(lambda: self._picked_units() > 0 or self._stopped())
        if self._stopped():
            return await self._cancelled()
        # A pick finished by its first scan (one unit, a case, a GS1 count) tells the order
        # once, below: "picking" would last no time and cost a signal and a workflow task
        # on each side (bench/RESULTS.md, 2026-11-27 scan path, fourth pass).
        if self._remaining() > 0 or not workflow.patched(
            "one-floor-move-when-first-scan-picks-all"
        ):
            await self._move(ShipmentStatus.PICKING, person_waiting=True)
        await workflow.wait_condition(lambda: self._remaining() == 0 or self._stopped())
        if self._stopped():
            return await self._cancelled()
        self._event("picked", units=self._picked_units())
        # The parent sees every line picked → packing.
        await self._move(ShipmentStatus.PICKING, person_waiting=True)

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
            # hears only of outcomes (delivered, exception); the shipments projection and
            # this workflow's Query show every step.
            tell_parent = status in TELL_PARENT_AFTER_SHIPPING or not workflow.patched(
                "parent-hears-tracking-outcomes-only"
            )
            await self._move(status, tell_parent=tell_parent)
            if event.status in NOTIFY_ON:
                await self._notify(NOTIFY_ON[event.status], {"detail": event.detail})
        return FulfillmentResult(
            shipment_id=shipment.shipment_id, status=self.status, tracking=self.tracking
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
        if self.tracking is not None:
            await workflow.execute_activity(
                names.VOID_LABEL,
                VoidLabelRequest(shipment_id=self.input.shipment_id),
                start_to_close_timeout=policies.EXTERNAL_TIMEOUT,
                retry_policy=policies.EXTERNAL,
            )
            self._event("label_voided", number=self.tracking.number)
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
        (bench/RESULTS.md, 2026-11-27 scan path).
        """
        self.status = status
        self.version += 1
        events, self.pending_events = self.pending_events, []
        lines = list(self.lines.values())
        projection = ProjectShipmentInput(
            shipment=ShipmentProjection(
                shipment_id=self.input.shipment_id,
                order_id=self.input.order_id,
                version=self.version,
                warehouse=self.warehouse,
                status=status,
                priority=self.input.priority,
                lines=lines,
                tracking=self.tracking,
                updated_at=workflow.now(),
            ),
            events=events,
        )
        parent = workflow.info().parent
        if (
            person_waiting
            and tell_parent
            and parent is not None
            and status == ShipmentStatus.PICKING
            and workflow.patched("floor-moves-recorded-by-order")
        ):
            await self._tell_parent(parent.workflow_id, status, lines, record=projection)
            return
        local = not person_waiting and workflow.patched("projection-local-unless-person-waits")
        if not local and workflow.patched("shipment-projection-as-activity"):
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
            ),
        )

    async def _notify(self, milestone: str, detail: dict[str, object]) -> None:
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
        self.scans[scan.scan_id] = result
        return result

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
        """Hand a verified parcel to the run loop and wait for its label."""
        if self.pack_request is None:
            self.pack_request = request
        await workflow.wait_condition(lambda: self.pack_result is not None or self._stopped())
        if self.pack_result is None:
            raise ApplicationError("the shipment was cancelled", type="cancelled")
        return self.pack_result

    @pack.validator
    def _validate_pack(self, request: PackInput) -> None:
        if self.pack_request is not None and not self._stopped():
            return  # a retried pack gets the first answer
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
    async def confirm_packaging(self, request: PackagingCheckInput) -> ShipmentView:
        """The packer confirms protective packaging for fragile items (a template step)."""
        if not self.packaging_checked:
            self.packaging_checked = True
            self._event("packaging_checked", note=request.note, actor=request.actor)
            await self._move(self.status, person_waiting=True)
        return self._view()

    @confirm_packaging.validator
    def _validate_packaging(self, request: PackagingCheckInput) -> None:
        if self.packaging_checked:
            return  # a repeat gets the same answer
        if not self.input.packaging_check:
            raise ApplicationError(
                "this shipment's template has no packaging check", type="not_required"
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
    async def move(self, request: MoveInput) -> ShipmentView:
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
            raise ApplicationError(result.detail, type="cannot_move")
        before, self.warehouse = self.warehouse, request.warehouse
        self._event("shipment_moved", source=before, to=request.warehouse, reason=request.reason)
        await self._move(self.status, person_waiting=True)
        return self._view()

    @move.validator
    def _validate_move(self, request: MoveInput) -> None:
        if self._stopped() or self.status != ShipmentStatus.OPEN or self._picked_units():
            raise ApplicationError(
                f"shipment is {self.status.value}; only an open shipment nobody has started "
                "picking can move",
                type="not_movable",
            )
        if self.moving:
            raise ApplicationError("the shipment is already being moved", type="not_movable")
        if request.warehouse == self.warehouse:
            raise ApplicationError(
                f"the shipment already ships from {self.warehouse}", type="same_warehouse"
            )

    @workflow.update
    async def reject(self, request: RejectInput) -> ShipmentView:
        """The warehouse cannot ship this (e.g. the shelf is empty): hand it back."""
        if self.rejected is None:
            self.rejected = request
        await workflow.wait_condition(lambda: self.status == ShipmentStatus.CANCELLED)
        return self._view()

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
                type="not_rejectable",
            )
        if request.sku is not None and request.sku not in self.lines:
            raise ApplicationError(
                f"{request.sku} is not in this shipment", type=ScanRefusal.WRONG_ITEM.value
            )

    @workflow.signal
    def track(self, event: TrackingEvent) -> None:
        """A carrier tracking event, durably received by the API before it was sent."""
        self.tracking_inbox.append(event)

    @workflow.signal
    def cancel(self, reason: str) -> None:
        """The parent order is being cancelled. Ignored once the parcel has shipped."""
        if self.pack_result is None and not self.shipping:
            self.cancel_reason = reason
