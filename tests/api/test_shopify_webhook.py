"""Shopify intake: signature first, nothing stored on refusal, one order per delivery."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from domain.status import ShippingMethod
from integrations.shopify import sign, to_order_input
from store.tables import OrderIntake, WebhookReceipt
from tests.api.helpers import SAMPLE, shopify_order
from tests.conftest import Catalog
from workflows.names import order_workflow_id


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
    runs = [w async for w in client.list_workflows(f"WorkflowId = '{order_workflow_id(order_id)}'")]
    assert len(runs) <= 1  # visibility may lag; never two runs
    desc = await client.get_workflow_handle(order_workflow_id(order_id)).describe()
    assert desc.id == order_workflow_id(order_id)


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
