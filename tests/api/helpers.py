"""Payload builders and polling helpers for API tests."""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

#: A byte-for-byte copy of ``shared/samples/shopify-orders-create.json``.
SAMPLE = Path(__file__).resolve().parents[2] / "oms" / "demo_order.json"
_FALLBACK_SAMPLE: dict[str, Any] = {
    "id": 1,
    "name": "#1",
    "email": "a@example.com",
    "currency": "USD",
    "financial_status": "paid",
    "tags": "VIP, repeat-buyer",
    "total_price": "10.00",
    "customer": {"first_name": "A", "last_name": "B", "orders_count": 4},
    "shipping_address": {
        "name": "A B",
        "address1": "1 Main",
        "city": "Portland",
        "province_code": "OR",
        "zip": "97205",
        "country_code": "US",
        "latitude": 45.5,
        "longitude": -122.6,
    },
    "shipping_lines": [{"code": "Express", "title": "Express (1-2 business days)"}],
    "line_items": [{"sku": "X", "quantity": 2, "price": "5.00"}],
}

T = TypeVar("T")


def shopify_order(skus: list[str], quantities: list[int] | None = None) -> dict[str, Any]:
    """The sample ``orders/create`` body with a fresh id and the given SKUs."""
    base = json.loads(SAMPLE.read_text()) if SAMPLE.exists() else _FALLBACK_SAMPLE
    payload = copy.deepcopy(base)
    # Not the ``random`` module: the test runner reseeds it before every test, so two tests
    # would post the same order id (and the second would be an idempotent repeat).
    payload["id"] = 10**12 + secrets.randbelow(9 * 10**12)
    items = payload["line_items"]
    quantities = quantities or [1] * len(skus)
    payload["line_items"] = [
        {**items[i % len(items)], "sku": sku, "quantity": q}
        for i, (sku, q) in enumerate(zip(skus, quantities, strict=True))
    ]
    return payload


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, attempts: int = 300, pause: float = 0.05
) -> T:
    """Poll until ``probe`` returns something truthy (no timing is asserted)."""
    for _ in range(attempts):
        result = await probe()
        if result:
            return result
        await asyncio.sleep(pause)
    raise AssertionError("condition never became true")
