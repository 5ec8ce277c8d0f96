"""The real-shaped Shopify sample, byte for byte, from webhook to delivered over HTTP.

Demo catalog (as ``oms dev`` seeds it), signed webhook, staff scans with the sample's
barcodes, pack, carrier events. Asserts what people see: status codes, stock, the order's
status and events, one label, one notification per milestone.

The demo catalog goes into a database of its own, served by an API and a worker of their
own (:func:`tests.conftest.isolated_stack`): nothing of it reaches the shared database.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.routers.carriers import carrier_signature
from integrations.shopify import sign
from oms.seed import seed_catalog
from oms.settings import Settings
from store import inventory
from store.keys import create_key
from store.tables import Channel, LabelLedger, Notification
from tests.api.helpers import SAMPLE, eventually
from tests.conftest import Stack, isolated_stack
from tests.email.conftest import body_of
from tests.email.customer_inbox import mails_of_order, tracking_page

MUG, TEA = ("MUG-CER-350", "4006381333931", 420), ("TEA-SEN-100", "5901234123457", 610)


@pytest.fixture
async def demo(database_url: str, client: Client, settings: Settings) -> AsyncIterator[Stack]:
    async with isolated_stack(database_url, client, settings, "sample") as stack:
        async with stack.sessions.begin() as s:
            await seed_catalog(s, api_url="http://oms.test")
        yield stack


@pytest.fixture
async def http(demo: Stack) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=demo.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://oms.test") as c:
        yield c


async def make_key(demo: Stack, role: str, warehouse: str | None = None) -> dict[str, str]:
    async with demo.sessions.begin() as s:
        key, _ = await create_key(s, role, warehouse, name=f"test {role}")
    return {"Authorization": f"Bearer {key}"}


async def shopify_post(
    http: httpx.AsyncClient, settings: Settings, body: bytes, webhook_id: str
) -> httpx.Response:
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": "demo.myshopify.com",
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Hmac-Sha256": sign(body, settings.shopify_webhook_secret),
    }
    return await http.post("/webhooks/shopify", content=body, headers=headers)


async def carrier_post(
    http: httpx.AsyncClient, settings: Settings, payload: dict[str, Any]
) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {
        "X-OMS-Signature": carrier_signature(body, settings.carrier_webhook_secret),
        "Content-Type": "application/json",
    }
    return await http.post("/webhooks/carriers/sandbox", content=body, headers=headers)


async def test_the_demo_catalog_stays_out_of_the_shared_database(
    demo: Stack, sessions: async_sessionmaker[AsyncSession]
) -> None:
    shopify = select(func.count()).where(Channel.code == "shopify")
    async with demo.sessions() as s:
        assert await s.scalar(shopify) == 1
    async with sessions() as s:
        assert await s.scalar(shopify) == 0


async def test_sample_webhook_to_delivered(demo: Stack, http: httpx.AsyncClient) -> None:
    sessions, settings = demo.sessions, demo.settings
    admin = await make_key(demo, "admin")
    body = SAMPLE.read_bytes()
    r = await shopify_post(http, settings, body, webhook_id="0b5c1e8e-sample-1")
    assert r.status_code == 202, r.text
    order_id = r.json()["order_id"]
    assert order_id == f"demo-{json.loads(body)['id']}"

    async def ready() -> dict | None:  # type: ignore[type-arg]
        d = (await http.get(f"/api/v1/orders/{order_id}", headers=admin)).json()
        return d if d.get("status") == "ready_to_pick" else None

    detail = await eventually(ready)
    shipment = detail["shipments"][0]
    warehouse, shipment_id = shipment["warehouse"], shipment["shipment_id"]
    # The sample ships to Portland with latitude/longitude: the Portland warehouse wins.
    assert warehouse == "WH-PDX"
    assert detail["routing"]["decision"] == "WH-PDX"
    assert detail["priority"] > 0  # express shipping
    assert set(detail["tags"]) >= {"VIP", "repeat-buyer"}
    async with sessions() as s:
        before = {lv.sku: lv for lv in await inventory.levels(s, warehouse=warehouse)}
    assert before[MUG[0]].reserved == 2 and before[TEA[0]].reserved == 1

    staff = await make_key(demo, "staff", warehouse)

    async def in_work_list() -> bool:
        work = (await http.get("/api/v1/shipments", headers=staff)).json()
        return any(w["shipment_id"] == shipment_id for w in work)

    await eventually(in_work_list)  # a picker starts from the warehouse's work list
    scans = [(MUG[1], "s1"), (MUG[1], "s2"), (TEA[1], "s3")]
    for barcode, scan_id in scans:
        r = await http.post(
            f"/api/v1/shipments/{shipment_id}/scans",
            headers=staff,
            json={"barcode": barcode, "scan_id": scan_id, "station": "pack-1"},
        )
        assert r.status_code == 200, r.text
    assert r.json()["shipment_remaining"] == 0

    # The ceramic mug is tagged fragile in the catalog and the order ships express: the
    # tag rules make it fragile + high-priority, whose template adds a packaging check.
    assert {"fragile", "high-priority"} <= set(detail["tags"])
    steps = {s["step"]: s for s in detail["steps"]}
    assert steps["packaging_check"]["added_by"] == "fragile"
    weight = 2 * MUG[2] + TEA[2] + 80  # the items plus a box
    pack_url = f"/api/v1/shipments/{shipment_id}/pack"
    r = await http.post(pack_url, headers=staff, json={"weight_grams": weight})
    assert r.status_code == 422 and r.json()["reason"] == "packaging_unchecked", r.text
    r = await http.post(
        f"/api/v1/shipments/{shipment_id}/packaging-check",
        headers=staff,
        json={"note": "bubble wrap, double box"},
    )
    assert r.status_code == 200 and r.json()["packaging_checked"], r.text
    r = await http.post(pack_url, headers=staff, json={"weight_grams": weight})
    assert r.status_code == 200, r.text
    tracking = r.json()["tracking"]["number"]

    # Once packed, the shipment takes no more scans.
    late = await http.post(
        f"/api/v1/shipments/{shipment_id}/scans",
        headers=staff,
        json={"barcode": MUG[1], "scan_id": "s4"},
    )
    assert late.status_code == 422 and late.json()["reason"] == "not_pickable"

    for status in ("carrier_picked_up", "in_transit", "out_for_delivery", "delivered"):
        r = await carrier_post(
            http,
            settings,
            {
                "tracking_number": tracking,
                "status": status,
                "occurred_at": datetime.now(UTC).isoformat(),
            },
        )
        assert r.status_code == 202, r.text

    async def delivered() -> dict | None:  # type: ignore[type-arg]
        d = (await http.get(f"/api/v1/orders/{order_id}", headers=admin)).json()
        return d if d.get("status") == "delivered" else None

    final = await eventually(delivered)
    assert final["shipments"][0]["status"] == "delivered"
    types = [e["type"] for e in final["events"]]
    for t in (
        "received",
        "verified",
        "payment_confirmed",
        "allocated",
        "picked",
        "shipped",
        "tracking_delivered",
    ):
        assert t in types, types

    async with sessions() as s:
        after = {lv.sku: lv for lv in await inventory.levels(s, warehouse=warehouse)}
        labels = await s.scalar(
            select(func.count()).select_from(LabelLedger).where(LabelLedger.order_id == order_id)
        )
        milestones = sorted(
            (
                await s.scalars(
                    select(Notification.milestone).where(Notification.order_id == order_id)
                )
            ).all()
        )
    assert after[MUG[0]].on_hand == before[MUG[0]].on_hand - 2 and after[MUG[0]].reserved == 0
    assert after[TEA[0]].on_hand == before[TEA[0]].on_hand - 1 and after[TEA[0]].reserved == 0
    assert labels == 1
    assert milestones == ["confirmed", "delivered", "out_for_delivery", "shipped"]

    # The customer hears of each milestone once, by email, and the emails'
    # link opens the order's tracking page.
    mails = await mails_of_order(sessions, order_id)
    assert set(mails) == {"confirmed", "delivered", "out_for_delivery", "shipped"}
    # The order's own mail (confirmed) names no shipment; the shipment's mails name it.
    assert "X-OMS-Shipment-Id" not in mails["confirmed"]
    shipment_mails = [m for milestone, m in mails.items() if milestone != "confirmed"]
    assert {str(m["X-OMS-Shipment-Id"]) for m in shipment_mails} == {shipment_id}
    assert tracking in body_of(mails["shipped"], "plain")
    page = await tracking_page(http, mails["shipped"])
    assert tracking in page and "Delivered" in page

    listed = (await http.get("/api/v1/orders?status=delivered", headers=admin)).json()
    assert order_id in [o["order_id"] for o in listed["items"]]
