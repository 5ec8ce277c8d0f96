"""The watchdog's marks (``watchdog_marks``, migration 0012): written by its sweep, read by
``/api/v1/ops/stuck``, ``/ops`` and ``oms_orders_stuck{reason}``."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, case, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.summary import OrderSummary
from domain.watchdog import StuckVerdict
from store.tables import OrderRow, WatchdogMark


async def progress_of(
    session: AsyncSession, order_ids: Collection[str]
) -> dict[str, tuple[datetime, int | None, bool]]:
    """``order_id → (last write, largest step SLA, stuck by its SLA timer)`` from the read
    model, for the orders that have a row."""
    if not order_ids:
        return {}
    rows = await session.execute(
        select(OrderRow.order_id, OrderRow.updated_at, OrderRow.summary, OrderRow.stuck).where(
            OrderRow.order_id.in_(list(order_ids))
        )
    )
    out = {}
    for order_id, updated_at, summary, stuck in rows.all():
        steps = OrderSummary.read(summary).steps
        slas = [s.sla_seconds for s in steps]
        # Every step done (shipped, waiting for the carrier): no step is late, and the
        # carrier's silence has its own mark (tracking_stale).
        open_steps = any(s.state != "done" for s in steps)
        out[order_id] = (updated_at, max(slas) if slas and open_steps else None, bool(stuck))
    return out


async def write_marks(
    session: AsyncSession,
    verdicts: dict[str, StuckVerdict],
    checked: Collection[str],
    now: datetime,
    *,
    complete: bool,
) -> int:
    """Mark the stuck (keeping when each was first marked for that reason) and clear the
    marks of orders found moving. ``complete``: every open workflow was checked, so a mark
    of an order not checked at all (it has closed) goes too. Returns the marks cleared."""
    table = cast(Table, WatchdogMark.__table__)
    if verdicts:
        stmt = insert(table).values(
            [
                {
                    "order_id": v.order_id,
                    "workflow_id": v.workflow_id,
                    "reason": v.reason.value,
                    "detail": v.detail,
                    "since": now,
                    "checked_at": now,
                }
                for v in verdicts.values()
            ]
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["order_id"],
                set_={
                    "workflow_id": stmt.excluded.workflow_id,
                    "reason": stmt.excluded.reason,
                    "detail": stmt.excluded.detail,
                    "checked_at": stmt.excluded.checked_at,
                    # A new reason is a new mark: its time starts now.
                    "since": case(
                        (table.c.reason == stmt.excluded.reason, table.c.since),
                        else_=stmt.excluded.since,
                    ),
                },
            )
        )
    stale = delete(WatchdogMark).where(WatchdogMark.order_id.not_in(list(verdicts) or [""]))
    if not complete:
        stale = stale.where(WatchdogMark.order_id.in_(list(checked) or [""]))
    result: Any = await session.execute(stale)
    return int(result.rowcount or 0)


async def marks(session: AsyncSession) -> list[tuple[WatchdogMark, str | None]]:
    """Every mark, oldest first, with its order's status (None: no read-model row)."""
    rows = await session.execute(
        select(WatchdogMark, OrderRow.status)
        .outerjoin(OrderRow, OrderRow.order_id == WatchdogMark.order_id)
        .order_by(WatchdogMark.since, WatchdogMark.order_id)
    )
    return [(m, s) for m, s in rows.all()]


async def counts_by_reason(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(WatchdogMark.reason, func.count()).group_by(WatchdogMark.reason)
    )
    return {r: int(n) for r, n in rows.all()}
