"""The two workloads: real orders through the HTTP API, and the bare Temporal baseline.

Both run ``n`` orders with at most ``concurrency`` in flight; each in-flight slot drives one
order from start to finish, as a packer would. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from bench.bare import (
    BARE_TASK_QUEUE,
    TRACKING_STATUSES,
    BareOrder,
    BareOrderWorkflow,
    BarePack,
    BareScan,
)
from domain.models import ShipmentLine
from domain.packing import expected_weight, weight_window
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


# --- waiting on the read model through the API ----------------------------------------------


class Watcher:
    """One shared poller resolving many waiters (a floor display, not one poll per order)."""

    def __init__(self, fetch: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]) -> None:
        self.fetch = fetch
        self.waiting: dict[str, tuple[Any, asyncio.Future[Any]]] = {}
        self.task: asyncio.Task[None] | None = None
        self.errors = 0

    async def wait(self, key: str, meta: Any = None) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting[key] = (meta, fut)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._loop())
        try:
            return await asyncio.wait_for(fut, ORDER_TIMEOUT)
        finally:
            self.waiting.pop(key, None)

    async def _loop(self) -> None:
        while self.waiting:
            try:
                found = await self.fetch({k: m for k, (m, _) in self.waiting.items()})
            except (httpx.HTTPError, BenchFailure):
                self.errors += 1
                found = {}
            for key, value in found.items():
                entry = self.waiting.get(key)
                if entry is not None and not entry[1].done():
                    entry[1].set_result(value)
            await asyncio.sleep(POLL_INTERVAL)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


# --- the real workload ----------------------------------------------------------------------


@dataclass
class Keys:
    admin: dict[str, str]
    integration: dict[str, str]
    staff: dict[str, dict[str, str]]  # by warehouse


class RealWorkload:
    def __init__(
        self,
        http: httpx.AsyncClient,
        keys: Keys,
        *,
        shopify_secret: str,
        carrier_secret: str,
        run_id: str,
        seed: int = 1,
    ) -> None:
        self.http = http
        self.keys = keys
        self.shopify_secret = shopify_secret
        self.carrier_secret = carrier_secret
        self.run_id = run_id
        self.rng = random.Random(seed)
        self.sample = json.loads(SAMPLE.read_text()) if SAMPLE.exists() else _FALLBACK_SAMPLE
        # The standard template only (what the bare baseline models): no fragile products,
        # whose template adds a packaging check. Totals stay far below high-value's 500.
        self.skus = sorted(p.sku for p in PRODUCTS if "fragile" not in p.tags)
        self.counter = 0
        self.shipments = Watcher(self._open_shipments)
        self.delivered = Watcher(self._delivered_orders)

    def _payload(self) -> tuple[dict[str, Any], datetime]:
        self.counter += 1
        payload = copy.deepcopy(self.sample)
        # Unique per run and order: the run id's digits, then the counter.
        payload["id"] = int(self.run_id) * 100_000 + self.counter
        payload["name"] = f"#B{self.counter}"
        created = datetime.now(UTC)
        payload["created_at"] = created.isoformat()
        items = payload["line_items"]
        skus = self.rng.sample(self.skus, len(QUANTITIES))
        payload["line_items"] = [
            {**items[i % len(items)], "sku": sku, "quantity": q, "id": self.counter * 10 + i}
            for i, (sku, q) in enumerate(zip(skus, QUANTITIES, strict=True))
        ]
        return payload, created

    async def _open_shipments(self, wanted: dict[str, Any]) -> dict[str, Any]:
        r = await self.http.get("/api/v1/shipments", headers=self.keys.admin)
        if r.status_code != 200:
            raise BenchFailure(f"work list: HTTP {r.status_code}")
        return {w["shipment_id"]: w for w in r.json() if w["shipment_id"] in wanted}

    async def _delivered_orders(self, wanted: dict[str, Any]) -> dict[str, Any]:
        """Delivered orders, newest first, paged back to the oldest order still awaited."""
        oldest: datetime = min(wanted.values()) - timedelta(seconds=5)
        found: dict[str, Any] = {}
        cursor: str | None = None
        for _ in range(50):  # bounded: 50 pages of 100
            params: dict[str, Any] = {"status": "delivered", "limit": 100}
            if cursor:
                params["cursor"] = cursor
            r = await self.http.get("/api/v1/orders", headers=self.keys.integration, params=params)
            if r.status_code != 200:
                raise BenchFailure(f"order list: HTTP {r.status_code}")
            page = r.json()
            for item in page["items"]:
                if item["order_id"] in wanted:
                    found[item["order_id"]] = item
            cursor = page.get("next_cursor")
            if not cursor or len(found) == len(wanted) or not page["items"]:
                break
            if datetime.fromisoformat(page["items"][-1]["created_at"]) < oldest:
                break
        return found

    async def _scan(
        self,
        result: PhaseResult,
        url: str,
        staff: dict[str, str],
        barcode: str,
        scan_id: str,
        position: int,
    ) -> None:
        """One scan, as a handheld sends it. The work list only shows shipments whose
        workflow runs, so a refusal here is a failure of the run."""
        t = time.perf_counter()
        r = await self.http.post(
            url, headers=staff, json={"barcode": barcode, "scan_id": scan_id, "station": "bench"}
        )
        elapsed = time.perf_counter() - t
        if r.status_code != 200:
            raise BenchFailure(f"scan {scan_id}: HTTP {r.status_code} {r.text[:200]}")
        result.add("scan", elapsed)
        result.add(f"scan_{position}", elapsed)

    async def _label(self, url: str, staff: dict[str, str]) -> dict[str, Any]:
        """Poll the shipment as the scan station does until its label is there."""
        deadline = time.monotonic() + ORDER_TIMEOUT
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            r = await self.http.get(url, headers=staff)
            if r.status_code == 200 and r.json().get("tracking"):
                return dict(r.json()["tracking"])
        raise BenchFailure(f"{url}: no label within {ORDER_TIMEOUT:.0f}s")

    async def one(self, result: PhaseResult) -> None:
        payload, created = self._payload()
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": "bench.myshopify.com",
            "X-Shopify-Webhook-Id": f"bench-{self.run_id}-{self.counter}",
            "X-Shopify-Hmac-Sha256": sign(body, self.shopify_secret),
        }
        started = time.perf_counter()
        r = await self.http.post("/webhooks/shopify", content=body, headers=headers)
        result.add("intake", time.perf_counter() - started)
        if r.status_code != 202:
            raise BenchFailure(f"intake: HTTP {r.status_code} {r.text[:200]}")
        order_id = r.json()["order_id"]
        shipment_id = f"{order_id}-1"

        t = time.perf_counter()
        item = await self.shipments.wait(shipment_id)
        result.add("wait_shipment", time.perf_counter() - t)
        staff = self.keys.staff[item["warehouse"]]
        lines = [ShipmentLine.model_validate(ln) for ln in item["lines"]]

        url = f"/api/v1/shipments/{shipment_id}/scans"
        n = 0
        for line in lines:
            for _ in range(line.quantity):
                n += 1
                await self._scan(result, url, staff, BARCODES[line.sku], f"{shipment_id}-s{n}", n)
        if n != UNITS_PER_ORDER:
            raise BenchFailure(f"expected {UNITS_PER_ORDER} units, shipment has {n}")

        low, high = weight_window(lines)
        weight = min(max(expected_weight(lines) + PACKAGING_GRAMS, low), high)
        t = time.perf_counter()
        r = await self.http.post(
            f"/api/v1/shipments/{shipment_id}/pack", headers=staff, json={"weight_grams": weight}
        )
        result.add("pack", time.perf_counter() - t)
        if r.status_code not in (200, 202):
            raise BenchFailure(f"pack: HTTP {r.status_code} {r.text[:200]}")
        tracking = r.json()["tracking"]
        if tracking is None:  # 202: the label follows (ADR 0008); the station polls for it
            tracking = await self._label(f"/api/v1/shipments/{shipment_id}", staff)

        for status in TRACKING_STATUSES:
            event = json.dumps(
                {
                    "tracking_number": tracking["number"],
                    "status": status,
                    "occurred_at": datetime.now(UTC).isoformat(),
                }
            ).encode()
            sig = hmac.new(self.carrier_secret.encode(), event, hashlib.sha256).hexdigest()
            t = time.perf_counter()
            r = await self.http.post(
                f"/webhooks/carriers/{tracking['carrier']}",
                content=event,
                headers={"Content-Type": "application/json", "X-OMS-Signature": sig},
            )
            result.add("carrier", time.perf_counter() - t)
            if r.status_code != 202:
                raise BenchFailure(f"carrier {status}: HTTP {r.status_code} {r.text[:200]}")

        t = time.perf_counter()
        await self.delivered.wait(order_id, created)
        result.add("wait_delivered", time.perf_counter() - t)
        result.add("order", time.perf_counter() - started)
        if len(result.example_ids) < 3:
            result.example_ids.append(order_id)

    async def run(self, name: str, n: int, concurrency: int) -> PhaseResult:
        result = PhaseResult(name, n, concurrency)

        async def one(_: int) -> None:
            await self.one(result)

        try:
            await run_pool(n, concurrency, one, result)
        finally:
            await self.shipments.close()
            await self.delivered.close()
        return result


# --- the bare baseline ----------------------------------------------------------------------


class BareWorkload:
    def __init__(self, client: Client, run_id: str) -> None:
        self.client = client
        self.run_id = run_id
        self.counter = 0

    async def one(self, result: PhaseResult) -> None:
        self.counter += 1
        order_id = f"bare-{self.run_id}-{self.counter}"
        started = time.perf_counter()
        handle = await self.client.start_workflow(
            BareOrderWorkflow.run,
            BareOrder(order_id=order_id, units=UNITS_PER_ORDER),
            id=order_id,
            task_queue=BARE_TASK_QUEUE,
        )
        result.add("start", time.perf_counter() - started)
        for n in range(1, UNITS_PER_ORDER + 1):
            t = time.perf_counter()
            await handle.execute_update(
                BareOrderWorkflow.scan, BareScan(scan_id=f"s{n}"), id=f"scan-{n}"
            )
            result.add("update", time.perf_counter() - t)
            result.add(f"update_{n}", time.perf_counter() - t)
        t = time.perf_counter()
        await handle.execute_update(BareOrderWorkflow.pack, BarePack(weight_grams=1000), id="pack")
        result.add("pack", time.perf_counter() - t)
        for status in TRACKING_STATUSES:
            t = time.perf_counter()
            await handle.signal(BareOrderWorkflow.track, status)
            result.add("signal", time.perf_counter() - t)
        outcome = await handle.result()
        if outcome != "delivered":
            raise BenchFailure(f"bare workflow ended {outcome!r}")
        result.add("order", time.perf_counter() - started)
        if len(result.example_ids) < 3:
            result.example_ids.append(order_id)

    async def run(self, name: str, n: int, concurrency: int) -> PhaseResult:
        result = PhaseResult(name, n, concurrency)

        async def one(_: int) -> None:
            await self.one(result)

        await run_pool(n, concurrency, one, result)
        return result
