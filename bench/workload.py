"""What both workloads share: the order's shape, the sample order and its webhook, the
phase result and the pool that drives ``n`` orders ``concurrency`` at a time.

The workloads themselves: ``bench.real_workload`` (orders through the HTTP API) and
``bench.bare_workload`` (the bare Temporal baseline). Each in-flight slot drives one order
from start to finish, as a packer would. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.bare import (
    TRACKING_STATUSES,
)
from integrations.shopify import sign
from oms.seed import PRODUCTS

#: Each order: two distinct SKUs, quantities 2 and 1 → three scan calls (one per unit).
QUANTITIES = (2, 1)
UNITS_PER_ORDER = sum(QUANTITIES)
#: Updates and Signals a real order receives from outside (the bare one gets the same).
UPDATES_PER_ORDER = UNITS_PER_ORDER + 1  # scans + pack
SIGNALS_PER_ORDER = len(TRACKING_STATUSES)
#: Packaging weight the packer's scale adds on top of the catalog weights.
PACKAGING_GRAMS = 100

ORDER_TIMEOUT = 180.0
POLL_INTERVAL = 0.1
#: A 202 ``pending`` pack: how often the station re-reads the shipment (the scan station
#: page's POLL_MS, api/pages/static/scan.js), and for how long.
LABEL_POLL_INTERVAL = 2.0
LABEL_TIMEOUT = 600.0

#: A byte-for-byte copy of ``shared/samples/shopify-orders-create.json``.
SAMPLE = Path(__file__).resolve().parents[1] / "oms" / "demo_order.json"
_FALLBACK_SAMPLE: dict[str, Any] = {
    "id": 1,
    "name": "#1",
    "email": "bench@example.com",
    "currency": "USD",
    "financial_status": "paid",
    "tags": "VIP, repeat-buyer",
    "total_price": "87.40",
    "customer": {"first_name": "Bench", "last_name": "Mark", "orders_count": 4},
    "shipping_address": {
        "name": "Bench Mark",
        "address1": "418 Alder Street",
        "city": "Portland",
        "province_code": "OR",
        "zip": "97205",
        "country_code": "US",
        "latitude": 45.5189,
        "longitude": -122.6793,
    },
    "shipping_lines": [{"code": "Express", "title": "Express (1-2 business days)"}],
    "line_items": [{"sku": "X", "quantity": 1, "price": "18.00"}],
}
BARCODES = {p.sku: p.barcode for p in PRODUCTS}


def sample_order() -> dict[str, Any]:
    """A fresh copy of the sample Shopify order every workload starts its orders from."""
    return json.loads(SAMPLE.read_text()) if SAMPLE.exists() else copy.deepcopy(_FALLBACK_SAMPLE)


def order_webhook_headers(
    body: bytes, webhook_id: str, secret: str, *, shop: str = "bench.myshopify.com"
) -> dict[str, str]:
    """The headers Shopify sends with an ``orders/create`` webhook, signed with ``secret``."""
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Hmac-Sha256": sign(body, secret),
    }


def carrier_event(number: str, status: str, secret: str) -> tuple[bytes, dict[str, str]]:
    """A carrier's tracking webhook for parcel ``number``, happening now: its body and the
    headers that sign it with ``secret``."""
    event = json.dumps(
        {"tracking_number": number, "status": status, "occurred_at": datetime.now(UTC).isoformat()}
    ).encode()
    sig = hmac.new(secret.encode(), event, hashlib.sha256).hexdigest()
    return event, {"Content-Type": "application/json", "X-OMS-Signature": sig}


class BenchFailure(Exception):
    """An order did not go through as expected (kept, counted and reported)."""


@dataclass
class PhaseResult:
    name: str
    n: int
    concurrency: int
    elapsed: float = 0.0
    completed: int = 0
    failures: list[str] = field(default_factory=list)
    #: latency samples in seconds, by operation
    samples: dict[str, list[float]] = field(default_factory=dict)
    example_ids: list[str] = field(default_factory=list)

    def add(self, op: str, seconds: float) -> None:
        self.samples.setdefault(op, []).append(seconds)

    @property
    def throughput(self) -> float:
        return self.completed / self.elapsed if self.elapsed > 0 else 0.0


async def run_pool(
    n: int, concurrency: int, one: Callable[[int], Awaitable[None]], result: PhaseResult
) -> None:
    """Run ``one(i)`` for i in range(n), ``concurrency`` at a time; failures are recorded."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def slot() -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                await asyncio.wait_for(one(i), ORDER_TIMEOUT)
                result.completed += 1
            except Exception as exc:  # a benchmark reports failures, it does not stop
                result.failures.append(f"order {i}: {type(exc).__name__}: {exc}"[:300])

    started = time.perf_counter()
    await asyncio.gather(*(slot() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - started
