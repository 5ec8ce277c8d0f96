"""``POST /api/v1/orders/bulk``: one action over many orders, one result per order.

Orders are worked a few at a time (each is a workflow Update, mostly waiting on Temporal),
and a refusal is that order's result, never the request's: the others go on.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from api.actions import OPS_ROLES, ActionResult, Actions
from api.auth import Floor
from api.deps import Temporal
from api.problems import Problem, problem_responses
from api.schemas.orders import BulkAction, BulkIn, BulkOut, BulkResult
from domain.codes import ProblemCode
from store.keys import Principal

router = APIRouter(prefix="/api/v1/orders", tags=["orders"], responses=problem_responses(401, 403))

CONCURRENCY = 8


async def run_bulk(actions: Actions, who: Principal, body: BulkIn) -> list[ActionResult]:
    if body.action in (BulkAction.RELEASE_HOLDS, BulkAction.CANCEL) and who.role not in OPS_ROLES:
        raise Problem(
            403, f"role {who.role} may not {body.action.value}", reason=ProblemCode.FORBIDDEN
        )
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(order_id: str) -> ActionResult:
        async with gate:
            if body.action is BulkAction.RELEASE_HOLDS:
                return await actions.release_holds(order_id)
            if body.action is BulkAction.CANCEL:
                return await actions.cancel(order_id, body.reason or "cancelled in bulk")
            return await actions.change_tag(
                order_id, body.tag or "", add=body.action is BulkAction.ADD_TAG
            )

    return list(await asyncio.gather(*(one(o) for o in dict.fromkeys(body.order_ids))))


@router.post("/bulk", response_model=BulkOut, responses=problem_responses(422))
async def bulk(body: BulkIn, request: Request, client: Temporal, who: Floor) -> BulkOut:
    """``release_holds`` and ``cancel`` need ops; tags are open to staff for orders of their
    warehouse (others are refused per order)."""
    actions = Actions(request.app.state.sessions, client, who)
    results = await run_bulk(actions, who, body)
    return BulkOut(results=[BulkResult(**r.__dict__) for r in results])
