"""The shipment's row, its timeline and its word to the order: how a move is recorded.

Every change of the shipment ends here: ``event`` adds to its timeline, ``record`` builds
its row (``row``: the projection write), ``move`` writes it and tells the parent order, and
``answer_floor_move`` is the one way an Update that moves the floor answers (generation 8
on the row rides in the answer for the API to write, before that the shipment writes it;
docs/decisions/0001-floor-state-in-the-read-model.md).
"""

from __future__ import annotations

from typing import Any, TypeVar

from temporalio import workflow

from domain import names
from domain.models import (
    FloorAnswer,
    NotifyRequest,
    OrderEvent,
    PackResult,
    ProjectShipmentInput,
    ScanResult,
    ShipmentLine,
    ShipmentProjection,
    ShipmentUpdate,
    ShipmentView,
)
from domain.status import ShipmentStatus
from workflows import patches, policies
from workflows.fulfillment.state import ShipmentState

#: The answers that carry the row: a scan's and a pack's.
Answer = TypeVar("Answer", ScanResult, PackResult)


def event(s: ShipmentState, type_: str, **detail: Any) -> None:
    """Add one event to the shipment's timeline; it is written with the next record."""
    s.event_seq += 1
    detail["shipment_id"] = s.input.shipment_id
    s.pending_events.append(
        OrderEvent(
            key=f"{s.input.shipment_id}:{s.event_seq}",
            at=workflow.now(),
            type=type_,
            detail=detail,
        )
    )


def row(s: ShipmentState, *, by_api: bool = False) -> ProjectShipmentInput:
    """The shipment's row as it stands, with a new version, and the events not yet
    written: the projection write for a move, whoever performs it.

    ``by_api``: the row goes back in an Update's answer for the API to write. Its events
    stay pending too, so the shipment's next own write carries them again (the events
    insert keeps the first of each key): an answer that never got written (the API
    died, the Update came from elsewhere) loses no event."""
    s.version += 1
    events = list(s.pending_events)
    notifications: list[NotifyRequest] = []
    if not by_api:
        s.pending_events = []
        notifications, s.pending_notifications = s.pending_notifications, []
    return ProjectShipmentInput(
        shipment=ShipmentProjection(
            shipment_id=s.input.shipment_id,
            order_id=s.input.order_id,
            version=s.version,
            warehouse=s.warehouse,
            status=s.status,
            priority=s.input.priority,
            lines=[ln.model_copy() for ln in s.lines.values()],
            tracking=s.tracking,
            updated_at=workflow.now(),
            steps_done=dict(s.steps_done),
            label_status=s.label_status,
            stuck=s.stuck,
        ),
        events=events,
        notifications=notifications,
    )


def view(s: ShipmentState) -> ShipmentView:
    """The shipment as the person at the station (and the Query) sees it."""
    return ShipmentView(
        shipment_id=s.input.shipment_id,
        warehouse=s.warehouse,
        status=s.status,
        lines=list(s.lines.values()),
        tracking=s.tracking,
        label_url=s.label_url,
        packaging_check=s.input.packaging_check,
        packaging_checked=s.packaging_checked,
        verify_at_pack=s.input.verify_at_pack,
        on_hold=s.held,
        steps_done=dict(s.steps_done),
        label_status=s.label_status,
        stuck=s.stuck,
    )


def with_row(s: ShipmentState, answer: Answer) -> Answer:
    """An Update's answer carrying the shipment's row, for the API to write first."""
    return answer.model_copy(update={"record": row(s, by_api=True)})


async def answer_floor_move(s: ShipmentState, *, tell_parent: bool = False) -> FloorAnswer:
    """Answer an Update that moved the floor (it has validated and applied the change).

    Generation 8 on, the row goes back with the answer (and the order hears of it only
    when ``tell_parent``: its warehouses changed); older generations write it themselves
    and tell the order, as they always did."""
    if not s.floor_in_read_model:
        await move(s, s.status, person_waiting=True)
        return FloorAnswer(view=view(s))
    written_by_api = row(s, by_api=True)
    if tell_parent:
        await tell_order(s)
    return FloorAnswer(view=view(s), record=written_by_api)


async def move(
    s: ShipmentState,
    status: ShipmentStatus,
    *,
    tell_parent: bool = True,
    person_waiting: bool = False,
) -> None:
    """Record the shipment (projection + events) and tell the parent order.

    ``person_waiting``: this move answers a scan or pack Update, whose reply leaves with
    the workflow task. A local activity would hold that task (and the person) until the
    write is done, so those moves use a regular activity; the others stay local, which
    costs one history event instead of three and no extra workflow task
    (docs/decisions/0015-projection-writes-local-unless-a-person-waits.md).

    Floor moves with a parent to tell (the first scan: picking; the last: all picked)
    hand the row to the order in the signal instead, and the order writes it with its
    own projection: a signal it gets anyway, no activity round trip of ours. Those two
    moves cost the Temporal server and worker as much as all of a shipment's scans did
    (docs/decisions/0001-floor-state-in-the-read-model.md).
    """
    s.status = status
    projection = row(s)
    lines = list(s.lines.values())
    parent = workflow.info().parent
    # The order of these tests is the order of the patch markers in history: keep it.
    if (
        person_waiting
        and tell_parent
        and parent is not None
        and status == ShipmentStatus.PICKING
        and s.patched(patches.FLOOR_MOVES_RECORDED_BY_ORDER)
    ):
        await tell_order(s, status, lines, record=projection)
        return
    local = not person_waiting and s.patched(patches.PROJECTION_LOCAL_UNLESS_PERSON_WAITS)
    if not local and s.patched(patches.SHIPMENT_PROJECTION_AS_ACTIVITY):
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
    if tell_parent:
        await tell_order(s, status, lines)


async def tell_order(
    s: ShipmentState,
    status: ShipmentStatus | None = None,
    lines: list[ShipmentLine] | None = None,
    *,
    record: ProjectShipmentInput | None = None,
    writeback_failed: str | None = None,
    edit_refused: str | None = None,
) -> None:
    """Signal ``shipment_changed`` to the parent order, if there is one. ``status`` and
    ``lines`` default to the shipment's own; ``move`` passes those it recorded."""
    parent = workflow.info().parent
    if parent is None:
        return
    await workflow.get_external_workflow_handle(parent.workflow_id).signal(
        "shipment_changed",
        ShipmentUpdate(
            shipment_id=s.input.shipment_id,
            status=s.status if status is None else status,
            tracking=s.tracking,
            label_url=s.label_url,
            lines=list(s.lines.values()) if lines is None else lines,
            warehouse=s.warehouse,  # always: a move back home must reach the order too
            packaging_checked=s.packaging_checked,
            record=record,
            steps_done=dict(s.steps_done),
            stuck=s.stuck,
            writeback_failed=writeback_failed,
            edit_refused=edit_refused,
        ),
    )


def notify_request(
    s: ShipmentState, milestone: str, detail: dict[str, object], *, with_shipment: bool
) -> NotifyRequest:
    return NotifyRequest(
        order_id=s.input.order_id,
        email=s.input.email,
        milestone=milestone,
        idempotency_key=f"notify-{s.input.shipment_id}-{milestone}",
        detail=detail,
        shipment_id=s.input.shipment_id if with_shipment else None,
    )


def decide_notify(s: ShipmentState, milestone: str, detail: dict[str, object]) -> None:
    """Tell the customer, once: the ledger row goes with the move's own write, in its
    transaction (docs/decisions/0002-notifications-with-the-move.md)."""
    s.pending_notifications.append(notify_request(s, milestone, detail, with_shipment=True))


async def notify(s: ShipmentState, milestone: str, detail: dict[str, object]) -> None:
    """Older generations: one activity per notification."""
    await workflow.execute_activity(
        names.NOTIFY_CUSTOMER,
        notify_request(s, milestone, detail, with_shipment=False),
        start_to_close_timeout=policies.EXTERNAL_TIMEOUT,
        retry_policy=policies.EXTERNAL,
    )


async def report_watched_steps(s: ShipmentState) -> None:
    """Tell the order when a floor step it is stuck on is done here (it asked by
    ``watch_floor``): the one floor move it hears about, and only when it is late."""
    while True:
        await workflow.wait_condition(lambda: bool(s.watched & s.steps_done.keys()))
        s.watched -= s.steps_done.keys()
        await tell_order(s)
