"""A client that drives orders through the HTTP API as a real one would under faults.

Shopify redelivers a webhook with the same id, a handheld resends a scan with the same
``scan_id``, a packer packs again, a carrier reposts an event: every step is retried on a
transport error or a 5xx until it gets its answer, with the same keys. What the stack does
with those retries is what the fault suite checks afterwards (``tests/faults/ledgers.py``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import httpx

from bench.bare import TRACKING_STATUSES
from bench.real_workload import RealWorkload
from bench.workload import (
    BARCODES,
    PACKAGING_GRAMS,
    UNITS_PER_ORDER,
    BenchFailure,
    PhaseResult,
    carrier_event,
    order_webhook_headers,
)
from domain.models import ShipmentLine
from domain.packing import expected_weight, weight_window

#: How long one step may keep retrying before the order is reported failed.
STEP_DEADLINE = 240.0
RETRY_PAUSE = 0.5


class ResilientWorkload(RealWorkload):
    """``RealWorkload``'s order, each call retried through faults; counts what it met."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Payment captured through the sandbox gateway (which fails calls), not prepaid.
        self.sample["financial_status"] = "authorized"
        #: Retried answers by kind ("transport", "http 503", ...): the report prints them.
        self.retries: Counter[str] = Counter()
        #: The first few error answers retried, for the report.
        self.answers: list[str] = []
        self.accepted = 0
        self.order_ids: list[str] = []

    async def call(
        self, what: str, method: str, url: str, ok: tuple[int, ...], **kwargs: Any
    ) -> httpx.Response:
        """``method url`` until it answers one of ``ok``; 5xx and transport errors are
        retried, anything else is a failure of the order."""
        deadline = time.monotonic() + STEP_DEADLINE
        while True:
            try:
                r = await self.http.request(method, url, **kwargs)
                if r.status_code in ok:
                    return r
                if r.status_code < 500:
                    raise BenchFailure(f"{method} {url}: HTTP {r.status_code} {r.text[:300]}")
                self.retries[f"{what}: HTTP {r.status_code}"] += 1
                self.answers.append(f"{what} {r.status_code}: {r.text[:200]}")
            except httpx.TransportError as exc:
                self.retries[f"{what}: {type(exc).__name__}"] += 1
            if time.monotonic() > deadline:
                raise BenchFailure(f"{method} {url}: no answer within {STEP_DEADLINE:.0f}s")
            await asyncio.sleep(RETRY_PAUSE)

    async def one(self, result: PhaseResult) -> None:
        payload, created = self._payload()
        body = json.dumps(payload).encode()
        headers = order_webhook_headers(
            body,
            f"faults-{self.run_id}-{self.counter}",
            self.shopify_secret,
            shop="faults.myshopify.com",
        )
        started = time.perf_counter()
        r = await self.call(
            "intake", "POST", "/webhooks/shopify", (200, 202), content=body, headers=headers
        )
        order_id = r.json()["order_id"]
        self.accepted += 1
        self.order_ids.append(order_id)
        shipment_id = f"{order_id}-1"

        item = await self.shipments.wait(shipment_id)
        staff = self.keys.staff[item["warehouse"]]
        lines = [ShipmentLine.model_validate(ln) for ln in item["lines"]]
        url = f"/api/v1/shipments/{shipment_id}"
        n = 0
        for line in lines:
            for _ in range(line.quantity):
                n += 1
                scan = {"barcode": BARCODES[line.sku], "scan_id": f"{shipment_id}-s{n}"}
                await self.call("scan", "POST", f"{url}/scans", (200,), headers=staff, json=scan)
        if n != UNITS_PER_ORDER:
            raise BenchFailure(f"expected {UNITS_PER_ORDER} units, shipment has {n}")

        low, high = weight_window(lines)
        weight = min(max(expected_weight(lines) + PACKAGING_GRAMS, low), high)
        r = await self.call(
            "pack", "POST", f"{url}/pack", (200, 202), headers=staff, json={"weight_grams": weight}
        )
        tracking = r.json().get("tracking")
        deadline = time.monotonic() + STEP_DEADLINE
        while tracking is None:  # 202: the label follows (the carrier is failing calls)
            if time.monotonic() > deadline:
                raise BenchFailure(f"{shipment_id}: no label within {STEP_DEADLINE:.0f}s")
            await asyncio.sleep(1.0)
            r = await self.call("shipment", "GET", url, (200,), headers=staff)
            tracking = r.json().get("tracking")

        for status in TRACKING_STATUSES:
            event, headers = carrier_event(tracking["number"], status, self.carrier_secret)
            await self.call(
                "carrier event",
                "POST",
                f"/webhooks/carriers/{tracking['carrier']}",
                (200, 202),
                content=event,
                headers=headers,
            )

        await self.delivered.wait(order_id, created)
        result.add("order", time.perf_counter() - started)
        if len(result.example_ids) < 3:
            result.example_ids.append(order_id)
