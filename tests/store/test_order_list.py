"""``store.orders.list_orders`` and ``status_counts``: filters, keyset paging across pages
(no gaps, no repeats, ties on ``created_at``, rows inserted while paging) and bad cursors.

On a database of its own, so every row listed is one of the test's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import orders
from store.tables import OrderRow
from tests.conftest import scratch_sessions
from tests.order_rows import BAD_CURSORS, T0, newest_first, order_row

Sessions = async_sessionmaker[AsyncSession]
#: More pages than any test here has: a cursor that stops moving fails instead of hanging.
MAX_PAGES = 100


async def all_pages(sessions: Sessions, f: orders.OrderFilter, limit: int) -> tuple[list[str], int]:
    """Every page in turn; the ids in order and how many pages it took."""
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        async with sessions() as s:
            rows, cursor = await orders.list_orders(s, f, limit=limit, cursor=cursor)
        pages += 1
        assert pages <= MAX_PAGES, "the cursor does not move on"
        assert len(rows) <= limit
        seen += [r.order_id for r in rows]
        if cursor is None:
            return seen, pages
        assert len(rows) == limit  # only a full page has a next one


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Sessions]:
    async with scratch_sessions(database_url, "oms_orderlist") as sessions:
        yield sessions


async def add(sessions: Sessions, *rows: OrderRow) -> list[OrderRow]:
    async with sessions.begin() as s:
        s.add_all(rows)
    return list(rows)


async def test_filters(db: Sessions) -> None:
    rows = await add(
        db,
        order_row("a", 1, status="cancelled", warehouses=["PDX"], priority=0, tags=["VIP"]),
        order_row("b", 2, status="ready_to_pick", warehouses=["PDX", "NJ"], priority=50),
        order_row("c", 3, status="ready_to_pick", warehouses=["NJ"], priority=10, tags=["VIP"]),
        order_row("d", 4, status="delivered", warehouses=["DAL"], priority=100),
        order_row("e", 5, status="backordered", warehouses=[], priority=-5),
    )

    async def ids(**f: Any) -> list[str]:
        async with db() as s:
            found, cursor = await orders.list_orders(s, orders.OrderFilter(**f))
        assert cursor is None
        return [r.order_id for r in found]

    assert await ids() == newest_first(rows)
    assert await ids(status="ready_to_pick") == ["c", "b"]
    assert await ids(status="cancelled") == ["a"]
    assert await ids(status="shipped") == []
    assert await ids(warehouse="PDX") == ["b", "a"]
    assert await ids(warehouse="NJ") == ["c", "b"]
    assert await ids(warehouse="SEA") == []
    assert await ids(priority=10) == ["d", "c", "b"]  # a minimum
    assert await ids(priority=0) == ["d", "c", "b", "a"]
    assert await ids(priority=-10) == newest_first(rows)
    assert await ids(tag="VIP") == ["c", "a"]
    assert await ids(status="ready_to_pick", warehouse="PDX", priority=50) == ["b"]
    assert await ids(status="ready_to_pick", warehouse="PDX", priority=51) == []

    async with db() as s:
        counts = await orders.status_counts(s)
    assert counts == {"backordered": 1, "cancelled": 1, "delivered": 1, "ready_to_pick": 2}


async def test_pages_cover_every_row_once_with_ties(db: Sessions) -> None:
    # 23 rows, many sharing a created_at: the order id breaks the tie.
    rows = await add(db, *(order_row(f"o-{i:02d}", i // 4) for i in range(23)))
    expected = newest_first(rows)
    for limit in (1, 3, 4, 5, 22, 23, 24, 200):
        seen, pages = await all_pages(db, orders.OrderFilter(), limit)
        assert seen == expected, limit
        assert pages == max(1, -(-23 // limit)), limit

    # A filter pages the same way.
    await add(db, *(order_row(f"x-{i}", i % 3, status="cancelled") for i in range(7)))
    seen, pages = await all_pages(db, orders.OrderFilter(status="cancelled"), 2)
    assert seen == ["x-5", "x-2", "x-4", "x-1", "x-6", "x-3", "x-0"]
    assert pages == 4


async def test_rows_inserted_while_paging_neither_shift_nor_repeat(db: Sessions) -> None:
    rows = await add(db, *(order_row(f"o-{i:02d}", i) for i in range(10)))
    f = orders.OrderFilter()
    async with db() as s:
        first, cursor = await orders.list_orders(s, f, limit=4)
    assert [r.order_id for r in first] == ["o-09", "o-08", "o-07", "o-06"]
    assert cursor is not None
    last = first[-1]

    # Meanwhile: new orders (newest of all), one tied with the page's last row that sorts
    # before it, one tied that sorts after it, and one older than everything.
    await add(
        db,
        order_row("o-99", 60),
        order_row("o-06a", 6),  # same created_at as o-06, greater id: before the cursor
        order_row("o-05z", 6),  # same created_at as o-06, smaller id: after the cursor
        order_row("o-00-old", -1),
    )
    assert order_row("x", 6).created_at == last.created_at

    seen = [r.order_id for r in first]
    while cursor is not None:
        async with db() as s:
            page, cursor = await orders.list_orders(s, f, limit=4, cursor=cursor)
        seen += [r.order_id for r in page]
        assert len(seen) <= 100, "the cursor does not move on"
    assert len(seen) == len(set(seen))  # no repeats
    assert seen == [
        "o-09",
        "o-08",
        "o-07",
        "o-06",
        "o-05z",
        "o-05",
        "o-04",
        "o-03",
        "o-02",
        "o-01",
        "o-00",
        "o-00-old",
    ]
    # Nothing the first page had already passed shows up later, and nothing was skipped.
    assert set(seen) == {r.order_id for r in rows} | {"o-05z", "o-00-old"}


async def test_a_cursor_round_trips_and_garbage_is_refused(db: Sessions) -> None:
    at = T0 + timedelta(seconds=1.5)
    assert orders.decode_cursor(orders.encode_cursor(at, "o-1")) == (at, "o-1", None)
    assert orders.decode_cursor(orders.encode_cursor(at, "o-1", 50)) == (at, "o-1", 50)
    async with db() as s:
        for bad in BAD_CURSORS:
            with pytest.raises(orders.BadCursor):
                await orders.list_orders(s, orders.OrderFilter(), cursor=bad)
