"""The scan bench's real side: orders through the Shopify webhook, then one handheld per
scanner POSTing its scans to the API as the scan station page does."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import httpx

from bench.scan_phases import TIMEOUT, shipments_per_scanner, warm_up
from bench.stack import SHOPIFY_SECRET
from bench.workload import BARCODES, BenchFailure, order_webhook_headers, sample_order

INTAKE_CONCURRENCY = 16
POLL_INTERVAL = 0.5


async def create_orders(
    http: httpx.AsyncClient, admin: dict[str, str], run_id: str, scanners: int, k: int
) -> list[dict[str, Any]]:
    """S orders of one SKU x K units each; returns their work-list items (one per order)."""
    sample = sample_order()
    skus = sorted(BARCODES)
    order_ids: list[str] = []
    sem = asyncio.Semaphore(INTAKE_CONCURRENCY)

    async def one(i: int) -> None:
        payload = copy.deepcopy(sample)
        payload["id"] = int(run_id) * 100_000 + i + 1
        payload["name"] = f"#S{i + 1}"
        payload["created_at"] = datetime.now(UTC).isoformat()
        item = payload["line_items"][0]
        payload["line_items"] = [
            {**item, "sku": skus[i % len(skus)], "quantity": k, "id": (i + 1) * 10}
        ]
        body = json.dumps(payload).encode()
        headers = order_webhook_headers(body, f"scans-{run_id}-{i}", SHOPIFY_SECRET)
        async with sem:
            r = await http.post("/webhooks/shopify", content=body, headers=headers)
        if r.status_code != 202:
            raise BenchFailure(f"intake {i}: HTTP {r.status_code} {r.text[:200]}")
        order_ids.append(r.json()["order_id"])

    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(scanners))), TIMEOUT)
    wanted = {f"{oid}-1" for oid in order_ids}
    found: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + TIMEOUT
    while len(found) < len(wanted):
        if time.monotonic() > deadline:
            raise BenchFailure(f"only {len(found)}/{len(wanted)} shipments in the work list")
        r = await http.get("/api/v1/shipments", headers=admin, params={"status": "open"})
        if r.status_code != 200:
            raise BenchFailure(f"work list: HTTP {r.status_code} {r.text[:200]}")
        for w in r.json():
            if w["shipment_id"] in wanted:
                found[w["shipment_id"]] = w
        if len(found) < len(wanted):
            await asyncio.sleep(POLL_INTERVAL)
    items = list(found.values())
    for w in items:
        units = sum(int(ln["quantity"]) for ln in w["lines"])
        if units != k:
            raise BenchFailure(f"{w['shipment_id']}: {units} units, expected {k}")
    return items


async def _post_like_a_handheld(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], body: dict[str, Any]
) -> tuple[int, str, str]:
    """POST a scan; on a dropped connection send the same scan_id again, as the scan
    station page does (a reused keep-alive connection the server had just closed).
    Returns ``(status, Server-Timing header, body text)``."""
    for attempt in range(3):
        try:
            async with http.post(url, headers=headers, json=body) as r:
                return r.status, r.headers.get("server-timing", ""), await r.text()
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@dataclass
class Handheld:
    """One scanner's device: its own HTTP client (one keep-alive connection) and key.

    The client is aiohttp's (C-accelerated HTTP parsing): the driver shares the two cores
    with the system it measures, and httpx cost it ~1.7 ms of CPU per scan, counted in the
    scan's latency and taken from the server (a real handheld spends its own CPU). One
    client per scanner, made and signed in before the clock starts.
    """

    #: The scanner's shipments (work-list items), in the order it picks them.
    items: list[dict[str, Any]]
    headers: dict[str, str]
    http: aiohttp.ClientSession
    #: The API's own account of the last scan (``Server-Timing``): seconds by stage.
    last_stages: dict[str, float] = field(default_factory=dict)

    async def scan(self, shipment: int, n: int) -> float:
        """Scan unit ``n`` of one of its shipments; seconds until the answer."""
        item = self.items[shipment]
        sid = item["shipment_id"]
        sku = [ln["sku"] for ln in item["lines"] for _ in range(int(ln["quantity"]))][n - 1]
        body = {"barcode": BARCODES[sku], "scan_id": f"{sid}-s{n}", "station": "bench"}
        url = f"/api/v1/shipments/{sid}/scans"
        t = time.perf_counter()
        status, timing, text = await _post_like_a_handheld(self.http, url, self.headers, body)
        elapsed = time.perf_counter() - t
        if status != 200:
            raise BenchFailure(f"scan {sid} #{n}: HTTP {status} {text[:200]}")
        self.last_stages = server_timing(timing)
        return elapsed


def server_timing(header: str) -> dict[str, float]:
    """``read;dur=1.20, update;dur=8.40`` → ``{"read": 0.0012, "update": 0.0084}``."""
    stages: dict[str, float] = {}
    for part in header.split(","):
        name, _, dur = part.strip().partition(";dur=")
        if name and dur:
            stages[name] = float(dur) / 1000
    return stages


@contextlib.asynccontextmanager
async def handhelds(
    base_url: str,
    staff: dict[str, dict[str, str]],
    items: list[dict[str, Any]],
    k: int,
    start: str,
) -> AsyncIterator[list[Handheld]]:
    """One device per scanner, signed in and warmed up to the plan, before the clock."""
    per = shipments_per_scanner(start)
    devices: list[Handheld] = []
    for i in range(len(items) // per):
        mine = items[i * per : (i + 1) * per]
        if len({w["warehouse"] for w in mine}) != 1:
            raise BenchFailure(f"scanner {i}: shipments in different warehouses")
        devices.append(
            Handheld(
                items=mine,
                headers=staff[mine[0]["warehouse"]],
                http=aiohttp.ClientSession(
                    base_url=base_url,
                    connector=aiohttp.TCPConnector(limit=1),
                    timeout=aiohttp.ClientTimeout(total=TIMEOUT),
                ),
            )
        )
    try:
        # Like the scan station page: sign in and open the work list, then scan.
        for device in devices:
            async with device.http.get("/api/v1/shipments", headers=device.headers) as r:
                if r.status != 200:
                    raise BenchFailure(f"work list: HTTP {r.status} {(await r.text())[:200]}")

        await warm_up(len(devices), k, start, lambda i, sh, n: devices[i].scan(sh, n))
        yield devices
    finally:
        await asyncio.gather(*(d.http.close() for d in devices))
