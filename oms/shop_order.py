"""``oms shop-order``: a customer buys in the sandbox Shopify store, and the store tells us.

In development the demo ``shopify`` channel's store is the API's own sandbox Shopify
(docs/decisions/0009-shopify-write-back.md), whose shop domain the seed names
:data:`oms.seed.SANDBOX_SHOP_DOMAIN`. Selling there creates the order in the store (its
fulfillment order waiting) and posts the store's ``orders/create`` body to our webhook,
signed as Shopify signs it. Everything the order goes through then reaches the store: the
fulfillment with tracking when it ships, carrier milestones, holds, a cancellation, which
``GET <store>/orders/{id}.json`` shows. The whole loop runs on one machine.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import httpx

from integrations.shopify import sign
from oms.devstack import DEMO_ORDER
from oms.seed import DEMO_SHOPIFY_TOKEN, SANDBOX_SHOP_DOMAIN

#: The demo channel's code: its store is served at /sandbox/shopify/<code>.
DEMO_CHANNEL = "shopify"
API_VERSION = "2024-07"


class ShopOrderError(Exception):
    """The store or our webhook refused the order (the message says which and why)."""


def parse_lines(specs: list[str]) -> list[tuple[str, int]]:
    """``SKU:QTY`` (or ``SKU`` for one) → ``[(sku, qty)]``; a bad spec is a ValueError."""
    lines: list[tuple[str, int]] = []
    for spec in specs:
        sku, _, qty = spec.partition(":")
        if not sku.strip():
            raise ValueError(f"{spec!r}: expected SKU or SKU:QTY")
        try:
            quantity = int(qty) if qty else 1
        except ValueError:
            raise ValueError(f"{spec!r}: the quantity must be a whole number") from None
        if quantity < 1:
            raise ValueError(f"{spec!r}: the quantity must be at least 1")
        lines.append((sku.strip(), quantity))
    return lines


def store_path(channel: str = DEMO_CHANNEL) -> str:
    return f"/sandbox/shopify/{channel}/admin/api/{API_VERSION}"


async def sell(
    http: httpx.AsyncClient,
    lines: list[tuple[str, int]],
    *,
    webhook_secret: str,
    shop_domain: str = SANDBOX_SHOP_DOMAIN,
    channel: str = DEMO_CHANNEL,
    token: str = DEMO_SHOPIFY_TOKEN,
) -> tuple[str, dict[str, Any]]:
    """Sell ``lines`` in the sandbox store and post its ``orders/create`` to us.

    Returns (our order id, the store's order). The buyer and address are the sample
    order's (``shared/samples``), so routing and verification behave as for it.
    """
    sample = json.loads(DEMO_ORDER.read_text())
    body = {
        "order": {
            "email": sample["email"],
            "financial_status": "paid",
            "shipping_address": copy.deepcopy(sample["shipping_address"]),
            "customer": copy.deepcopy(sample.get("customer", {})),
            "shipping_lines": copy.deepcopy(sample.get("shipping_lines", [])),
            "line_items": [{"sku": s, "quantity": q, "price": "10.00"} for s, q in lines],
        }
    }
    r = await http.post(
        f"{store_path(channel)}/orders.json",
        json=body,
        headers={"X-Shopify-Access-Token": token},
    )
    if r.status_code != 201:
        raise ShopOrderError(f"the sandbox store refused the order: {r.status_code} {r.text}")
    order: dict[str, Any] = r.json()["order"]
    raw = json.dumps(order).encode()
    r = await http.post(
        "/webhooks/shopify",
        content=raw,
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": shop_domain,
            "X-Shopify-Webhook-Id": f"sandbox-{uuid.uuid4().hex}",
            "X-Shopify-Hmac-Sha256": sign(raw, webhook_secret),
        },
    )
    if r.status_code not in (200, 202):
        raise ShopOrderError(f"the webhook refused the order: {r.status_code} {r.text}")
    return str(r.json()["order_id"]), order
