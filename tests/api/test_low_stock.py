"""Low-stock thresholds: one ``low_stock`` event per downward crossing (and ``restocked``
on the way back), raised by the watch workflow from the outbox, and the gauges."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import BigInteger, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.service import RPCError

from domain import names
from oms.background import start_low_stock_watch
from oms.settings import Settings
from store.low_stock import WATCH_CONSUMER, events_for
from store.tables import InventoryOutbox, OutboxCursor, Product
from tests.api.helpers import eventually
from tests.conftest import Catalog


@pytest.fixture(scope="module")
async def low_stock_watch(worker: Any, client: Client, settings: Settings) -> AsyncIterator[None]:
    """The watch on the session worker's queue, started here and stopped afterwards.

    A run already there may be one an earlier test left on a queue nobody serves any more
    (starting with ``USE_EXISTING`` would keep it, and the test would wait forever): it is
    replaced."""
    handle = client.get_workflow_handle(names.LOW_STOCK_WATCH_WORKFLOW_ID)
    with contextlib.suppress(RPCError):  # none running
        await handle.terminate(reason="replaced by the low-stock tests' own")
    await start_low_stock_watch(client, settings)
    desc = await handle.describe()
    assert desc.task_queue == settings.task_queue
    yield
    with contextlib.suppress(RPCError):
        await handle.terminate(reason="low-stock tests over")


async def adjust(
    http: httpx.AsyncClient, headers: dict[str, str], sku: str, warehouse: str, delta: int
) -> None:
    r = await http.post(
        "/api/v1/inventory/adjustments",
        json={"sku": sku, "warehouse": warehouse, "delta": delta, "reason": "test"},
        headers=headers,
    )
    assert r.status_code == 200, r.text


def watched(sessions: async_sessionmaker[AsyncSession], sku: str) -> Callable[[], Awaitable[bool]]:
    """A probe: the watch's cursor is past every outbox row of ``sku``."""

    async def probe() -> bool:
        async with sessions() as s:
            cursor = await s.get(OutboxCursor, WATCH_CONSUMER)
            if cursor is None:
                return False
            behind = await s.scalar(
                select(func.count())
                .select_from(InventoryOutbox)
                .where(
                    InventoryOutbox.sku == sku,
                    tuple_(InventoryOutbox.txid, InventoryOutbox.id)
                    > tuple_(
                        literal(cursor.last_txid, BigInteger), literal(cursor.last_id, BigInteger)
                    ),
                )
            )
            return behind == 0

    return probe


async def kinds(sessions: async_sessionmaker[AsyncSession], sku: str) -> list[tuple[str, Any]]:
    async with sessions() as s:
        return [(e.type, e.detail) for e in await events_for(s, sku)]


async def metric(http: httpx.AsyncClient, name: str) -> float:
    text = (await http.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return sample.value
    raise AssertionError(f"{name} not in /metrics")


async def test_low_stock_is_raised_once_per_crossing(
    low_stock_watch: None,
    make_catalog: Callable[..., Awaitable[Catalog]],
    http: httpx.AsyncClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat = await make_catalog({"PDX": {"0": 10}}, n_products=1)
    sku, pdx = cat.skus[0], cat.warehouses[0]
    r = await http.put(
        f"/api/v1/products/{sku}/low-stock-threshold", json={"threshold": 8}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"sku": sku, "threshold": 8, "available": 10, "below": False}
    events_before = await metric(http, "oms_low_stock_events_total")

    await adjust(http, admin, sku, pdx, -3)  # 7 < 8: crossing down
    await eventually(lambda: kinds(sessions, sku))
    await adjust(http, admin, sku, pdx, -1)  # 6: still low, no second event
    await eventually(watched(sessions, sku))
    assert await kinds(sessions, sku) == [("low_stock", {"available": 7, "threshold": 8})]

    r = await http.get("/api/v1/inventory/low-stock", headers=admin)
    mine = [row for row in r.json() if row["sku"] == sku]
    assert len(mine) == 1 and (mine[0]["available"], mine[0]["threshold"]) == (6, 8)
    assert mine[0]["since"] is not None
    assert await metric(http, "oms_low_stock_skus") == len(r.json())
    assert await metric(http, "oms_low_stock_events_total") == events_before + 1

    await adjust(http, admin, sku, pdx, +2)  # 8: back at the threshold
    await eventually(watched(sessions, sku))
    assert [k for k, _ in await kinds(sessions, sku)] == ["low_stock", "restocked"]
    r = await http.get("/api/v1/inventory/low-stock", headers=admin)
    assert sku not in [row["sku"] for row in r.json()]
    await adjust(http, admin, sku, pdx, -1)  # 7: a second crossing
    await eventually(watched(sessions, sku))
    assert [k for k, _ in await kinds(sessions, sku)] == ["low_stock", "restocked", "low_stock"]
    assert await metric(http, "oms_low_stock_events_total") == events_before + 2


async def test_a_threshold_above_stock_raises_at_once_and_clearing_it_restocks(
    make_catalog: Callable[..., Awaitable[Catalog]],
    make_key: Callable[..., Awaitable[dict[str, str]]],
    http: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat = await make_catalog({"PDX": {"0": 3}}, n_products=1)
    sku = cat.skus[0]
    ops = await make_key("ops")
    url = f"/api/v1/products/{sku}/low-stock-threshold"
    r = await http.put(url, json={"threshold": 5}, headers=ops)
    assert r.status_code == 200, r.text
    assert r.json() == {"sku": sku, "threshold": 5, "available": 3, "below": True}
    assert await threshold(sessions, sku) == 5
    assert await kinds(sessions, sku) == [("low_stock", {"available": 3, "threshold": 5})]
    listed = (await http.get("/api/v1/inventory/low-stock", headers=ops)).json()
    assert [(x["available"], x["threshold"]) for x in listed if x["sku"] == sku] == [(3, 5)]

    r = await http.put(url, json={"threshold": 6}, headers=ops)  # still low: nothing new
    assert r.status_code == 200 and r.json()["threshold"] == 6 and r.json()["below"] is True
    assert await threshold(sessions, sku) == 6
    assert len(await kinds(sessions, sku)) == 1

    r = await http.put(url, json={"threshold": None}, headers=ops)
    assert r.status_code == 200, r.text
    assert r.json() == {"sku": sku, "threshold": None, "available": 3, "below": False}
    assert await threshold(sessions, sku) is None
    assert [k for k, _ in await kinds(sessions, sku)] == ["low_stock", "restocked"]
    listed = (await http.get("/api/v1/inventory/low-stock", headers=ops)).json()
    assert sku not in [x["sku"] for x in listed]

    r = await http.put(
        "/api/v1/products/NOPE/low-stock-threshold", json={"threshold": 1}, headers=ops
    )
    assert r.status_code == 404
    async with sessions() as s:
        assert await s.get(Product, "NOPE") is None
    r = await http.put(url, json={"threshold": -1}, headers=ops)
    assert r.status_code == 422
    assert await threshold(sessions, sku) is None  # refused: unchanged
    assert len(await kinds(sessions, sku)) == 2
    staff = await make_key("staff", cat.warehouses[0])
    r = await http.put(url, json={"threshold": 1}, headers=staff)
    assert r.status_code == 403
    assert await threshold(sessions, sku) is None


async def threshold(sessions: async_sessionmaker[AsyncSession], sku: str) -> int | None:
    async with sessions() as s:
        product = await s.get(Product, sku)
    assert product is not None
    return product.low_stock_threshold
