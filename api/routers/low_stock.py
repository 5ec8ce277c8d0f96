"""Low-stock thresholds per SKU and the SKUs under theirs right now."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import Ops, Reader
from api.bounds import PathText
from api.deps import Session
from api.problems import Problem, problem_responses
from api.schemas.stock import LowStockOut, ThresholdIn, ThresholdOut
from domain.codes import ProblemCode
from store import low_stock, outbox

router = APIRouter(prefix="/api/v1", tags=["inventory"], responses=problem_responses(401, 403))


@router.put(
    "/products/{sku}/low-stock-threshold",
    response_model=ThresholdOut,
    responses=problem_responses(404, 422),
)
async def set_threshold(sku: PathText, body: ThresholdIn, session: Session, _: Ops) -> ThresholdOut:
    """Set (or clear with ``null``) the SKU's threshold; it is evaluated at once, so a
    threshold above today's stock raises ``low_stock`` now rather than at the next change."""
    if not await low_stock.set_threshold(session, sku, body.threshold):
        raise Problem(404, f"no product {sku}", reason=ProblemCode.NOT_FOUND)
    available = (await outbox.total_available(session, [sku])).get(sku, 0)
    await session.commit()
    return ThresholdOut(
        sku=sku,
        threshold=body.threshold,
        available=available,
        below=body.threshold is not None and available < body.threshold,
    )


@router.get("/inventory/low-stock", response_model=list[LowStockOut])
async def below_threshold(session: Session, _: Reader) -> list[LowStockOut]:
    """SKUs whose stock across active warehouses is under their threshold."""
    return [
        LowStockOut(
            sku=r.sku, name=r.name, threshold=r.threshold, available=r.available, since=r.since
        )
        for r in await low_stock.below_threshold(session)
    ]
