"""Outbox retention on real Postgres: a row goes only once every reader that still reads
is past it and it is older than the window; nothing goes before the low-stock watch reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import outbox_retention
from store.channels import create_channel
from store.inventory import note_change
from store.low_stock import WATCH_CONSUMER
from store.tables import ChannelCursor, InventoryOutbox, OutboxCursor
from tests.conftest import scratch_sessions

KEEP = timedelta(hours=24)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A database of its own: the session's has live readers moving their cursors."""
    async with scratch_sessions(database_url, "oms_outbox") as sessions:
        yield sessions


async def _rows(db: async_sessionmaker[AsyncSession], n: int, age: timedelta) -> list[int]:
    """``n`` outbox rows, one transaction each (as stock changes write them), ``age`` old."""
    ids = []
    for i in range(n):
        async with db.begin() as s:
            note_change(s, f"SKU-{i}", "WH")
            await s.flush()
            ids.append(int(await s.scalar(select(func.max(InventoryOutbox.id))) or 0))
    async with db.begin() as s:
        await s.execute(
            update(InventoryOutbox)
            .where(InventoryOutbox.id.in_(ids))
            .values(created_at=func.now() - age)
        )
    return ids


async def _place(db: async_sessionmaker[AsyncSession], reader: str, row_id: int) -> None:
    """Put a reader (a channel code, or the watch) just past outbox row ``row_id``."""
    async with db.begin() as s:
        txid = await s.scalar(select(InventoryOutbox.txid).where(InventoryOutbox.id == row_id))
        if reader == WATCH_CONSUMER:
            await s.merge(OutboxCursor(consumer=reader, last_txid=txid, last_id=row_id))
        else:
            await s.execute(
                update(ChannelCursor)
                .where(ChannelCursor.channel == reader)
                .values(last_txid=txid, last_id=row_id)
            )


async def _left(db: async_sessionmaker[AsyncSession], ids: list[int]) -> list[int]:
    async with db() as s:
        return sorted(
            await s.scalars(select(InventoryOutbox.id).where(InventoryOutbox.id.in_(ids)))
        )


async def _prune(db: async_sessionmaker[AsyncSession], batch: int = 1000) -> int:
    async with db.begin() as s:
        return await outbox_retention.prune(s, keep=KEEP, batch=batch)


async def test_rows_go_once_every_live_reader_is_past_them_and_they_are_old(
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db.begin() as s:
        for code, active in (("fast", True), ("slow", True), ("off", False)):
            await create_channel(s, code=code, name=code, kind="sandbox", active=active)
    old = await _rows(db, 6, age=timedelta(days=2))
    new = await _rows(db, 2, age=timedelta(minutes=5))
    rows = old + new

    assert await _prune(db) == 0  # the low-stock watch has not read yet: keep everything
    assert await _left(db, rows) == rows

    await _place(db, WATCH_CONSUMER, new[-1])
    await _place(db, "fast", new[-1])
    await _place(db, "slow", old[2])  # "off" stays at the start: it is not read
    assert await _prune(db) == 3
    assert await _left(db, rows) == old[3:] + new

    await _place(db, "slow", new[-1])
    assert await _prune(db, batch=2) == 2  # oldest first, a batch at a time
    assert await _left(db, rows) == old[5:] + new
    assert await _prune(db) == 1
    assert await _left(db, rows) == new  # every reader is past them, but they are recent
    assert await _prune(db) == 0
