"""Stock levels and adjustments; an adjustment wakes orders backordered on its SKU."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from temporalio.service import RPCError

from api.auth import Ops, Reader
from api.deps import Session, Temporal
from api.problems import Problem, problem_responses
from api.schemas import AdjustmentIn, LevelOut
from store import catalog, inventory
from store.inventory import Level
from workflows import names

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
        raise Problem(404, f"no product {body.sku}", reason="unknown_sku")
    if await catalog.get_warehouse(session, body.warehouse) is None:
        raise Problem(404, f"no warehouse {body.warehouse}", reason="unknown_warehouse")
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
            409, str(exc), reason="insufficient_stock", extra={"available": exc.available}
        ) from exc
    waiting = await inventory.backorders_waiting_for(session, body.sku)
    await session.commit()
    # After the commit, so a woken order's allocation sees the new stock. Oldest first; a
    # missed signal is covered by the workflow's periodic recheck.
    if level.available > 0:
        for order_id in waiting:
            try:
                await client.get_workflow_handle(names.order_workflow_id(order_id)).signal(
                    "stock_available"
                )
            except RPCError as exc:
                log.warning("stock_available to %s failed: %s", order_id, exc)
    return _out(level)


@router.get("", response_model=list[LevelOut])
async def levels(
    session: Session, _: Reader, sku: str | None = None, warehouse: str | None = None
) -> list[LevelOut]:
    return [_out(lv) for lv in await inventory.levels(session, sku=sku, warehouse=warehouse)]
