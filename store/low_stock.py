"""Low-stock thresholds and the ``low_stock`` / ``restocked`` events, once per crossing.

Evaluated off the reservation path: the low-stock watch reads the outbox from its own
cursor and looks at the SKUs that changed; setting a threshold evaluates its SKU at once.
A SKU's state is its latest ``low_stock``/``restocked`` event, and each evaluation locks the
product row, so two evaluators can never both record the same crossing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Subquery, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.channels import (
    LOW_STOCK,
    RESTOCKED,
    LowStockCheckResult,
    OutboxPosition,
    low_stock_transition,
)
from store import outbox
from store.tables import InventoryLevel, OutboxCursor, Product, StockEvent, Warehouse

WATCH_CONSUMER = "low-stock"


async def _latest_state(session: AsyncSession, skus: list[str]) -> dict[str, str]:
    latest = (
        select(func.max(StockEvent.id).label("id"))
        .where(StockEvent.sku.in_(skus), StockEvent.type.in_([LOW_STOCK, RESTOCKED]))
        .group_by(StockEvent.sku)
        .subquery()
    )
    rows = await session.execute(
        select(StockEvent.sku, StockEvent.type).join(latest, StockEvent.id == latest.c.id)
    )
    return {sku: kind for sku, kind in rows.all()}


async def evaluate(session: AsyncSession, skus: list[str]) -> int:
    """Record the crossings ``skus`` made since their last event. Returns events written.

    Runs in the caller's transaction. ``FOR NO KEY UPDATE`` serialises evaluators of one
    SKU without blocking stock writes (their foreign-key checks take KEY SHARE locks).
    """
    if not skus:
        return 0
    products = (
        await session.execute(
            select(Product.sku, Product.low_stock_threshold)
            .where(Product.sku.in_(sorted(set(skus))))
            .order_by(Product.sku)
            .with_for_update(key_share=True)
        )
    ).all()
    if not products:
        return 0
    names = [sku for sku, _ in products]
    totals = await outbox.total_available(session, names)
    state = await _latest_state(session, names)
    written = 0
    for sku, threshold in products:
        available = totals.get(sku, 0)
        kind = low_stock_transition(available, threshold, state.get(sku) == LOW_STOCK)
        if kind is None:
            continue
        detail: dict[str, object] = {"available": available, "threshold": threshold}
        if kind == RESTOCKED and threshold is None:
            detail["reason"] = "threshold removed"
        session.add(StockEvent(sku=sku, type=kind, detail=detail))
        written += 1
    await session.flush()
    return written


async def set_threshold(session: AsyncSession, sku: str, threshold: int | None) -> bool:
    """Set (or clear, with None) a SKU's threshold and evaluate it now. False: no such SKU."""
    product = await session.get(Product, sku)
    if product is None:
        return False
    product.low_stock_threshold = threshold
    await session.flush()
    await evaluate(session, [sku])
    return True


async def check_batch(session: AsyncSession, limit: int) -> LowStockCheckResult:
    """Evaluate the SKUs of the next outbox rows after the watch's cursor, and move it.

    One transaction: events and cursor commit together, and the cursor row's lock keeps a
    second watcher (a timed-out attempt still running) from evaluating the same rows.
    """
    await session.execute(
        insert(OutboxCursor)
        .values(consumer=WATCH_CONSUMER, last_txid=0, last_id=0)
        .on_conflict_do_nothing()
    )
    cursor = (
        await session.scalars(
            select(OutboxCursor).where(OutboxCursor.consumer == WATCH_CONSUMER).with_for_update()
        )
    ).one()
    rows = await outbox.read_after(
        session, OutboxPosition(txid=cursor.last_txid, id=cursor.last_id), limit
    )
    if not rows:
        position = OutboxPosition(txid=cursor.last_txid, id=cursor.last_id)
        return LowStockCheckResult(
            cursor=position, unsettled=await outbox.unsettled_after(session, position)
        )
    skus = sorted({sku for _, _, sku in rows})
    events = await evaluate(session, skus)
    cursor.last_txid, cursor.last_id = rows[-1][0], rows[-1][1]
    cursor.updated_at = func.now()  # type: ignore[assignment]
    position = OutboxPosition(txid=rows[-1][0], id=rows[-1][1])
    full = len(rows) >= limit
    return LowStockCheckResult(
        rows=len(rows),
        skus=len(skus),
        events=events,
        cursor=position,
        full=full,
        unsettled=not full and await outbox.unsettled_after(session, position),
    )


@dataclass(frozen=True)
class LowStockRow:
    sku: str
    name: str
    threshold: int
    available: int
    since: datetime | None


def _available_per_sku() -> Subquery:
    return (
        select(
            InventoryLevel.sku.label("sku"),
            func.sum(InventoryLevel.on_hand - InventoryLevel.reserved).label("available"),
        )
        .join(Warehouse, Warehouse.code == InventoryLevel.warehouse)
        .where(Warehouse.active)
        .group_by(InventoryLevel.sku)
        .subquery()
    )


async def below_threshold(session: AsyncSession) -> list[LowStockRow]:
    """SKUs whose stock across active warehouses is under their threshold, right now."""
    avail = _available_per_sku()
    available = func.coalesce(avail.c.available, 0)
    rows = (
        await session.execute(
            select(Product.sku, Product.name, Product.low_stock_threshold, available)
            .outerjoin(avail, avail.c.sku == Product.sku)
            .where(
                Product.low_stock_threshold.is_not(None),
                available < Product.low_stock_threshold,
            )
            .order_by(Product.sku)
        )
    ).all()
    skus = [r[0] for r in rows]
    since: dict[str, datetime] = {}
    if skus:
        since = dict(
            (
                await session.execute(
                    select(StockEvent.sku, func.max(StockEvent.created_at))
                    .where(StockEvent.sku.in_(skus), StockEvent.type == LOW_STOCK)
                    .group_by(StockEvent.sku)
                )
            ).all()
        )
    return [LowStockRow(sku, name, int(t), int(a), since.get(sku)) for sku, name, t, a in rows]


async def count_below(session: AsyncSession) -> int:
    avail = _available_per_sku()
    available = func.coalesce(avail.c.available, 0)
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Product)
            .outerjoin(avail, avail.c.sku == Product.sku)
            .where(
                Product.low_stock_threshold.is_not(None),
                available < Product.low_stock_threshold,
            )
        )
        or 0
    )


async def count_events(session: AsyncSession, kind: str = LOW_STOCK) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(StockEvent).where(StockEvent.type == kind)
        )
        or 0
    )


async def events_for(session: AsyncSession, sku: str) -> list[StockEvent]:
    return list(
        (
            await session.scalars(
                select(StockEvent).where(StockEvent.sku == sku).order_by(StockEvent.id)
            )
        ).all()
    )
