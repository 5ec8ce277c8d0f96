"""``FulfillmentWorkflow``: one shipment from one warehouse, pick → pack → ship → delivered.

A child of ``OrderWorkflow``. Scans and pack are Updates whose validators refuse wrong input
synchronously, so a refused scan leaves no trace in history; carrier tracking events arrive
as Signals. The parent hears only what changes the order's course (shipped, exception, a
move to another warehouse; rejection and delivery through the result): floor moves (each
scan, the packaging check) answer with the shipment's row, which the API writes before it
replies, so the read model is true when the person reads it
(docs/decisions/0001-floor-state-in-the-read-model.md). Generations before 8 told the
parent every floor move; they replay as they ran.

This class holds the run and the Temporal handlers, thin: the state is one
``ShipmentState`` and the work is in the modules beside this one
(docs/decisions/0019-workflows-as-packages-over-one-state.md).
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from domain.codes import UpdateRefusal
from domain.models import (
    FloorAnswer,
    FulfillmentInput,
    FulfillmentResult,
    LabelRetryInput,
    LineRemoval,
    MoveInput,
    PackagingCheckInput,
    PackInput,
    PackResult,
    RejectInput,
    RelocateInput,
    ScanInput,
    ScanResult,
    ShipmentView,
    TrackingEvent,
)
from domain.status import LabelStatus, ShipmentStatus
from workflows import patches
from workflows.fulfillment import (
    channel,
    ending,
    label_first,
    moves,
    packing,
    record,
    scans,
    shipping,
)
from workflows.fulfillment.state import ShipmentState


@workflow.defn
class FulfillmentWorkflow:
    @workflow.init
    def __init__(self, shipment: FulfillmentInput) -> None:
        self.state = ShipmentState.start(shipment)
        self.reporter: asyncio.Task[None] | None = None
        #: Generation 10: this shipment's fulfillment and its tracking events, written back
        #: to the order's sales channel (docs/decisions/0009-shopify-write-back.md).
        self.writeback = channel.open_writeback(self.state)
        self.edit_lock = asyncio.Lock()

    @workflow.run
    async def run(self, shipment: FulfillmentInput) -> FulfillmentResult:
        s = self.state
        if s.patched(patches.SHIPMENT_ANNOUNCES_ITSELF):
            # The shipment enters the warehouse work list only now that this workflow can
            # take its scans (allocation used to write the row a moment before).
            await record.move(s, ShipmentStatus.OPEN, tell_parent=False)
        if s.floor_in_read_model:
            self.reporter = asyncio.create_task(record.report_watched_steps(s))
        # Pick: wait for the first accepted scan, then for the last.
        await workflow.wait_condition(lambda: s.picked_units() > 0 or s.stopped())
        if s.stopped():
            return await ending.end_cancelled(s)
        # Older generations: a pick finished by its first scan (one unit, a case, a GS1
        # count) tells the order once, below.
        if not s.floor_in_read_model and (
            s.remaining() > 0 or not s.patched(patches.ONE_FLOOR_MOVE_WHEN_FIRST_SCAN_PICKS_ALL)
        ):
            await record.move(s, ShipmentStatus.PICKING, person_waiting=True)
        await workflow.wait_condition(lambda: s.remaining() == 0 or s.stopped())
        if s.stopped():
            return await ending.end_cancelled(s)
        if not s.floor_in_read_model:
            record.event(s, "picked", units=s.picked_units())
            # The parent sees every line picked → packing.
            await record.move(s, ShipmentStatus.PICKING, person_waiting=True)
        # Pack: the pack Update hands over a verified parcel.
        await workflow.wait_condition(lambda: s.pack_request is not None or s.stopped())
        if s.stopped():
            return await ending.end_cancelled(s)
        assert s.pack_request is not None
        if s.pack_first:
            return await shipping.ship_after_pack(s, s.pack_request, self.writeback)
        return await label_first.ship_label_first(s, s.pack_request)

    # --- Queries and Updates of the floor ----------------------------------------------------

    @workflow.query
    def details(self) -> ShipmentView:
        return record.view(self.state)

    @workflow.update
    def scan(self, scan: ScanInput) -> ScanResult:
        """Count one accepted scan; a repeated ``scan_id`` returns the first answer.

        Pick-stage scans take items off the shelf; pack-stage scans re-check each picked item
        at the pack station (required when ``verify_at_pack``).
        """
        return scans.apply_scan(self.state, scan)

    @scan.validator
    def _validate_scan(self, scan: ScanInput) -> None:
        scans.validate_scan(self.state, scan)

    @workflow.update
    async def pack(self, request: PackInput) -> PackResult:
        """Hand a verified parcel to the run loop; from generation 9 answer at once with
        the packed row (the label follows), before that wait for the label."""
        s = self.state
        if s.pack_first:
            return packing.pack_parcel(s, request)
        if s.pack_request is None:
            s.pack_request = request
        await workflow.wait_condition(lambda: s.pack_result is not None or s.stopped())
        if s.pack_result is None:
            raise ApplicationError("the shipment was cancelled", type=UpdateRefusal.CANCELLED.value)
        return s.pack_result

    @pack.validator
    def _validate_pack(self, request: PackInput) -> None:
        packing.validate_pack(self.state, request)

    @workflow.update
    async def confirm_packaging(self, request: PackagingCheckInput) -> FloorAnswer:
        """The packer confirms protective packaging for fragile items (a template step)."""
        if self.state.packaging_checked:
            return FloorAnswer(view=record.view(self.state))
        packing.check_packaging(self.state, request)
        return await record.answer_floor_move(self.state)

    @confirm_packaging.validator
    def _validate_packaging(self, request: PackagingCheckInput) -> None:
        packing.validate_packaging(self.state)

    @workflow.signal
    def set_hold(self, held: bool) -> None:
        """The order was held or released: scans and packing stop or resume."""
        self.state.held = held

    # --- Changes before picking ----------------------------------------------------------------

    @workflow.update
    async def move(self, request: MoveInput) -> FloorAnswer:
        """Ops moves the shipment to another warehouse before picking starts.

        The reservations move in one transaction; if the target lacks stock or capacity,
        the Update fails and the shipment stays where it was. The order hears it: its
        warehouses (search attribute, list) change.
        """
        await moves.move_shipment(self.state, request)
        return await record.answer_floor_move(self.state, tell_parent=True)

    @move.validator
    def _validate_move(self, request: MoveInput) -> None:
        moves.validate_move(self.state, request)

    @workflow.update
    async def reject(self, request: RejectInput) -> FloorAnswer:
        """The warehouse cannot ship this (e.g. the shelf is empty): hand it back.

        The cancelled row is written by a local activity of the same workflow task, so it
        is in the read model before this answer leaves."""
        s = self.state
        if s.rejected is None:
            s.rejected = request
        await workflow.wait_condition(lambda: s.status == ShipmentStatus.CANCELLED)
        return FloorAnswer(view=record.view(s))

    @reject.validator
    def _validate_reject(self, request: RejectInput) -> None:
        moves.validate_reject(self.state, request)

    @workflow.signal
    async def relocate(self, request: RelocateInput) -> None:
        """Generation 10: the order's address changed (Shopify) and nobody has started
        picking: take the new address and, if another warehouse is now the best, move the
        reservations there. Once picking started it is not applied (the order flags it)."""
        await moves.reroute(self.state, request)

    @workflow.signal
    async def remove_lines(self, removal: LineRemoval) -> None:
        """Generation 10: a channel edit took units off the order before anyone picked this
        shipment. Its reservations shrink to what is left (released in one transaction,
        absolute targets: a retry or replay releases nothing twice), the row on the work
        list shows the new lines, the order hears them. Every line gone: the shipment is
        cancelled (no label was bought yet). If picking started meanwhile, nothing is
        applied and the order marks itself for ops
        (docs/decisions/0009-shopify-write-back.md)."""
        async with self.edit_lock:
            await moves.shrink(self.state, removal)

    # --- The label and the carrier -------------------------------------------------------------

    @workflow.update
    def retry_label(self, request: LabelRetryInput) -> FloorAnswer:
        """Ops: buy the pending label again now, optionally with another service level."""
        self.state.label_retry = request
        return FloorAnswer(view=record.view(self.state))

    @retry_label.validator
    def _validate_retry_label(self, request: LabelRetryInput) -> None:
        s = self.state
        if not s.pack_first or s.label_status != LabelStatus.PENDING or s.stopped():
            raise ApplicationError(
                "only a packed shipment whose label is pending can retry it",
                type=UpdateRefusal.LABEL_NOT_PENDING.value,
            )

    @workflow.signal
    def track(self, event: TrackingEvent) -> None:
        """A carrier tracking event, durably received by the API before it was sent."""
        self.state.tracking_inbox.append(event)

    # --- The order ----------------------------------------------------------------------------

    @workflow.signal
    def watch_floor(self, step: str) -> None:
        """The order is over a floor step's SLA: tell it once this shipment finishes it."""
        self.state.watched.add(step)

    @workflow.signal
    def cancel(self, reason: str) -> None:
        """The parent order is being cancelled. Ignored once the parcel has shipped."""
        s = self.state
        if s.pack_result is None and not s.shipping:
            s.cancel_reason = reason
