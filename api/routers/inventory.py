"""Stock levels, adjustments and bulk CSV imports.

A stock change wakes the orders backordered on its SKUs and pokes the channel syncs and
the low-stock watch, after the commit so that they see it.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError

from api.auth import Ops, Reader
from api.deps import Session, Temporal
from api.input_guard import IMPORT_MAX_BYTES, BodyLimit
from api.problems import Problem, problem_responses
from api.schemas.catalog import AdjustmentIn, LevelOut
from api.schemas.stock import ImportSummary
from domain import names
from domain.codes import ProblemCode
from oms.background import poke_stock_watchers
from store import catalog, inventory, outbox, stock_import
from store.channels import active_channel_codes
from store.inventory import Level

log = logging.getLogger(__name__)
router = APIRouter(
    prefix="/api/v1/inventory", tags=["inventory"], responses=problem_responses(401, 403)
)


def _out(level: Level) -> LevelOut:
    return LevelOut(
        sku=level.sku,
        warehouse=level.warehouse,
        on_hand=level.on_hand,
        reserved=level.reserved,
        available=level.available,
    )


@router.post("/adjustments", response_model=LevelOut, responses=problem_responses(404, 409))
async def adjust(body: AdjustmentIn, session: Session, client: Temporal, who: Ops) -> LevelOut:
    if await catalog.get_product(session, body.sku) is None:
        raise Problem(404, f"no product {body.sku}", reason=ProblemCode.UNKNOWN_SKU)
    if await catalog.get_warehouse(session, body.warehouse) is None:
        raise Problem(404, f"no warehouse {body.warehouse}", reason=ProblemCode.UNKNOWN_WAREHOUSE)
    try:
        level = await inventory.adjust(
            session,
            sku=body.sku,
            warehouse=body.warehouse,
            delta=body.delta,
            on_hand=body.on_hand,
            reason=body.reason,
            actor=who.key_id,
        )
    except inventory.InsufficientStock as exc:
        await session.rollback()
        raise Problem(
            409, str(exc), reason=ProblemCode.INSUFFICIENT_STOCK, extra={"available": exc.available}
        ) from exc
    await commit_and_wake(session, client, [body.sku] if level.available > 0 else [])
    return _out(level)


async def commit_and_wake(session: AsyncSession, client: Client, in_stock: list[str]) -> None:
    """Commit a stock change, then wake whoever waits for it.

    Orders backordered on ``in_stock`` (SKUs that now have stock) get ``stock_available``,
    oldest first per SKU; the channel syncs and the low-stock watch get ``poke``. After the
    commit, so a woken order's allocation sees the new stock. A missed signal is covered by
    the backorder's periodic recheck and the syncs' poll timer.
    """
    waiting: list[str] = []
    for sku in in_stock:
        for order_id in await inventory.backorders_waiting_for(session, sku):
            if order_id not in waiting:
                waiting.append(order_id)
    channels = await active_channel_codes(session)
    await session.commit()
    for order_id in waiting:
        try:
            await client.get_workflow_handle(names.order_workflow_id(order_id)).signal(
                "stock_available"
            )
        except RPCError as exc:
            log.warning("stock_available to %s failed: %s", order_id, exc)
    await poke_stock_watchers(client, channels)


#: Larger files are refused (413) before parsing; split them.
MAX_IMPORT_BYTES = IMPORT_MAX_BYTES

_IMPORT_BODY: dict[str, Any] = {
    "x-body-limit": BodyLimit.IMPORT.value,  # the input guard counts it (api/input_guard.py)
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
            "application/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    },
}


@router.post(
    "/import",
    response_model=ImportSummary,
    responses=problem_responses(409, 413, 415, 422),
    openapi_extra=_IMPORT_BODY,
)
async def import_csv(
    request: Request, session: Session, client: Temporal, who: Ops
) -> ImportSummary:
    """Bulk stock import: ``sku,warehouse,on_hand`` (counts) or ``sku,warehouse,delta``
    (receipts, shrinkage), optional ``reason``; as a ``text/csv`` body or a multipart
    ``file``. Every row is checked first: one bad row refuses the file (422, every bad row
    listed with its line) and nothing is applied; otherwise all rows apply in one
    transaction.
    """
    text = await _csv_text(request)
    try:
        rows = stock_import.parse(text)
        result = await stock_import.apply(session, rows, actor=who.key_id)
    except stock_import.ImportRefused as exc:
        await session.rollback()
        raise Problem(
            422,
            f"{len(exc.errors)} row(s) refused; nothing was applied",
            reason=ProblemCode.INVALID_ROWS,
            title="CSV import refused",
            extra={"errors": [e.__dict__ for e in exc.errors[:1000]]},
        ) from exc
    except inventory.InsufficientStock as exc:  # defensive: the levels were locked
        await session.rollback()
        raise Problem(409, str(exc), reason=ProblemCode.INSUFFICIENT_STOCK) from exc
    stocked = await outbox.total_available(session, result.skus)
    await commit_and_wake(session, client, [sku for sku in result.skus if stocked.get(sku, 0) > 0])
    return ImportSummary(
        rows=result.rows,
        applied=result.applied,
        unchanged=result.unchanged,
        skus=len(result.skus),
    )


async def _csv_text(request: Request) -> str:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    length = int(request.headers.get("content-length") or 0)
    if length > MAX_IMPORT_BYTES:
        raise Problem(
            413, f"the file is larger than {MAX_IMPORT_BYTES} bytes", reason=ProblemCode.TOO_LARGE
        )
    if content_type == "multipart/form-data":
        form = await request.form(max_files=1)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise Problem(
                422, "multipart body needs a 'file' part", reason=ProblemCode.MISSING_FILE
            )
        data = await upload.read()
    elif content_type in ("text/csv", "text/plain", "application/csv"):
        data = await request.body()
    else:
        raise Problem(
            415, "send text/csv or multipart/form-data", reason=ProblemCode.UNSUPPORTED_MEDIA_TYPE
        )
    if len(data) > MAX_IMPORT_BYTES:
        raise Problem(
            413, f"the file is larger than {MAX_IMPORT_BYTES} bytes", reason=ProblemCode.TOO_LARGE
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(422, "the file is not UTF-8 text", reason="not_utf8") from exc


@router.get("", response_model=list[LevelOut])
async def levels(
    session: Session,
    _: Reader,
    sku: Annotated[str | None, Query(max_length=64)] = None,
    warehouse: Annotated[str | None, Query(max_length=32)] = None,
) -> list[LevelOut]:
    return [_out(lv) for lv in await inventory.levels(session, sku=sku, warehouse=warehouse)]
