"""API fixtures: the app wired to the session's real Postgres and Temporal, keys, signers."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from api.app import create_app
from api.routers.carriers import carrier_signature
from integrations.shopify import sign
from oms.settings import Settings
from oms.temporal import connect, metrics_runtime
from store.keys import create_key
from store.tables import ShipmentRow
from tests.api.helpers import eventually, shopify_order
from tests.api.injected import InjectedOrder, injected_dependency


@pytest.fixture(scope="session")
async def api_app(
    settings: Settings, client: Client, engine: AsyncEngine
) -> AsyncIterator[FastAPI]:
    app = create_app(settings, client=client, engine=engine)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="session")
async def http(api_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=api_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://oms.test") as c:
        yield c


KeyMaker = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture(scope="session")
def make_key(sessions: async_sessionmaker[AsyncSession]) -> KeyMaker:
    """Create a key and return the ``Authorization`` header for it."""

    async def make(role: str, warehouse: str | None = None) -> dict[str, str]:
        async with sessions.begin() as s:
            key, _ = await create_key(s, role, warehouse, name=f"test {role}")
        return {"Authorization": f"Bearer {key}"}

    return make


@pytest.fixture(scope="session")
async def admin(make_key: KeyMaker) -> dict[str, str]:
    return await make_key("admin")


@pytest.fixture
def shopify_post(
    http: httpx.AsyncClient, settings: Settings
) -> Callable[..., Awaitable[httpx.Response]]:
    """POST a Shopify webhook, signed unless ``signature`` is given."""

    async def post(
        payload: dict[str, Any] | bytes,
        *,
        topic: str = "orders/create",
        webhook_id: str,
        shop: str = "demo.myshopify.com",
        signature: str | None = None,
    ) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": shop,
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Hmac-Sha256": signature
            if signature is not None
            else sign(body, settings.shopify_webhook_secret),
        }
        return await http.post("/webhooks/shopify", content=body, headers=headers)

    return post


@pytest.fixture
def carrier_post(
    http: httpx.AsyncClient, settings: Settings
) -> Callable[..., Awaitable[httpx.Response]]:
    async def post(
        carrier: str, payload: dict[str, Any], signature: str | None = None
    ) -> httpx.Response:
        body = json.dumps(payload).encode()
        sig = (
            signature
            if signature is not None
            else carrier_signature(body, settings.carrier_webhook_secret)
        )
        return await http.post(
            f"/webhooks/carriers/{carrier}",
            content=body,
            headers={"X-OMS-Signature": sig, "Content-Type": "application/json"},
        )

    return post


@dataclass(frozen=True)
class OpenShipment:
    """A Shopify order's shipment on its warehouse's work list, and a picker's key there."""

    order_id: str
    shipment_id: str
    warehouse: str
    staff: dict[str, str]  # Authorization header of a staff key for that warehouse

    @property
    def scans_url(self) -> str:
        return f"/api/v1/shipments/{self.shipment_id}/scans"

    @property
    def pack_url(self) -> str:
        return f"/api/v1/shipments/{self.shipment_id}/pack"


@pytest.fixture
def open_shipment(
    worker: Any,
    shopify_post: Callable[..., Awaitable[httpx.Response]],
    make_key: KeyMaker,
    sessions: async_sessionmaker[AsyncSession],
) -> Callable[..., Awaitable[OpenShipment]]:
    """Post a signed Shopify order for ``skus`` x ``quantities`` and wait for its shipment."""

    async def open_(
        skus: list[str], quantities: list[int], *, tags: str | None = None
    ) -> OpenShipment:
        payload = shopify_order(skus, quantities)
        if tags is not None:
            payload["tags"] = tags
        r = await shopify_post(payload, webhook_id=f"wh-{uuid.uuid4()}")
        assert r.status_code == 202, r.text
        order_id = r.json()["order_id"]
        shipment_id = f"{order_id}-1"

        async def row() -> ShipmentRow | None:
            async with sessions() as s:
                return await s.get(ShipmentRow, shipment_id)

        found = await eventually(row)
        staff = await make_key("staff", found.warehouse)
        return OpenShipment(order_id, shipment_id, found.warehouse, staff)

    return open_


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def metrics_worker(settings: Settings) -> AsyncIterator[tuple[str, str, Client]]:
    """A worker whose SDK metrics are exported on a port of its own, running the injected
    order workflows on a task queue of its own: ``(metrics target, task queue, client)``."""
    port = free_port()
    client = await connect(settings, runtime=metrics_runtime(port, host="127.0.0.1"))
    queue = f"prom-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client, task_queue=queue, workflows=[InjectedOrder], activities=[injected_dependency]
    ):
        yield f"127.0.0.1:{port}", queue, client
