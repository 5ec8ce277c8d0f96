"""The outbox read rule on real Postgres: a row committed behind a transaction that is
still running is held back, then read in (txid, id) order, so no cursor ever skips it."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.channels import OutboxPosition
from store import outbox
from store.inventory import note_change
from tests.api.helpers import eventually


async def mine(
    sessions: async_sessionmaker[AsyncSession], skus: set[str]
) -> tuple[list[int], bool]:
    async with sessions() as s:
        rows = await outbox.read_after(s, OutboxPosition(), 1_000_000)
        return [i for _, i, sku in rows if sku in skus], await outbox.unsettled_after(
            s, OutboxPosition(txid=rows[-1][0], id=rows[-1][1]) if rows else OutboxPosition()
        )


async def test_a_late_commit_with_a_lower_id_is_not_skipped(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    early, late = f"OB-{uuid.uuid4().hex[:6]}-A", f"OB-{uuid.uuid4().hex[:6]}-B"
    async with sessions() as slow:
        await slow.begin()
        note_change(slow, early, "WH")
        await slow.flush()  # id n, transaction still open
        async with sessions.begin() as fast:
            note_change(fast, late, "WH")  # id n+1, committed first
        ids, unsettled = await mine(sessions, {early, late})
        # An id cursor would take n+1 now and never see n; the reader waits instead.
        assert ids == [] and unsettled
        await slow.commit()

    async def both() -> list[int] | None:
        # Other transactions of the session may hold xmin back a moment longer.
        ids, _ = await mine(sessions, {early, late})
        return ids if len(ids) == 2 else None

    ids = await eventually(both)
    assert ids == sorted(ids)
