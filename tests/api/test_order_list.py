"""``GET /api/v1/orders`` (filters, ``cursor``/``limit`` paging, ``bad_cursor``) and
``GET /api/v1/orders/counts``, with exact answers.

Each test has an API of its own on a database of its own (:func:`isolated_stack`), so every
row listed or counted is one the test wrote (the list reads the projection table only).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from domain.status import OrderStatus
from oms.settings import Settings
from store.keys import create_key
from store.tables import OrderRow
from tests.conftest import Stack, isolated_stack
from tests.order_rows import BAD_CURSORS, newest_first, order_row

URL = "/api/v1/orders"


@pytest.fixture
async def stack(database_url: str, client: Client, settings: Settings) -> AsyncIterator[Stack]:
    async with isolated_stack(database_url, client, settings, "orderlist") as s:
        yield s


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=stack.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://oms.test") as c:
        yield c


@pytest.fixture
async def ops(stack: Stack) -> dict[str, str]:
    async with stack.sessions.begin() as s:
        key, _ = await create_key(s, "ops", None, name="test ops")
    return {"Authorization": f"Bearer {key}"}


async def add(stack: Stack, *rows: OrderRow) -> list[OrderRow]:
    async with stack.sessions.begin() as s:
        s.add_all(rows)
    return list(rows)


async def listed(
    http: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> tuple[list[str], str | None]:
    r = await http.get(URL, headers=headers, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    return [o["order_id"] for o in body["items"]], body["next_cursor"]


async def every_page(
    http: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> tuple[list[str], int]:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        extra = {"cursor": cursor} if cursor else {}
        ids, cursor = await listed(http, headers, **params, **extra)
        pages += 1
        assert pages <= 100, "the cursor does not move on"
        seen += ids
        if cursor is None:
            return seen, pages


async def test_filters_through_the_api(
    stack: Stack, http: httpx.AsyncClient, ops: dict[str, str]
) -> None:
    await add(
        stack,
        order_row("a", 1, status="cancelled", warehouses=["PDX"], priority=0, tags=["VIP"]),
        order_row("b", 2, status="ready_to_pick", warehouses=["PDX", "NJ"], priority=50),
        order_row("c", 3, status="ready_to_pick", warehouses=["NJ"], priority=10),
        order_row("d", 4, status="delivered", warehouses=["DAL"], priority=100),
    )
    assert (await listed(http, ops))[0] == ["d", "c", "b", "a"]
    assert (await listed(http, ops, status="ready_to_pick"))[0] == ["c", "b"]
    assert (await listed(http, ops, status="shipped"))[0] == []
    assert (await listed(http, ops, warehouse="PDX"))[0] == ["b", "a"]
    assert (await listed(http, ops, priority=10))[0] == ["d", "c", "b"]
    assert (await listed(http, ops, tag="VIP"))[0] == ["a"]
    assert (await listed(http, ops, status="ready_to_pick", warehouse="NJ", priority=11))[0] == [
        "b"
    ]
    r = await http.get(URL, headers=ops, params={"status": "lost"})
    assert r.status_code == 422
    assert (await http.get(URL, params={"status": "cancelled"})).status_code == 401

    r = await http.get(URL, headers=ops, params={"warehouse": "PDX"})
    [b, a] = r.json()["items"]
    assert (b["order_id"], b["status"], b["warehouses"], b["priority"]) == (
        "b",
        "ready_to_pick",
        ["PDX", "NJ"],
        50,
    )
    assert (a["status"], a["tags"]) == ("cancelled", ["VIP"])


async def test_paging_through_the_api(
    stack: Stack, http: httpx.AsyncClient, ops: dict[str, str]
) -> None:
    rows = await add(
        stack,
        *(
            order_row(f"o-{i:02d}", i // 3, status="cancelled" if i % 2 else "ready_to_pick")
            for i in range(17)
        ),
    )
    for limit in (1, 2, 5, 16, 17, 200):
        seen, pages = await every_page(http, ops, limit=limit)
        assert seen == newest_first(rows), limit
        assert pages == max(1, -(-17 // limit)), limit
    cancelled = [r for r in rows if r.status == "cancelled"]
    seen, pages = await every_page(http, ops, limit=3, status="cancelled")
    assert seen == newest_first(cancelled) and pages == 3

    for limit in (0, 201, -1):
        assert (await http.get(URL, headers=ops, params={"limit": limit})).status_code == 422


async def test_paging_is_stable_while_orders_arrive(
    stack: Stack, http: httpx.AsyncClient, ops: dict[str, str]
) -> None:
    rows = await add(stack, *(order_row(f"o-{i:02d}", i) for i in range(30)))
    stop = asyncio.Event()

    async def arrive() -> int:
        """New orders (newer than any listed) while the pages are read."""
        n = 0
        while not stop.is_set():
            await add(stack, order_row(f"new-{n:03d}", 10_000 + n))
            n += 1
            await asyncio.sleep(0)
        return n

    inserting = asyncio.create_task(arrive())
    seen: list[str] = []
    cursor: str | None = None
    try:
        while True:
            extra = {"cursor": cursor} if cursor else {}
            ids, cursor = await listed(http, ops, limit=4, **extra)
            seen += ids
            assert len(seen) <= 1000, "the cursor does not move on"
            await asyncio.sleep(0.01)
            if cursor is None:
                break
    finally:
        stop.set()
        arrived = await inserting
    assert arrived > 0
    # The first page may already show some new ones; after it, no gaps and no repeats.
    old = [i for i in seen if i.startswith("o-")]
    assert old == newest_first(rows)
    assert len(seen) == len(set(seen))
    assert seen[-len(old) :] == old


async def test_a_bad_cursor_is_422(http: httpx.AsyncClient, ops: dict[str, str]) -> None:
    for bad in BAD_CURSORS:
        r = await http.get(URL, headers=ops, params={"cursor": bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["reason"] == "bad_cursor"


async def test_counts_are_exact(stack: Stack, http: httpx.AsyncClient, ops: dict[str, str]) -> None:
    zero = {s.value: 0 for s in OrderStatus}
    r = await http.get(f"{URL}/counts", headers=ops)
    assert r.status_code == 200, r.text
    assert r.json() == zero
    await add(
        stack,
        order_row("a", 1, status="cancelled"),
        order_row("b", 2, status="cancelled"),
        order_row("c", 3, status="delivered"),
        order_row("d", 4, status="ready_to_pick"),
        order_row("e", 5, status="ready_to_pick"),
        order_row("f", 6, status="ready_to_pick"),
    )
    r = await http.get(f"{URL}/counts", headers=ops)
    assert r.json() == zero | {"cancelled": 2, "delivered": 1, "ready_to_pick": 3}
    assert (await http.get(f"{URL}/counts")).status_code == 401
