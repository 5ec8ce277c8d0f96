"""Orders: intake through the API, reading (list, counts, detail, history) and acting.

Lists come from the projection (cheap, filterable); the detail view asks the workflow
itself (a Query) so a person sees the live state, and falls back to the projection when
the workflow cannot answer (closed and no worker, or Temporal down). What the routes answer
is built in api/order_views.py; taking an order in exactly once is api/intake.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response

from api import actions, intake
from api import order_views as views
from api.auth import Floor, Intake, Ops, Reader, ensure_ships_from, scope_of
from api.bounds import PathText
from api.deps import AppSettings, Session, Temporal
from api.filters import FilterParams
from api.history import timeline
from api.problems import Problem, problem_responses
from api.schemas.orders import (
    AcceptedOrder,
    CancelIn,
    CancelOut,
    EventOut,
    HistoryEntry,
    HoldIn,
    HoldOut,
    OrderDetail,
    OrderHistory,
    OrderIn,
    OrderPage,
    ReleaseOut,
    ShipmentHistory,
    TagsIn,
    TagsOut,
)
from api.temporal import TRANSIENT, is_not_found, unavailable
from api.updates import answer_update
from domain import names
from domain.codes import ProblemCode, UpdateRefusal
from domain.models import (
    CancelInput,
    HoldInput,
    ReleaseInput,
    TagChange,
)
from domain.status import SHIPPED_OR_LATER, OrderStatus
from store import catalog
from store import orders as read
from store.keys import Principal
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/api/v1/orders", tags=["orders"], responses=problem_responses(401, 403))

QUERY_TIMEOUT = timedelta(seconds=3)


# --- intake -------------------------------------------------------------------------------


@router.post(
    "",
    status_code=202,
    response_model=AcceptedOrder,
    responses={
        200: {"model": AcceptedOrder, "description": "repeated request"},
        **problem_responses(400, 409, 422, 503),
    },
)
async def create_order(
    body: OrderIn,
    response: Response,
    session: Session,
    client: Temporal,
    settings: AppSettings,
    _: Intake,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> AcceptedOrder:
    # Taken in exactly once (api/intake.py); a repeated request answers 200.
    if not idempotency_key:
        raise Problem(
            400,
            "the Idempotency-Key header is required",
            reason=ProblemCode.IDEMPOTENCY_KEY_MISSING,
        )
    keyed = intake.KeyedOrder.of(body, settings, idempotency_key)
    result = await intake.replayed(session, client, settings, keyed)
    if result is None:
        missing = await catalog.missing_skus(session, [ln.sku for ln in body.lines])
        if missing:
            raise Problem(
                422,
                f"unknown sku: {', '.join(missing)}",
                reason=ProblemCode.UNKNOWN_SKU,
                extra={"skus": missing},
            )
        result = await intake.take_in_keyed(session, client, settings, keyed)
    if not result.created:
        response.status_code = 200
    return AcceptedOrder(order_id=result.order_id)


# --- reading ------------------------------------------------------------------------------


@router.get("", response_model=OrderPage, responses=problem_responses(422))
async def list_orders(
    session: Session,
    who: Reader,
    filters: FilterParams,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> OrderPage:
    """Newest first (``sort=priority``: highest priority first); a staff key sees only
    orders shipping from its warehouse."""
    try:
        rows, next_cursor = await read.list_orders(
            session,
            filters.to_filter(who),
            limit=limit,
            cursor=cursor,
            sort=filters.sort or "newest",
        )
    except read.BadCursor as exc:
        raise Problem(422, str(exc), reason=ProblemCode.BAD_CURSOR) from exc
    return OrderPage(items=[views.list_item(r) for r in rows], next_cursor=next_cursor)


@router.get("/counts", response_model=dict[str, int])
async def counts(session: Session, who: Reader) -> dict[str, int]:
    found = await read.status_counts(session, scope_of(who))
    return {s.value: found.get(s.value, 0) for s in OrderStatus} | found


@router.get("/{order_id}", response_model=OrderDetail, responses=problem_responses(404))
async def get_order(
    order_id: PathText, session: Session, client: Temporal, who: Reader
) -> OrderDetail:
    if who.role == "staff":  # as the lists and the order page: their warehouse's orders only
        scoped = await read.get_order(session, order_id)
        if scoped is not None:
            ensure_ships_from(who, scoped.warehouses)
    events = [
        EventOut(at=e.at, type=e.type, detail=dict(e.detail))
        for e in await read.events_of(session, order_id)
    ]
    state = await actions.live_state(client, order_id, rpc_timeout=QUERY_TIMEOUT)
    shipments = views.shipment_views(await read.shipments_of(session, order_id))
    if state is not None:
        return views.live_detail(state, shipments, events)
    row = await read.get_order(session, order_id)
    if row is None:
        if await read.get_intake(session, order_id) is None:
            raise Problem(404, f"no order {order_id}", reason=ProblemCode.NOT_FOUND)
        raise Problem(
            503,
            f"order {order_id} was received but cannot be read yet",
            reason=ProblemCode.NOT_READY,
            headers={"Retry-After": "1"},
        )
    return views.stored_detail(row, shipments, events)


@router.get("/{order_id}/history", response_model=OrderHistory, responses=problem_responses(404))
async def history(
    order_id: PathText,
    session: Session,
    client: Temporal,
    _: Ops,
    include: Annotated[
        Literal["shipments"] | None,
        Query(description="`shipments`: each shipment's workflow history too"),
    ] = None,
) -> OrderHistory:
    """The order's workflow history as a readable timeline (and, on request, its
    shipments': the child per shipment keeps each history small, and an engineer still
    reads the whole story in one answer)."""
    workflow_id = names.order_workflow_id(order_id)
    run_id, events = await _timeline(client, workflow_id, f"no workflow for order {order_id}")
    shipments = None
    if include == "shipments":
        shipment_ids = [s.shipment_id for s in await read.shipments_of(session, order_id)]
        await session.rollback()
        shipments = []
        for shipment_id in shipment_ids:
            child_id = names.fulfillment_workflow_id(shipment_id)
            child_run, child_events = await _timeline(
                client, child_id, f"no workflow for shipment {shipment_id}"
            )
            shipments.append(
                ShipmentHistory(
                    shipment_id=shipment_id,
                    workflow_id=child_id,
                    run_id=child_run,
                    events=child_events,
                )
            )
    return OrderHistory(
        order_id=order_id,
        workflow_id=workflow_id,
        run_id=run_id,
        events=events,
        shipments=shipments,
    )


async def _timeline(
    client: Temporal, workflow_id: str, missing: str
) -> tuple[str | None, list[HistoryEntry]]:
    try:
        hist = await client.get_workflow_handle(workflow_id).fetch_history()
    except TRANSIENT as exc:
        if is_not_found(exc):
            raise Problem(404, missing, reason=ProblemCode.NOT_FOUND) from exc
        raise unavailable(exc) from exc
    return hist.run_id, timeline(list(hist.events))


# --- acting -------------------------------------------------------------------------------


async def _audit(
    session: Session, who: Principal, order_id: str, action: str, **extra: Any
) -> None:
    """Who did it, on the order's timeline (the workflow's event says what happened)."""
    await session.rollback()  # whatever the handler read before the Update
    actions.record(session, who, order_id, action, **extra)
    await session.commit()


async def _closed_order_status(session: Session, order_id: str) -> str:
    row = await read.get_order(session, order_id)
    if row is None:
        raise Problem(404, f"no order {order_id}", reason=ProblemCode.NOT_FOUND)
    return row.status


@router.post("/{order_id}/cancel", response_model=CancelOut, responses=problem_responses(404, 409))
async def cancel(
    order_id: PathText, body: CancelIn, session: Session, client: Temporal, who: Ops
) -> CancelOut:
    handle = client.get_workflow_handle(names.order_workflow_id(order_id))
    result = await answer_update(
        handle.execute_update(
            OrderWorkflow.cancel,
            CancelInput(reason=body.reason, restock=body.restock, refund=body.refund),
        )
    )
    if result is not None:
        await _audit(session, who, order_id, "cancel", cancel_reason=body.reason)
        return CancelOut(order_id=result.order_id, status=result.status)
    # The workflow has finished: answer from what it left behind.
    status = await _closed_order_status(session, order_id)
    if status == OrderStatus.CANCELLED:
        return CancelOut(order_id=order_id, status=OrderStatus.CANCELLED)
    reason = (
        UpdateRefusal.ALREADY_SHIPPED if status in SHIPPED_OR_LATER else ProblemCode.NOT_CANCELLABLE
    )
    raise Problem(409, f"the order is {status}", reason=reason)


@router.post(
    "/{order_id}/holds",
    status_code=201,
    response_model=HoldOut,
    responses=problem_responses(404, 409),
)
async def place_hold(
    order_id: PathText, body: HoldIn, session: Session, client: Temporal, who: Ops
) -> HoldOut:
    handle = client.get_workflow_handle(names.order_workflow_id(order_id))
    placed = await answer_update(
        handle.execute_update(
            OrderWorkflow.place_hold, HoldInput(reason=body.reason, note=body.note)
        )
    )
    if placed is not None:
        await _audit(session, who, order_id, "place_hold", hold_id=placed.hold_id)
        return HoldOut(hold_id=placed.hold_id)
    status = await _closed_order_status(session, order_id)
    raise Problem(
        409, f"an order that is {status} cannot be held", reason=UpdateRefusal.NOT_HOLDABLE
    )


@router.post(
    "/{order_id}/holds/{hold_id}/release",
    response_model=ReleaseOut,
    responses=problem_responses(404, 409),
)
async def release_hold(
    order_id: PathText, hold_id: PathText, session: Session, client: Temporal, who: Ops
) -> ReleaseOut:
    handle = client.get_workflow_handle(names.order_workflow_id(order_id))
    state = await answer_update(
        handle.execute_update(
            OrderWorkflow.release_hold, ReleaseInput(hold_id=hold_id), id=f"release-{hold_id}"
        ),
        status_of={UpdateRefusal.HOLD_NOT_FOUND: 404},
    )
    if state is not None:
        await _audit(session, who, order_id, "release_hold", hold_id=hold_id)
        status = await views.with_floor(session, order_id, state.status)
        return ReleaseOut(order_id=order_id, hold_id=hold_id, status=status, holds=state.holds)
    await _closed_order_status(session, order_id)
    raise Problem(404, f"no active hold {hold_id}", reason=UpdateRefusal.HOLD_NOT_FOUND)


async def _change_tags(
    session: Session, client: Temporal, who: Principal, order_id: str, change: TagChange
) -> TagsOut:
    """Staff (of a warehouse shipping the order), ops and admin edit tags on a live order."""
    await views.order_in_scope(session, who, order_id)
    await session.rollback()
    handle = client.get_workflow_handle(names.order_workflow_id(order_id))
    state = await answer_update(handle.execute_update(OrderWorkflow.change_tags, change))
    if state is None:
        status = await _closed_order_status(session, order_id)
        raise Problem(409, f"an order that is {status} is closed", reason=ProblemCode.ORDER_CLOSED)
    for tag in change.add:
        await _audit(session, who, order_id, "add_tag", tag=tag)
    for tag in change.remove:
        await _audit(session, who, order_id, "remove_tag", tag=tag)
    return TagsOut(order_id=order_id, tags=state.tags)


@router.post("/{order_id}/tags", response_model=TagsOut, responses=problem_responses(404, 409, 422))
async def add_tags(
    order_id: PathText, body: TagsIn, session: Session, client: Temporal, who: Floor
) -> TagsOut:
    """Add tags (the order's own; the template chosen at start does not change)."""
    return await _change_tags(
        session, client, who, order_id, TagChange(add=body.tags, actor=who.key_id)
    )


@router.delete(
    "/{order_id}/tags/{tag}", response_model=TagsOut, responses=problem_responses(404, 409)
)
async def remove_tag(
    order_id: PathText, tag: PathText, session: Session, client: Temporal, who: Floor
) -> TagsOut:
    return await _change_tags(
        session, client, who, order_id, TagChange(remove=[tag], actor=who.key_id)
    )
