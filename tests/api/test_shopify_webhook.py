"""Shopify intake: signature first, nothing stored on refusal, one order per delivery."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowExecution
from temporalio.service import RPCError

from domain.names import order_workflow_id
from domain.status import ShippingMethod
from integrations.shopify import sign, to_order_input
from store import inventory
from store.tables import OrderIntake, OrderRow, WebhookReceipt
from tests.api.helpers import SAMPLE, eventually, shopify_order
from tests.conftest import Catalog


async def _counts(
    sessions: async_sessionmaker[AsyncSession], webhook_id: str, external_id: str
) -> tuple[int, int]:
    async with sessions() as s:
        receipts = await s.scalar(
            select(func.count())
            .select_from(WebhookReceipt)
            .where(WebhookReceipt.webhook_id == webhook_id)
        )
        intake = await s.scalar(
            select(func.count())
            .select_from(OrderIntake)
            .where(OrderIntake.external_id == external_id)
        )
        return int(receipts or 0), int(intake or 0)


def test_normalise_sample() -> None:
    payload = json.loads(SAMPLE.read_text())
    order = to_order_input(payload, shop_domain="demo.myshopify.com")
    assert order.order_id == "demo-5938715082813"
    assert order.channel == "shopify:demo"
    assert order.name == "#1042"
    assert order.shipping_method == ShippingMethod.EXPRESS
    assert order.tags == ["VIP", "repeat-buyer"]
    assert order.total == Decimal("87.40")
    assert order.customer_orders_count == 4
    assert order.shipping_address.latitude == 45.5189
    assert order.billing_address is not None and order.billing_address.city == "Portland"
    assert [(ln.sku, ln.quantity) for ln in order.lines] == [("MUG-CER-350", 2), ("TEA-SEN-100", 1)]


async def test_bad_signature_is_401_and_nothing_stored(
    shopify_post,
    sessions: async_sessionmaker[AsyncSession],  # type: ignore[no-untyped-def]
) -> None:
    payload = shopify_order(["ANY-SKU"])
    webhook_id = f"wh-{uuid.uuid4()}"
    body = json.dumps(payload).encode()
    forged = sign(body, "not-the-secret")
    r = await shopify_post(body, webhook_id=webhook_id, signature=forged)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await shopify_post(body, webhook_id=webhook_id, signature="")
    assert r.status_code == 401
    # a body altered after signing
    r = await shopify_post(body + b" ", webhook_id=webhook_id, signature=sign(body, "x"))
    assert r.status_code == 401
    assert await _counts(sessions, webhook_id, str(payload["id"])) == (0, 0)


async def test_invalid_payload_is_422_and_nothing_stored(
    shopify_post,
    sessions: async_sessionmaker[AsyncSession],  # type: ignore[no-untyped-def]
) -> None:
    payload = shopify_order(["ANY-SKU"])
    payload["line_items"] = []
    webhook_id = f"wh-{uuid.uuid4()}"
    r = await shopify_post(payload, webhook_id=webhook_id)
    assert r.status_code == 422
    assert r.json()["reason"] == "invalid_payload"
    r = await shopify_post(b"not json", webhook_id=webhook_id)
    assert r.status_code == 422
    assert await _counts(sessions, webhook_id, str(payload["id"])) == (0, 0)


async def test_create_is_idempotent(
    shopify_post,
    make_catalog,
    sessions: async_sessionmaker[AsyncSession],  # type: ignore[no-untyped-def]
    client: Client,
) -> None:
    cat: Catalog = await make_catalog()
    payload = shopify_order(cat.skus)
    webhook_id = f"wh-{uuid.uuid4()}"
    first = await shopify_post(payload, webhook_id=webhook_id)
    assert first.status_code == 202, first.text
    order_id = first.json()["order_id"]
    assert order_id == f"demo-{payload['id']}"
    again = await shopify_post(payload, webhook_id=webhook_id)
    assert again.status_code == 200 and again.json()["order_id"] == order_id
    # Shopify re-sending the same order under a new webhook id
    other = await shopify_post(payload, webhook_id=f"wh-{uuid.uuid4()}")
    assert other.status_code == 200 and other.json()["order_id"] == order_id
    assert await _counts(sessions, webhook_id, str(payload["id"])) == (1, 1)
    desc = await client.get_workflow_handle(order_workflow_id(order_id)).describe()
    assert desc.id == order_workflow_id(order_id)

    async def listed() -> list[WorkflowExecution] | None:
        query = f"WorkflowId = '{order_workflow_id(order_id)}'"
        return [w async for w in client.list_workflows(query)] or None

    runs = await eventually(listed)  # visibility may lag a moment behind the start
    assert [r.run_id for r in runs] == [desc.run_id]  # exactly one run, the one described


async def test_paid_for_unknown_order_is_404(shopify_post) -> None:  # type: ignore[no-untyped-def]
    r = await shopify_post(
        {"id": 42, "name": "#x"},
        topic="orders/paid",
        webhook_id=f"wh-{uuid.uuid4()}",
        shop="nobody.myshopify.com",
    )
    assert r.status_code == 404


async def test_api_intake_idempotency(
    http: httpx.AsyncClient,
    make_key,
    make_catalog,  # type: ignore[no-untyped-def]
) -> None:
    cat: Catalog = await make_catalog()
    integ = await make_key("integration")
    body = {
        "external_id": uuid.uuid4().hex[:12],
        "channel": "pos",
        "email": "x@example.com",
        "shipping_address": {
            "name": "X",
            "address1": "1 Main",
            "city": "Portland",
            "zip": "97205",
            "country_code": "US",
        },
        "shipping_method": "standard",
        "lines": [{"sku": cat.skus[0], "quantity": 1, "unit_price": "9.50"}],
        "financial_status": "paid",
    }
    r = await http.post("/api/v1/orders", json=body, headers=integ)
    assert r.status_code == 400 and r.json()["reason"] == "idempotency_key_missing"
    key = {**integ, "Idempotency-Key": uuid.uuid4().hex}
    first = await http.post("/api/v1/orders", json=body, headers=key)
    assert first.status_code == 202, first.text
    assert first.json()["order_id"] == f"pos-{body['external_id']}"
    again = await http.post("/api/v1/orders", json=body, headers=key)
    assert again.status_code == 200 and again.json() == first.json()
    changed = await http.post("/api/v1/orders", json={**body, "note": "changed"}, headers=key)
    assert changed.status_code == 422 and changed.json()["reason"] == "idempotency_key_reused"
    unknown = {
        **body,
        "external_id": uuid.uuid4().hex[:12],
        "lines": [{"sku": "NOPE-404", "quantity": 1, "unit_price": "1"}],
    }
    r = await http.post(
        "/api/v1/orders", json=unknown, headers={**integ, "Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 422 and r.json()["reason"] == "unknown_sku"
    staff = await make_key("staff", cat.warehouses[0])
    r = await http.post("/api/v1/orders", json=body, headers={**staff, "Idempotency-Key": "k"})
    assert r.status_code == 403


async def test_cancelled_in_shopify_cancels_the_order_once(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    shopify_post,  # type: ignore[no-untyped-def]
    make_catalog,  # type: ignore[no-untyped-def]
    sessions: async_sessionmaker[AsyncSession],
    worker: Any,
) -> None:
    cat: Catalog = await make_catalog({"PDX": {"0": 4, "1": 4}})
    payload = shopify_order(cat.skus, [2, 1])
    r = await shopify_post(payload, webhook_id=f"wh-{uuid.uuid4()}")
    assert r.status_code == 202, r.text
    order_id = r.json()["order_id"]

    async def status_is(wanted: str) -> bool:
        d = await http.get(f"/api/v1/orders/{order_id}", headers=admin)
        return d.status_code == 200 and d.json()["status"] == wanted

    await eventually(lambda: status_is("ready_to_pick"))
    assert await reserved(sessions, cat) == {cat.skus[0]: 2, cat.skus[1]: 1}

    cancel_id = f"wh-{uuid.uuid4()}"
    body = {"id": payload["id"], "cancel_reason": "customer"}
    r = await shopify_post(body, topic="orders/cancelled", webhook_id=cancel_id)
    assert r.status_code == 202, r.text
    assert r.json() == {"order_id": order_id, "status": "accepted"}
    await eventually(lambda: status_is("cancelled"))
    assert await reserved(sessions, cat) == {cat.skus[0]: 0, cat.skus[1]: 0}
    detail = (await http.get(f"/api/v1/orders/{order_id}", headers=admin)).json()
    assert "cancelled" in [e["type"] for e in detail["events"]]

    # Shopify delivering the same webhook again: one receipt, answered as a duplicate.
    again = await shopify_post(body, topic="orders/cancelled", webhook_id=cancel_id)
    assert again.status_code == 200
    assert again.json() == {"order_id": order_id, "status": "duplicate"}
    async with sessions() as s:
        receipts = await s.scalar(
            select(func.count())
            .select_from(WebhookReceipt)
            .where(WebhookReceipt.webhook_id == cancel_id)
        )
    assert receipts == 1

    unknown = await shopify_post(
        {"id": 7, "cancel_reason": "customer"},
        topic="orders/cancelled",
        webhook_id=f"wh-{uuid.uuid4()}",
        shop="nobody.myshopify.com",
    )
    assert unknown.status_code == 404 and unknown.json()["reason"] == "unknown_order"


async def reserved(sessions: async_sessionmaker[AsyncSession], cat: Catalog) -> dict[str, int]:
    async with sessions() as s:
        levels = {lv.sku: lv for lv in await inventory.levels(s, warehouse=cat.warehouses[0])}
    return {sku: levels[sku].reserved for sku in cat.skus}


async def test_a_topic_not_subscribed_to_is_acknowledged_and_nothing_stored(
    shopify_post,  # type: ignore[no-untyped-def]
    make_catalog,  # type: ignore[no-untyped-def]
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
) -> None:
    cat: Catalog = await make_catalog()
    payload = shopify_order(cat.skus)  # a whole order, under a topic nobody handles
    webhook_id = f"wh-{uuid.uuid4()}"
    r = await shopify_post(payload, topic="products/update", webhook_id=webhook_id)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ignored" and r.json().get("order_id") is None
    assert await _counts(sessions, webhook_id, str(payload["id"])) == (0, 0)
    async with sessions() as s:
        orders = await s.scalar(
            select(func.count())
            .select_from(OrderRow)
            .where(OrderRow.order_id == f"demo-{payload['id']}")
        )
    assert orders == 0
    with pytest.raises(RPCError):
        await client.get_workflow_handle(order_workflow_id(f"demo-{payload['id']}")).describe()
