"""The Shopify adapter against the API's sandbox Shopify endpoint, over real HTTP semantics
(httpx through the ASGI app), and end to end from a stock change through the workflow."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from domain.names import channel_sync_workflow_id
from integrations.channels import ChannelRejected, ChannelUnavailable, ShopifyChannel
from integrations.sandbox import SandboxBehaviour
from oms.background import start_channel_sync
from oms.settings import Settings
from store import channels as repo
from store import inventory
from store.tables import Channel, SandboxChannelReceipt
from tests.api.helpers import eventually
from tests.conftest import Catalog
from workers.worker import WORKFLOW_RUNNER, WORKFLOWS, build_activities

BASE = "http://oms.test"


def shopify_config(code: str, sku: str, *, item: int = 9001) -> dict[str, Any]:
    return {
        "base_url": f"{BASE}/sandbox/shopify/{code}",
        "api_version": "2024-07",
        "location_id": 777,
        "access_token": "shpat_test",
        "inventory_item_ids": {sku: item},
    }


@pytest.fixture
async def asgi_http(
    api_app: FastAPI,
) -> AsyncIterator[tuple[httpx.AsyncClient, list[httpx.Request]]]:
    """An httpx client into the API app that keeps every request it sent."""
    sent: list[httpx.Request] = []

    async def keep(request: httpx.Request) -> None:
        sent.append(request)

    transport = httpx.ASGITransport(app=api_app)
    async with httpx.AsyncClient(transport=transport, event_hooks={"request": [keep]}) as c:
        yield c, sent


async def shopify_channel(
    sessions: async_sessionmaker[AsyncSession], sku: str, *, active: bool = False
) -> tuple[str, dict[str, Any]]:
    code = f"shp-{uuid.uuid4().hex[:8]}"
    config = shopify_config(code, sku)
    async with sessions.begin() as s:
        await repo.create_channel(
            s, code=code, name=code, kind="shopify", config=config, active=active
        )
    return code, config


async def receipts(
    sessions: async_sessionmaker[AsyncSession], code: str
) -> list[SandboxChannelReceipt]:
    async with sessions() as s:
        return list(
            (
                await s.scalars(
                    select(SandboxChannelReceipt)
                    .where(SandboxChannelReceipt.channel == code)
                    .order_by(SandboxChannelReceipt.received_at)
                )
            ).all()
        )


async def test_adapter_sends_shopifys_shape_and_the_idempotency_key(
    make_catalog: Callable[..., Awaitable[Catalog]],
    sessions: async_sessionmaker[AsyncSession],
    asgi_http: tuple[httpx.AsyncClient, list[httpx.Request]],
) -> None:
    cat = await make_catalog(n_products=1)
    sku = cat.skus[0]
    code, config = await shopify_channel(sessions, sku)
    http, sent = asgi_http
    adapter = ShopifyChannel(code, config, http)

    receipt = await adapter.set_available(sku=sku, available=7, idempotency_key="key-1")
    assert (receipt.sku, receipt.available, receipt.replayed) == (sku, 7, False)

    [request] = sent
    assert request.method == "POST"
    assert (
        str(request.url)
        == f"{BASE}/sandbox/shopify/{code}/admin/api/2024-07/inventory_levels/set.json"
    )
    assert request.headers["X-Shopify-Access-Token"] == "shpat_test"
    assert request.headers["Idempotency-Key"] == "key-1"
    assert json.loads(request.content) == {
        "location_id": 777,
        "inventory_item_id": 9001,
        "available": 7,
    }

    [row] = await receipts(sessions, code)
    assert (row.idempotency_key, row.sku, row.available) == ("key-1", sku, 7)
    assert row.payload == {
        "api_version": "2024-07",
        "location_id": 777,
        "inventory_item_id": 9001,
        "available": 7,
        "disconnect_if_necessary": False,
    }

    # The same key again (a retry after a lost response) is answered, not applied again.
    again = await adapter.set_available(sku=sku, available=7, idempotency_key="key-1")
    assert again.available == 7
    assert len(await receipts(sessions, code)) == 1


async def test_4xx_is_final_and_429_5xx_are_transient(
    make_catalog: Callable[..., Awaitable[Catalog]],
    sessions: async_sessionmaker[AsyncSession],
    asgi_http: tuple[httpx.AsyncClient, list[httpx.Request]],
) -> None:
    cat = await make_catalog(n_products=2)
    code, config = await shopify_channel(sessions, cat.skus[0])
    http, _ = asgi_http

    wrong_token = ShopifyChannel(code, {**config, "access_token": "nope"}, http)
    with pytest.raises(ChannelRejected) as refused:
        await wrong_token.set_available(sku=cat.skus[0], available=1, idempotency_key="k-401")
    assert refused.value.status == 401 and refused.value.channel_wide

    # An item the store does not have: refused for this SKU only.
    unknown = ShopifyChannel(code, {**config, "inventory_item_ids": {cat.skus[1]: 123456}}, http)
    with pytest.raises(ChannelRejected) as refused:
        await unknown.set_available(sku=cat.skus[1], available=1, idempotency_key="k-422")
    assert refused.value.status == 422 and not refused.value.channel_wide
    assert not ShopifyChannel(code, config, http).sells(cat.skus[1])  # unmapped: not pushed
    assert await receipts(sessions, code) == []

    def answering(status: int, headers: dict[str, str] | None = None) -> ShopifyChannel:
        transport = httpx.MockTransport(lambda _: httpx.Response(status, headers=headers))
        return ShopifyChannel(code, config, httpx.AsyncClient(transport=transport))

    with pytest.raises(ChannelUnavailable) as busy:
        await answering(429, {"Retry-After": "3"}).set_available(
            sku=cat.skus[0], available=1, idempotency_key="k"
        )
    assert busy.value.retry_after == timedelta(seconds=3)
    with pytest.raises(ChannelUnavailable):
        await answering(503).set_available(sku=cat.skus[0], available=1, idempotency_key="k")
    with pytest.raises(ChannelRejected):
        await answering(400).set_available(sku=cat.skus[0], available=1, idempotency_key="k")


async def test_a_stock_change_reaches_the_sandbox_shopify_store_through_the_workflow(
    make_catalog: Callable[..., Awaitable[Catalog]],
    sessions: async_sessionmaker[AsyncSession],
    asgi_http: tuple[httpx.AsyncClient, list[httpx.Request]],
    client: Client,
    settings: Settings,
) -> None:
    """A worker whose Shopify adapter reaches the API app, on a task queue of its own."""
    cat = await make_catalog({"PDX": {"0": 12}}, n_products=1)
    sku = cat.skus[0]
    code, _ = await shopify_channel(sessions, sku, active=True)
    http, sent = asgi_http
    queue = f"shopify-{uuid.uuid4().hex[:6]}"
    worker = Worker(
        client,
        task_queue=queue,
        workflows=list(WORKFLOWS),
        activities=build_activities(sessions, SandboxBehaviour(latency_ms=(1, 2)), http=http),
        workflow_runner=WORKFLOW_RUNNER,
    )
    async with worker:
        await start_channel_sync(client, settings, code, task_queue=queue)
        try:

            async def shows(n: int) -> list[SandboxChannelReceipt] | None:
                got = await receipts(sessions, code)
                return got if got and got[-1].available == n else None

            await eventually(lambda: shows(12))
            async with sessions.begin() as s:
                await inventory.adjust(
                    s, sku=sku, warehouse=cat.warehouses[0], delta=-2, reason="test"
                )
            await client.get_workflow_handle(channel_sync_workflow_id(code)).signal("poke")
            got = await eventually(lambda: shows(10))
            assert [r.available for r in got] == [12, 10]
            assert {r.payload["inventory_item_id"] for r in got} == {9001}
            assert all(r.idempotency_key.startswith(f"{code}:{sku}:") for r in got)
            assert len(sent) == 2
        finally:
            async with sessions.begin() as s:
                await s.execute(update(Channel).where(Channel.code == code).values(active=False))
            await client.get_workflow_handle(channel_sync_workflow_id(code)).terminate()
