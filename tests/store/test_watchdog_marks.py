"""The watchdog's store: what it reads of an order's progress (an order whose steps are
all done has no SLA to outlive), and its marks (the first time kept while the reason
stays, cleared when not confirmed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.watchdog import StuckVerdict, WatchReason
from store import watchdog
from store.tables import WatchdogMark
from tests.api.dashboard_helpers import insert_orders, order_row


def steps(*states: str) -> list[dict[str, object]]:
    return [
        {"step": name, "state": state, "sla_seconds": sla}
        for (name, sla), state in zip((("verify", 60), ("pick", 3600)), states, strict=True)
    ]


async def test_progress_has_an_sla_only_while_a_step_is_open(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    picking, shipped = order_row("wd", n=1), order_row("wd", n=2, status="shipped")
    picking.summary = {**picking.summary, "steps": steps("done", "active")}
    shipped.summary = {**shipped.summary, "steps": steps("done", "done")}
    await insert_orders(sessions, [picking, shipped])
    async with sessions() as s:
        seen = await watchdog.progress_of(s, {picking.order_id, shipped.order_id, "nope"})
    assert seen[picking.order_id][1:] == (3600, False)
    assert seen[shipped.order_id][1:] == (None, False)
    assert "nope" not in seen


async def test_marks_keep_their_first_time_and_clear_when_not_confirmed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    t0 = datetime(2026, 12, 3, 10, tzinfo=UTC)
    ids = [f"WDM-{t0.timestamp():.0f}-{i}" for i in range(2)]

    def verdict(order_id: str, reason: WatchReason) -> StuckVerdict:
        return StuckVerdict(
            order_id=order_id, workflow_id=f"order-{order_id}", reason=reason, detail="x"
        )

    async def marks() -> dict[str, tuple[str, datetime]]:
        async with sessions() as s:
            rows = await s.scalars(select(WatchdogMark).where(WatchdogMark.order_id.in_(ids)))
            return {m.order_id: (m.reason, m.since) for m in rows}

    first = {i: verdict(i, WatchReason.ACTIVITY_FAILING) for i in ids}
    async with sessions.begin() as s:
        await watchdog.write_marks(s, first, ids, t0, complete=False)
    later = t0 + timedelta(minutes=1)
    again = {ids[0]: first[ids[0]], ids[1]: verdict(ids[1], WatchReason.WORKFLOW_TASK_FAILING)}
    async with sessions.begin() as s:
        await watchdog.write_marks(s, again, ids, later, complete=False)
    assert await marks() == {
        ids[0]: ("activity_failing", t0),  # same reason: still stuck since t0
        ids[1]: ("workflow_task_failing", later),  # a new reason starts now
    }
    async with sessions.begin() as s:
        cleared = await watchdog.write_marks(s, {ids[1]: again[ids[1]]}, ids, later, complete=False)
    assert cleared == 1 and set(await marks()) == {ids[1]}
    async with sessions.begin() as s:
        await watchdog.write_marks(s, {}, [ids[1]], later, complete=False)
    assert await marks() == {}
