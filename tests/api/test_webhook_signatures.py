"""Webhook signatures that must not pass: missing, truncated, replayed from another delivery,
wrongly encoded. Each is a 401 problem and stores nothing; the same body signed right
gets past the check (so the 401 came from the signature, not from the body)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.routers.carriers import carrier_signature
from integrations.shopify import sign
from oms.settings import Settings
from store.tables import CarrierEvent, OrderIntake, WebhookReceipt
from tests.api.helpers import shopify_order


def _bad_shopify_signatures(body: bytes, other: bytes, secret: str) -> dict[str, str | None]:
    right = sign(body, secret)
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {
        "missing": None,
        "empty": "",
        "truncated": right[:-6],
        "replayed": sign(other, secret),  # a real signature, of another delivery's body
        "hex_instead_of_base64": digest.hex(),
        "urlsafe_base64_padded_wrong": base64.urlsafe_b64encode(digest).decode().rstrip("="),
        "non_ascii": right[:-1] + "é",
    }


async def _shopify_rows(
    sessions: async_sessionmaker[AsyncSession], webhook_id: str, external_id: str
) -> tuple[int, int]:
    async with sessions() as s:
        receipts = await s.scalar(
            select(func.count()).where(WebhookReceipt.webhook_id == webhook_id)
        )
        intake = await s.scalar(select(func.count()).where(OrderIntake.external_id == external_id))
    return int(receipts or 0), int(intake or 0)


@pytest.mark.parametrize(
    "kind",
    [
        "missing",
        "empty",
        "truncated",
        "replayed",
        "hex_instead_of_base64",
        "urlsafe_base64_padded_wrong",
        "non_ascii",
    ],
)
async def test_shopify_bad_signature_is_401_and_stores_nothing(
    kind: str,
    http: httpx.AsyncClient,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    payload = shopify_order(["ANY-SKU"])
    body = json.dumps(payload).encode()
    other = json.dumps(shopify_order(["ANY-SKU"])).encode()
    signature = _bad_shopify_signatures(body, other, settings.shopify_webhook_secret)[kind]
    webhook_id = f"wh-{uuid.uuid4()}"
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": "demo.myshopify.com",
        "X-Shopify-Webhook-Id": webhook_id,
    }
    if signature is not None:
        headers["X-Shopify-Hmac-Sha256"] = signature
    r = await http.post(
        "/webhooks/shopify",
        content=body,
        headers={k.encode(): v.encode("utf-8") for k, v in headers.items()},
    )
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["reason"] == "bad_signature"
    assert await _shopify_rows(sessions, webhook_id, str(payload["id"])) == (0, 0)


async def test_shopify_oversized_ids_are_422_not_500(
    shopify_post: Callable[..., Awaitable[httpx.Response]],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A signed delivery whose webhook id or shop is longer than its column: refused."""
    payload = shopify_order(["ANY-SKU"])
    long_id = "w" * 300
    r = await shopify_post(payload, webhook_id=long_id)
    assert r.status_code == 422, r.text
    r = await shopify_post(payload, webhook_id=f"wh-{uuid.uuid4()}", shop="s" * 300)
    assert r.status_code == 422, r.text
    assert await _shopify_rows(sessions, long_id, str(payload["id"])) == (0, 0)


def _event(tracking_number: str) -> bytes:
    return json.dumps(
        {
            "tracking_number": tracking_number,
            "status": "in_transit",
            "occurred_at": datetime.now(UTC).isoformat(),
            "event_id": f"ev-{uuid.uuid4()}",
        }
    ).encode()


@pytest.mark.parametrize(
    "kind", ["missing", "empty", "truncated", "replayed", "base64_instead_of_hex", "upper_garbage"]
)
async def test_carrier_bad_signature_is_401_and_stores_nothing(
    kind: str,
    http: httpx.AsyncClient,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    number = f"1Z{uuid.uuid4().hex[:16].upper()}"
    body = _event(number)
    secret = settings.carrier_webhook_secret
    right = carrier_signature(body, secret)
    signatures: dict[str, str | None] = {
        "missing": None,
        "empty": "",
        "truncated": right[:-2],
        "replayed": carrier_signature(_event(number), secret),  # another event's signature
        "base64_instead_of_hex": base64.b64encode(bytes.fromhex(right)).decode(),
        "upper_garbage": right.upper()[:-1] + "G",
    }
    headers = {"Content-Type": "application/json"}
    if signatures[kind] is not None:
        headers["X-OMS-Signature"] = str(signatures[kind])
    r = await http.post("/webhooks/carriers/ups", content=body, headers=headers)
    assert r.status_code == 401, r.text
    assert r.json()["reason"] == "bad_signature"
    async with sessions() as s:
        stored = await s.scalar(select(func.count()).where(CarrierEvent.tracking_number == number))
    assert stored == 0
    # The same body signed right passes the signature (and meets an unknown number).
    r = await http.post(
        "/webhooks/carriers/ups", content=body, headers={**headers, "X-OMS-Signature": right}
    )
    assert r.status_code == 404, r.text
