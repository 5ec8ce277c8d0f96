"""Browser fixtures: the app on a real HTTP port, Debian's chromium driven by Playwright.

The server runs with uvicorn in the session's event loop, wired to the session's real
Temporal and to a Postgres database and worker of its own (the demo catalog it seeds must
not reach the shared database). Playwright's own browser download doesn't work here: it launches
``/usr/bin/chromium`` (``.ci/run`` installs Debian's package when it is missing).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from integrations.sandbox import SandboxBehaviour
from integrations.shopify import sign
from oms.settings import Settings
from store.keys import create_key
from tests.api.helpers import SAMPLE, eventually
from tests.conftest import Stack, isolated_stack, served

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def e2e_carrier() -> SandboxBehaviour:
    """The stack's sandbox carrier: a test may take it down (and must bring it back)."""
    return SandboxBehaviour(latency_ms=(1, 5), failure_rate=0)


@pytest.fixture(scope="module")
async def e2e_stack(
    database_url: str, client: Client, settings: Settings, e2e_carrier: SandboxBehaviour
) -> AsyncIterator[Stack]:
    """An API and worker of their own on a database of their own, seeded with the demo
    catalog (which must not reach the shared database)."""
    async with isolated_stack(database_url, client, settings, "e2e", carrier=e2e_carrier) as stack:
        yield stack


@pytest.fixture(scope="module")
async def live_url(e2e_stack: Stack) -> AsyncIterator[str]:
    """The stack's API (and its pages) served over real HTTP on a free 127.0.0.1 port."""
    async with served(e2e_stack) as url:
        yield url


@pytest.fixture
def stack_sessions(e2e_stack: Stack) -> async_sessionmaker[AsyncSession]:
    return e2e_stack.sessions


@pytest.fixture(scope="module")
async def browser(live_url: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield b
        await b.close()


@pytest.fixture
async def page(browser: Any, live_url: str) -> AsyncIterator[Any]:
    """A phone-sized page (360 px wide) on the live server."""
    context = await browser.new_context(
        viewport={"width": 360, "height": 740}, base_url=live_url, has_touch=True
    )
    pg = await context.new_page()
    yield pg
    await context.close()


@dataclass
class SampleShipment:
    order_id: str
    shipment_id: str
    warehouse: str
    staff_key: str
    admin_key: str


@pytest.fixture
def sample_shipment(
    live_url: str, settings: Settings, e2e_stack: Stack
) -> Callable[..., Awaitable[SampleShipment]]:
    """Post the Shopify sample (fresh id) over HTTP and wait until it is on the work list."""

    async def make(tags: str | None = None) -> SampleShipment:
        async with e2e_stack.sessions.begin() as s:
            admin_key, _ = await create_key(s, "admin", None, name="e2e admin")
            staff_key, _ = await create_key(s, "staff", "WH-PDX", name="e2e staff")
        payload = json.loads(SAMPLE.read_bytes())
        payload["id"] = int(uuid.uuid4().int % 10**13)
        if tags is not None:
            payload["tags"] = tags
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": "demo.myshopify.com",
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Hmac-Sha256": sign(body, settings.shopify_webhook_secret),
        }
        async with httpx.AsyncClient(base_url=live_url) as http:
            r = await http.post("/webhooks/shopify", content=body, headers=headers)
            assert r.status_code == 202, r.text
            order_id = r.json()["order_id"]
            staff = {"Authorization": f"Bearer {staff_key}"}

            async def listed() -> dict[str, Any] | None:
                items = (await http.get("/api/v1/shipments", headers=staff)).json()
                mine = [i for i in items if i["order_id"] == order_id and i["status"] == "open"]
                return mine[0] if mine else None

            item = await eventually(listed)
        return SampleShipment(
            order_id, item["shipment_id"], item["warehouse"], staff_key, admin_key
        )

    return make
