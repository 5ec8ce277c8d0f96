"""The warehouse floor: the work list, pick scans and packing (routes; the scan station's
answers are in api/scanning.py, the shipment views in api/shipment_views.py).

A scan is an Update on the shipment's ``FulfillmentWorkflow`` whose validator refuses a
wrong item synchronously. Every attempt is written to ``scan_events`` with the answer it
got, so a handheld retrying a scan (same ``scan_id``) gets the first answer back and
analytics count it once.

Floor Updates (scan, packaging check, move) answer with the shipment's row, and it is
written here before the person gets the answer: the work list and the order detail show
the move as soon as the scanner beeps (docs/decisions/0001-floor-state-in-the-read-model.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from api import scanning, shipment_views
from api.auth import Floor, Ops, ensure_warehouse
from api.bounds import PathText
from api.deps import AppSettings, Scans, Session, Temporal
from api.metrics import SCANS, StageTimer
from api.problems import Problem, problem_responses
from api.schemas.shipments import (
    LabelRetryIn,
    MoveIn,
    PackagingCheckIn,
    PackIn,
    PackOut,
    RejectIn,
    ScanIn,
    ScanOut,
    ShipmentDetail,
    WorkItem,
)
from api.updates import Refused, answer_update, run_update
from domain import names
from domain.barcodes import InvalidBarcode, ScannedCode, parse_scan
from domain.codes import PackRefusal, ProblemCode, ScanRefusal, UpdateRefusal
from domain.models import (
    FloorAnswer,
    LabelRetryInput,
    MoveInput,
    PackagingCheckInput,
    PackInput,
    ProjectShipmentInput,
    RejectInput,
    ShipmentLine,
    ShipmentView,
)
from domain.status import LabelStatus, ShipmentStatus, StuckReason
from store import analytics, catalog, scans
from store import orders as read
from store.projection import write_shipment
from workflows.fulfillment import FulfillmentWorkflow

router = APIRouter(
    prefix="/api/v1/shipments", tags=["shipments"], responses=problem_responses(401, 403, 404)
)


@router.get("", response_model=list[WorkItem])
async def work_list(
    session: Session,
    who: Floor,
    warehouse: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[ShipmentStatus | None, Query()] = None,
) -> list[WorkItem]:
    if who.role == "staff":
        warehouse = warehouse or who.warehouse
        assert warehouse is not None
        ensure_warehouse(who, warehouse)
    rows = await read.work_list(
        session, warehouse=warehouse, status=status.value if status else None
    )
    return [
        WorkItem(
            shipment_id=r.shipment_id,
            order_id=r.order_id,
            warehouse=r.warehouse,
            status=r.status,
            priority=r.priority,
            lines=[ShipmentLine.model_validate(ln) for ln in r.lines],
            created_at=r.created_at,
            label_status=read.label_status_of(r),
            stuck_reason=StuckReason(r.stuck_reason) if r.stuck_reason else None,
        )
        for r in rows
    ]


@router.get("/{shipment_id}", response_model=ShipmentDetail)
async def shipment_detail(shipment_id: PathText, session: Session, who: Floor) -> ShipmentDetail:
    """One shipment as it stands: the scan station polls it while a label is pending."""
    row = await shipment_views.shipment_in_scope(session, shipment_id, who)
    return await shipment_views.detail_of(session, row)


@router.post(
    "/{shipment_id}/scans",
    response_model=ScanOut,
    responses=problem_responses(422, 503),
)
async def scan(
    shipment_id: PathText, body: ScanIn, store: Scans, client: Temporal, who: Floor
) -> JSONResponse:
    timer = StageTimer()
    barcode = body.barcode.strip()
    today = datetime.now(UTC).date()
    code: ScannedCode | None = None
    invalid: str | None = None
    try:
        code = parse_scan(barcode, today)
    except InvalidBarcode as exc:
        invalid = str(exc)
    serial = code.serial if code is not None and body.stage == "pick" else None
    # One round trip before the workflow (store/scans.py), no connection held during it.
    timer.skip()
    try:
        context = await store.context(
            shipment_id, body.scan_id, code.gtin if code else None, serial
        )
    except scans.ScanStoreUnavailable as exc:
        raise scanning.database_unavailable(exc) from exc
    timer.done("read")
    if context is None:
        raise Problem(404, f"no shipment {shipment_id}", reason=ProblemCode.NOT_FOUND)
    ensure_warehouse(who, context.warehouse)
    if context.first_answer is not None:
        return scanning.stored(context.first_answer, timer)

    units = body.quantity
    sku: str | None = None
    record: ProjectShipmentInput | None = None
    if code is None:
        status, answer = scanning.refused(
            ScanRefusal.INVALID_BARCODE, invalid or "unreadable barcode"
        )
    else:
        units = (code.count or body.quantity) * context.multiplier
        sku = context.sku
        refused = scanning.refusal_before_workflow(code, context, today)
        if refused is not None:
            status, answer = refused
        else:
            assert sku is not None
            timer.skip()
            status, answer, record = await scanning.scan_update(
                client, shipment_id, body, sku, units, code
            )
            timer.done("update")

    accepted = status == 200
    timer.skip()
    try:
        first = await store.record(
            shipment_id=shipment_id,
            order_id=context.order_id,
            warehouse=context.warehouse,
            scan_id=body.scan_id,
            station=body.station,
            stage=body.stage,
            key_id=who.key_id,
            barcode=barcode,
            sku=sku,
            lot=code.lot if code else None,
            serial=code.serial if code else None,
            expiry=code.expiry if code else None,
            quantity=units,
            accepted=accepted,
            reason=None if accepted else answer.get("reason"),
            answer={"status_code": status, "body": jsonable_encoder(answer)},
            shipment=record,
        )
    except scans.ScanStoreUnavailable as exc:
        # The workflow may have counted the scan: the retry (same scan_id) gets the same
        # answer from it (the Update's id is the scan's) and records it then.
        raise scanning.database_unavailable(exc) from exc
    timer.done("write")
    if first is not None:  # a concurrent retry of the same scan recorded its answer first
        return scanning.stored(first, timer)
    SCANS.labels("accepted" if accepted else "refused", answer.get("reason") or "").inc()
    return scanning.json_answer(status, answer, timer)


@router.post(
    "/{shipment_id}/pack",
    response_model=PackOut,
    responses={
        202: {"model": PackOut, "description": "packed; the label is pending and follows"},
        **problem_responses(422, 503),
    },
)
async def pack(
    shipment_id: PathText,
    body: PackIn,
    session: Session,
    client: Temporal,
    who: Floor,
    settings: AppSettings,
    response: Response,
) -> PackOut:
    """Record the verified parcel and answer in seconds: the label follows
    (docs/decisions/0008-the-label-follows-the-pack.md).

    200 with the label when it came within ``OMS_PACK_LABEL_WAIT_SECONDS`` (the wait ends
    at once when the carrier has failed an attempt), else 202 ``pending``. Packing again
    answers the shipment's current state; a label is never bought twice.
    """
    row = await shipment_views.shipment_in_scope(session, shipment_id, who)
    where = (row.order_id, row.warehouse)
    await session.rollback()  # hold no connection open while the workflow answers
    handle = client.get_workflow_handle(names.fulfillment_workflow_id(shipment_id))
    pack_input = PackInput(weight_grams=body.weight_grams, package=body.package)
    try:
        result = await run_update(
            handle.execute_update(FulfillmentWorkflow.pack, pack_input, id=f"pack-{shipment_id}")
        )
    except Refused as exc:
        async with session.begin():
            await analytics.record_pack_refusal(
                session,
                shipment_id=shipment_id,
                order_id=where[0],
                warehouse=where[1],
                reason=exc.reason,
                weight_grams=body.weight_grams,
                station=body.station,
            )
        raise exc.problem(422, title="Pack refused") from exc
    if result is None:
        # The workflow has finished: a parcel that shipped answers as it stands.
        await session.rollback()
        done = await read.get_shipment(session, shipment_id)
        if done is not None and done.tracking_number:
            return await shipment_views.pack_answer(session, done)
        raise Problem(
            422,
            "the shipment is no longer open for packing",
            reason=PackRefusal.NOT_PACKABLE,
            title="Pack refused",
        )
    if result.label_status == LabelStatus.READY and result.tracking is not None:
        return PackOut(
            shipment_id=shipment_id,
            label_status=LabelStatus.READY,
            tracking=result.tracking,
            label_url=result.label_url,
        )
    if result.record is not None:
        async with session.begin():
            await write_shipment(session, result.record)
    row = (
        await shipment_views.wait_for_label(session, shipment_id, settings.pack_label_wait_seconds)
        or row
    )
    answer = await shipment_views.pack_answer(session, row)
    if answer.label_status != LabelStatus.READY:
        response.status_code = 202
    return answer


@router.post(
    "/{shipment_id}/label/retry",
    status_code=202,
    response_model=ShipmentDetail,
    responses=problem_responses(409, 503),
)
async def retry_label(
    shipment_id: PathText, body: LabelRetryIn, session: Session, client: Temporal, who: Ops
) -> ShipmentDetail:
    """Ops: buy a pending label again now (the carrier back-off starts over), optionally
    with another service level. The purchase keeps its idempotency key (a new one for a
    new service, after asking the carrier about the old): nothing is bought twice."""
    row = await shipment_views.shipment_in_scope(session, shipment_id, who)
    await session.rollback()
    handle = client.get_workflow_handle(names.fulfillment_workflow_id(shipment_id))
    await _floor_update(
        handle.execute_update(
            FulfillmentWorkflow.retry_label,
            LabelRetryInput(service_level=body.service_level, actor=who.key_id),
        ),
        shipment_id,
        session,
    )
    return await shipment_views.detail_of(
        session, await read.get_shipment(session, shipment_id) or row
    )


async def _floor_update(
    call: Awaitable[FloorAnswer],
    shipment_id: str,
    session: Session,
    *,
    status: int = 409,
    status_of: Mapping[str, int] | None = None,
    title: str | None = None,
) -> ShipmentView:
    """Run a floor Update on a shipment: a refusal → problem+json (``status``, or its
    code's in ``status_of``), a finished workflow → 409 ``not_open``. The row it answered
    with is written before the person gets the view."""
    answer = await answer_update(call, status=status, status_of=status_of, title=title)
    if answer is None:
        raise Problem(409, f"shipment {shipment_id} is no longer open", reason=ProblemCode.NOT_OPEN)
    if answer.record is not None:
        async with session.begin():
            await write_shipment(session, answer.record)
    return answer.view


@router.post(
    "/{shipment_id}/move", response_model=ShipmentView, responses=problem_responses(409, 503)
)
async def move(
    shipment_id: PathText, body: MoveIn, session: Session, client: Temporal, _: Ops
) -> ShipmentView:
    """Ops sends an open shipment to another warehouse; its stock moves atomically.

    409 ``not_movable`` once picking started, ``cannot_move`` when the target lacks stock or
    capacity (nothing changes), ``same_warehouse``; 404 for an unknown warehouse.
    """
    await shipment_views.shipment_in_scope(session, shipment_id, _)
    target = await catalog.get_warehouse(session, body.warehouse)
    if target is None or not target.active:
        raise Problem(
            404, f"no active warehouse {body.warehouse}", reason=ProblemCode.UNKNOWN_WAREHOUSE
        )
    await session.rollback()
    handle = client.get_workflow_handle(names.fulfillment_workflow_id(shipment_id))
    return await _floor_update(
        handle.execute_update(
            FulfillmentWorkflow.move, MoveInput(warehouse=body.warehouse, reason=body.reason)
        ),
        shipment_id,
        session,
    )


@router.post(
    "/{shipment_id}/reject", response_model=ShipmentView, responses=problem_responses(409, 503)
)
async def reject(
    shipment_id: PathText, body: RejectIn, session: Session, client: Temporal, who: Floor
) -> ShipmentView:
    """The warehouse cannot ship this (shelf empty...): the order re-routes it elsewhere.

    Naming the missing ``sku`` also corrects that SKU's count at this warehouse, so
    routing stops sending it here.
    """
    await shipment_views.shipment_in_scope(session, shipment_id, who)
    await session.rollback()
    handle = client.get_workflow_handle(names.fulfillment_workflow_id(shipment_id))
    return await _floor_update(
        handle.execute_update(
            FulfillmentWorkflow.reject,
            RejectInput(reason=body.reason, sku=body.sku, actor=who.key_id),
            id=f"reject-{shipment_id}",
        ),
        shipment_id,
        session,
    )


@router.post(
    "/{shipment_id}/packaging-check",
    response_model=ShipmentView,
    responses=problem_responses(409, 422, 503),
)
async def packaging_check(
    shipment_id: PathText, body: PackagingCheckIn, session: Session, client: Temporal, who: Floor
) -> ShipmentView:
    """The packer confirms protective packaging (templates with a packaging check, e.g.
    ``fragile``); packing is refused with ``packaging_unchecked`` until then."""
    await shipment_views.shipment_in_scope(session, shipment_id, who)
    await session.rollback()
    handle = client.get_workflow_handle(names.fulfillment_workflow_id(shipment_id))
    return await _floor_update(
        handle.execute_update(
            FulfillmentWorkflow.confirm_packaging,
            PackagingCheckInput(note=body.note, actor=who.key_id),
        ),
        shipment_id,
        session,
        status=422,
        status_of={UpdateRefusal.NOT_REQUIRED: 409},
        title="Check refused",
    )
