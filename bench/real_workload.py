"""The real workload: an order through the HTTP API as the floor handles it (Shopify
webhook, work list, scans, pack, the carrier's tracking webhooks, delivered), each step
waited on through the read model."""

from __future__ import annotations

import asyncio
import copy
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.bare import (
    TRACKING_STATUSES,
)
from bench.workload import (
    BARCODES,
    LABEL_POLL_INTERVAL,
    LABEL_TIMEOUT,
    ORDER_TIMEOUT,
    PACKAGING_GRAMS,
    POLL_INTERVAL,
    QUANTITIES,
    UNITS_PER_ORDER,
    BenchFailure,
    PhaseResult,
    carrier_event,
    order_webhook_headers,
    run_pool,
    sample_order,
)
from domain.models import ShipmentLine
from domain.packing import expected_weight, weight_window
from oms.seed import PRODUCTS


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


@dataclass
class Keys:
    admin: dict[str, str]
    integration: dict[str, str]
    staff: dict[str, dict[str, str]]  # by warehouse


@dataclass(frozen=True)
class Received:
    order_id: str
    shipment_id: str
    created: datetime
    #: ``perf_counter`` when the webhook was sent
    started: float


@dataclass(frozen=True)
class Picked:
    """A shipment whose every unit is scanned: what the packer has in hand."""

    shipment_id: str
    staff: dict[str, str]
    lines: list[ShipmentLine]


@dataclass(frozen=True)
class Packed:
    picked: Picked
    status_code: int
    #: the pack's answer (``PackOut``)
    answer: dict[str, Any]
    #: ``perf_counter`` when the pack was sent
    sent: float


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
        self.sample = sample_order()
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

    async def receive(self, result: PhaseResult) -> Received:
        """The Shopify webhook for one new order (the order's clock starts here)."""
        payload, created = self._payload()
        body = json.dumps(payload).encode()
        headers = order_webhook_headers(
            body, f"bench-{self.run_id}-{self.counter}", self.shopify_secret
        )
        started = time.perf_counter()
        r = await self.http.post("/webhooks/shopify", content=body, headers=headers)
        result.add("intake", time.perf_counter() - started)
        if r.status_code != 202:
            raise BenchFailure(f"intake: HTTP {r.status_code} {r.text[:200]}")
        order_id = r.json()["order_id"]
        return Received(order_id, f"{order_id}-1", created, started)

    async def pick(self, result: PhaseResult, shipment_id: str) -> Picked:
        """Wait for the shipment on the work list, then scan every unit, one call each."""
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
        return Picked(shipment_id, staff, lines)

    async def post_pack(self, result: PhaseResult, picked: Picked) -> Packed:
        """``POST /pack`` as the packer's station sends it, timed as ``pack`` (and as
        ``pack_200`` or ``pack_202``: label ready, or pending and following)."""
        low, high = weight_window(picked.lines)
        weight = min(max(expected_weight(picked.lines) + PACKAGING_GRAMS, low), high)
        t = time.perf_counter()
        r = await self.http.post(
            f"/api/v1/shipments/{picked.shipment_id}/pack",
            headers=picked.staff,
            json={"weight_grams": weight},
        )
        elapsed = time.perf_counter() - t
        if r.status_code not in (200, 202):
            raise BenchFailure(f"pack: HTTP {r.status_code} {r.text[:200]}")
        result.add("pack", elapsed)
        result.add(f"pack_{r.status_code}", elapsed)
        return Packed(picked, r.status_code, r.json(), t)

    async def wait_label(self, result: PhaseResult, packed: Packed) -> dict[str, Any]:
        """The label as the station's poll of the shipment sees it; ``label`` is timed from
        the pack call. Returns the tracking."""
        answer, sid = packed.answer, packed.picked.shipment_id
        while answer.get("label_status") != "ready":
            if time.perf_counter() - packed.sent > LABEL_TIMEOUT:
                raise BenchFailure(f"label for {sid}: still {answer}")
            await asyncio.sleep(LABEL_POLL_INTERVAL)
            r = await self.http.get(f"/api/v1/shipments/{sid}", headers=packed.picked.staff)
            if r.status_code != 200:
                raise BenchFailure(f"shipment detail: HTTP {r.status_code} {r.text[:200]}")
            answer = r.json()
        result.add("label", time.perf_counter() - packed.sent)
        tracking: dict[str, Any] = answer["tracking"]
        return tracking

    async def deliver(self, result: PhaseResult, tracking: dict[str, Any]) -> None:
        """The carrier's tracking webhooks, in order, up to delivered."""
        for status in TRACKING_STATUSES:
            event, headers = carrier_event(tracking["number"], status, self.carrier_secret)
            t = time.perf_counter()
            r = await self.http.post(
                f"/webhooks/carriers/{tracking['carrier']}", content=event, headers=headers
            )
            result.add("carrier", time.perf_counter() - t)
            if r.status_code != 202:
                raise BenchFailure(f"carrier {status}: HTTP {r.status_code} {r.text[:200]}")

    async def one(self, result: PhaseResult) -> None:
        received = await self.receive(result)
        picked = await self.pick(result, received.shipment_id)
        tracking = await self.wait_label(result, await self.post_pack(result, picked))
        await self.deliver(result, tracking)
        t = time.perf_counter()
        await self.delivered.wait(received.order_id, received.created)
        result.add("wait_delivered", time.perf_counter() - t)
        result.add("order", time.perf_counter() - received.started)
        if len(result.example_ids) < 3:
            result.example_ids.append(received.order_id)

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
