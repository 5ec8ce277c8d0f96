"""``python -m bench.scans [--scanners S] [--scans-per-scanner K] [--pace SECONDS]
[--rounds N] [--start steady|herd] [--saturation SECONDS] [--out ...] [--no-record]``.

Scan latency as a person holding a scanner sees it. Starts a private stack (see
``bench/stack.py``) and measures N rounds on it. Each round creates the scanners' orders
through the real Shopify webhook (one SKU x K units each; two per scanner for ``--start
steady``), waits until every shipment is in the work list, and then, on the same Temporal
server in the same run:

1. bare: the same number of ``BareOrderWorkflow`` executions (``bench/bare.py``, no-op
   activities; its ``scan`` Update has a validator like the real pick phase) started
   through the Temporal client, then S concurrent clients each doing K ``execute_update``
   round trips;
2. bare + INSERT: the same again on a fresh set of bare workflows, each Update followed by
   one INSERT of a ``scan_events``-shaped row into the bench's own table
   (``bench_scan_audit``), one autocommit statement on a psycopg pool set up like the
   API's scan store (:class:`AuditLog`): the least a durable, audited scan can cost;
3. real: S concurrent scanners (handhelds: an HTTP client each, signed in first), each
   POSTing K units one after another to ``/api/v1/shipments/{id}/scans`` with a fresh
   ``scan_id`` (anything but 200 fails).

All phases follow the same per-scanner plan (:func:`scan_plan`: where each scanner is in
its work when the clock starts) and schedule (:class:`Pace`: the pause a person takes
between an answer and the next scan).

Saturation (``--saturation SECONDS``, steady start only): right after its paced phase,
each of the real and the bare + INSERT sides goes on with what is left of every scanner's
second shipment (:func:`saturation_plan`) back-to-back, without pauses, until that many
seconds have passed or the shipment is done; scans/s of each, and their ratio.

The phases take turns going first (round 1: bare, bare + INSERT, real; round 2: real,
bare, bare + INSERT; ...), so that none always meets the machine (and the dev server's
SQLite file) in the same state; the percentiles pool every round and the table shows each
round's p99 ratios too (one 20-second phase on two shared cores swung 3.3x-6.4x between
identical runs). Prints a table, appends the raw run to ``bench/runs/scans.jsonl``, ends
with one line of headline JSON and tears the stack down, also on error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import math
import os
import random
import shlex
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, LiteralString

import aiohttp
import httpx
import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from bench.bare import (
    BARE_TASK_QUEUE,
    BareOrder,
    BareOrderWorkflow,
    BareScan,
    BareScanResult,
    bare_step,
)
from bench.procstat import MACHINE_BUSY, OTHER, CpuMeter
from bench.report import Machine, ms, percentile
from bench.run import _pids, prepare
from bench.stack import SHOPIFY_SECRET, BenchStack, log, run_on_stack, show_and_record
from bench.workload import _FALLBACK_SAMPLE, BARCODES, SAMPLE
from integrations.shopify import sign
from oms.devstack import temporal_executable
from oms.heap import freeze_startup_objects
from store.db import autocommit_pool, libpq_url

#: ``(shipment index within the scanner's shipments, unit number 1..K)``
Scan = tuple[int, int]

#: scan_p99 / bare_update_p99 must stay at or below this.
SCAN_P99_TARGET = 1.5
#: scan_p99 / (bare Update + INSERT)_p99 must stay at or below this.
AUDITED_P99_TARGET = 1.3
#: saturation scans/s, real / (bare Update + INSERT), must stay at or above this.
SATURATION_TARGET = 0.6
#: The phases of a round, in the order of round 1; later rounds rotate it.
PHASES = ("bare", "bare+insert", "real")
#: bound on every wait (intake, work list, one scan / Update)
TIMEOUT = 180.0
INTAKE_CONCURRENCY = 16
POLL_INTERVAL = 0.5


class BenchFailure(Exception):
    pass


@dataclass
class Phase:
    name: str
    elapsed: float = 0.0
    #: latency in seconds by kind: "all", "first", "middle", "last"
    samples: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    #: The API's stages (read, update, write) in seconds, from ``Server-Timing`` (real only).
    stages: dict[str, list[float]] = field(default_factory=dict)

    def add_stages(self, spent: dict[str, float]) -> None:
        for stage, seconds in spent.items():
            self.stages.setdefault(stage, []).append(seconds)

    def extend(self, other: Phase) -> None:
        """Pool another round's samples into this phase (percentiles over every round)."""
        self.elapsed += other.elapsed
        for kind, samples in other.samples.items():
            self.samples.setdefault(kind, []).extend(samples)
        for stage, spent in other.stages.items():
            self.stages.setdefault(stage, []).extend(spent)
        self.failures += other.failures

    def add(self, position: int, k: int, seconds: float) -> None:
        kind = "first" if position == 1 else "last" if position == k else "middle"
        self.samples.setdefault("all", []).append(seconds)
        self.samples.setdefault(kind, []).append(seconds)

    def p(self, q: float, kind: str = "all") -> float:
        return percentile(self.samples.get(kind, []), q)

    @property
    def count(self) -> int:
        return len(self.samples.get("all", []))

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed > 0 else 0.0


def ratio(value: float, baseline: float) -> float:
    """``value / baseline``; NaN when either is missing (NaN) or the baseline is 0."""
    if math.isnan(value) or math.isnan(baseline) or not baseline:
        return math.nan
    return value / baseline


def phase_order(number: int) -> tuple[str, ...]:
    """Round ``number``'s phases: :data:`PHASES` rotated by one each round."""
    shift = -(number - 1) % len(PHASES)
    return PHASES[shift:] + PHASES[:shift]


@dataclass(frozen=True)
class Round:
    """One round's own figures: the spread across rounds shows how far one run can be
    trusted on a machine the bench shares with everything it measures."""

    number: int
    order: str  # e.g. "bare, bare+insert, real"
    real_p99: float
    bare_p99: float
    audited_p99: float = math.nan

    @property
    def ratio(self) -> float:
        return ratio(self.real_p99, self.bare_p99)

    @property
    def audited_ratio(self) -> float:
        return ratio(self.real_p99, self.audited_p99)


# --- setup: S orders through the webhook, wait for their shipments ------------------------


async def create_orders(
    http: httpx.AsyncClient, admin: dict[str, str], run_id: str, scanners: int, k: int
) -> list[dict[str, Any]]:
    """S orders of one SKU x K units each; returns their work-list items (one per order)."""
    sample = json.loads(SAMPLE.read_text()) if SAMPLE.exists() else _FALLBACK_SAMPLE
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
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": "bench.myshopify.com",
            "X-Shopify-Webhook-Id": f"scans-{run_id}-{i}",
            "X-Shopify-Hmac-Sha256": sign(body, SHOPIFY_SECRET),
        }
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


# --- the two phases --------------------------------------------------------------------------


@dataclass(frozen=True)
class Pace:
    """How fast a scanner scans: a pause between an answer and the next scan.

    A person holding a scanner reaches for the next unit before scanning it again; even
    scanning a bin of identical items runs at about a scan a second. ``seconds`` is that
    mean pause (each one drawn from 0.5x-1.5x of it) and every scanner starts at a random
    moment within the first pause, so a hundred people don't pull the trigger in the same
    millisecond. ``seconds == 0`` is the other measurement: every scanner a machine
    re-scanning the moment it has an answer, which keeps the two cores saturated and
    measures CPU per scan more than latency. Both phases get the same schedule (seeded by
    the scanner's index), so they offer the same load.
    """

    seconds: float

    def schedule(self, scanner: int, k: int) -> tuple[float, list[float]]:
        """``(start offset, pause after each of the K scans)`` for one scanner."""
        if self.seconds <= 0:
            return 0.0, [0.0] * k
        rng = random.Random(scanner)
        start = rng.uniform(0.0, self.seconds)
        return start, [rng.uniform(0.5, 1.5) * self.seconds for _ in range(k)]


#: Where the scanners are in their work when the clock starts.
STARTS = ("steady", "herd")


def scan_plan(scanner: int, k: int, start: str) -> tuple[list[Scan], list[Scan]]:
    """``(warm-up scans, measured scans)`` of one scanner, as ``(shipment, unit)`` pairs.

    ``herd``: every scanner starts a fresh K-unit shipment when the clock starts, so all S
    first scans (each moving a shipment and its order to ``picking``) land in the first
    pause: a shift whose pickers all start in the same second.

    ``steady``: mid-shift. Each scanner has two shipments; before the clock it has already
    scanned ``u`` units of the first (``u`` uniform in 0..K-1, not measured), then the K
    measured scans finish the first shipment and start the second. First scans then arrive
    at the rate a floor of S people produces them (about S / K per pause), all S scanners
    are busy the whole time, and each still makes exactly K measured scans.
    """
    if start == "herd":
        return [], [(0, n) for n in range(1, k + 1)]
    done = random.Random(f"{scanner}-progress").randrange(k)
    warm = [(0, n) for n in range(1, done + 1)]
    measured = [(0, n) for n in range(done + 1, k + 1)] + [(1, n) for n in range(1, done + 1)]
    return warm, measured


def saturation_plan(scanner: int, k: int, start: str) -> list[Scan]:
    """What is left of a scanner's work after its measured scans: the rest of its second
    shipment (``steady``; 1..K units), scanned back-to-back in the saturation phase.
    ``herd`` leaves nothing (one shipment per scanner, all measured)."""
    if start == "herd":
        return []
    done = len(scan_plan(scanner, k, start)[0])
    return [(1, n) for n in range(done + 1, k + 1)]


def shipments_per_scanner(start: str) -> int:
    return 1 if start == "herd" else 2


#: One scan by one scanner: ``(scanner, shipment, unit)`` → seconds until the answer.
ScanFn = Callable[[int, int, int], Awaitable[float]]


async def warm_up(scanners: int, k: int, start: str, scan: ScanFn) -> None:
    """Every scanner's unmeasured scans (``scan_plan``), then a pause for their moves."""

    async def one(i: int) -> None:
        for shipment, n in scan_plan(i, k, start)[0]:
            await scan(i, shipment, n)

    await asyncio.gather(*(one(i) for i in range(scanners)))
    await asyncio.sleep(2.0)


async def drive(
    name: str,
    scanners: int,
    k: int,
    pace: Pace,
    start: str,
    scan: ScanFn,
    phase: Phase | None = None,
    *,
    saturate: float | None = None,
) -> Phase:
    """The measured part, the same for every phase: each scanner's plan on its schedule.

    ``saturate``: instead, each scanner's :func:`saturation_plan` back-to-back (no pauses),
    starting no scan after that many seconds."""
    phase = phase or Phase(name)
    # The driver's own full GC passes (100-350 ms with 100 clients alive) would stop every
    # scanner's clock at once, in either phase: keep them off the measurement.
    freeze_startup_objects()
    started = time.perf_counter()

    async def scanner(i: int) -> None:
        if saturate is not None:
            for shipment, n in saturation_plan(i, k, start):
                if time.perf_counter() - started >= saturate:
                    return
                phase.add(n, k, await scan(i, shipment, n))
            return
        first, pauses = pace.schedule(i, k)
        await asyncio.sleep(first)
        for m, (shipment, n) in enumerate(scan_plan(i, k, start)[1]):
            if m > 0:
                await asyncio.sleep(pauses[m])
            phase.add(n, k, await scan(i, shipment, n))

    outcomes = await asyncio.gather(*(scanner(i) for i in range(scanners)), return_exceptions=True)
    phase.elapsed = time.perf_counter() - started
    phase.failures += [f"{type(e).__name__}: {e}"[:300] for e in outcomes if e is not None]
    return phase


#: The baseline's audit table: a ``scan_events`` twin (columns, types, unique constraint and
#: indexes) with its own id sequence, in the bench's own database (dropped with it).
AUDIT_DDL: tuple[LiteralString, ...] = (
    "CREATE TABLE bench_scan_audit (LIKE scan_events INCLUDING ALL)",
    "ALTER TABLE bench_scan_audit ALTER COLUMN id DROP DEFAULT",
    "ALTER TABLE bench_scan_audit ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY",
)
#: One scan's row, as the API's ``store/scans.py`` inserts it into ``scan_events``.
AUDIT_INSERT: LiteralString = (
    "INSERT INTO bench_scan_audit (shipment_id, order_id, warehouse, scan_id, station, stage,"
    " key_id, barcode, sku, lot, serial, expiry, quantity, accepted, reason, response)"
    " VALUES (%(shipment_id)s, %(order_id)s, %(warehouse)s, %(scan_id)s, %(station)s,"
    " %(stage)s, %(key_id)s, %(barcode)s, %(sku)s, %(lot)s, %(serial)s, %(expiry)s,"
    " %(quantity)s, %(accepted)s, %(reason)s, %(response)s)"
    " ON CONFLICT (shipment_id, scan_id) DO NOTHING RETURNING id"
)
_AUDIT_SKU = sorted(BARCODES)[0]


def audit_row(workflow_id: str, scan_id: str, result: BareScanResult) -> dict[str, Any]:
    """The values of one bare scan's audit row: the columns a real pick scan fills, with
    the answer stored as the API stores it (``{status_code, body}``)."""
    answer = {
        "status_code": 200,
        "body": {
            "accepted": True,
            "sku": _AUDIT_SKU,
            "picked": result.picked,
            "remaining": result.remaining,
            "shipment_remaining": result.remaining,
            "stage": "pick",
        },
    }
    return {
        "shipment_id": f"{workflow_id}-1",
        "order_id": workflow_id,
        "warehouse": "bench",
        "scan_id": scan_id,
        "station": "bench",
        "stage": "pick",
        "key_id": "bench-staff-key",
        "barcode": BARCODES[_AUDIT_SKU],
        "sku": _AUDIT_SKU,
        "lot": None,
        "serial": None,
        "expiry": None,
        "quantity": 1,
        "accepted": True,
        "reason": None,
        "response": Jsonb(answer),
    }


class AuditLog:
    """The second baseline's write: one INSERT per scan, committed on its own (autocommit),
    on a pool configured like the API's scan store (``store/scans.py``: min 1, max the
    API's pool size, no ping on checkout)."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, database_url: str, *, size: int) -> AsyncIterator[AuditLog]:
        url = libpq_url(database_url)
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            for statement in AUDIT_DDL:
                await conn.execute(statement)
        async with autocommit_pool(
            url,
            size=size,
            name="bench-audit",
            application_name="oms-bench-audit",
            connect_wait=TIMEOUT,
        ) as pool:
            yield cls(pool)

    async def record(self, workflow_id: str, scan_id: str, result: BareScanResult) -> None:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(AUDIT_INSERT, audit_row(workflow_id, scan_id, result))
            if await cursor.fetchone() is None:
                raise BenchFailure(f"audit {workflow_id} {scan_id}: recorded before")


async def start_bare(
    client: Client,
    run_id: str,
    scanners: int,
    k: int,
    start: str,
    audit: AuditLog | None = None,
) -> ScanFn:
    """Each scanner's bare workflows, started and warmed up; returns its scan function:
    the Update, and with ``audit`` the INSERT of its row after it (both on the clock)."""
    per = shipments_per_scanner(start)
    prefix = f"scans-{'audit' if audit else 'bare'}-{run_id}"
    flat = await asyncio.gather(
        *(
            client.start_workflow(
                BareOrderWorkflow.run,
                BareOrder(order_id=f"{prefix}-{i}", units=k),
                id=f"{prefix}-{i}",
                task_queue=BARE_TASK_QUEUE,
            )
            for i in range(scanners * per)
        )
    )

    async def scan(i: int, shipment: int, n: int) -> float:
        handle = flat[i * per + shipment]
        t = time.perf_counter()
        result = await asyncio.wait_for(
            handle.execute_update(
                BareOrderWorkflow.scan, BareScan(scan_id=f"s{n}"), id=f"scan-{n}"
            ),
            TIMEOUT,
        )
        if audit is not None:
            await asyncio.wait_for(audit.record(handle.id, f"s{n}", result), TIMEOUT)
        elapsed = time.perf_counter() - t
        if result.picked != n:
            raise BenchFailure(f"bare {i} scan {n}: picked {result.picked}")
        return elapsed

    await warm_up(scanners, k, start, scan)  # also lets the starts and allocations settle
    return scan


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


# --- report ----------------------------------------------------------------------------------


@dataclass
class ScanReport:
    command: str
    started_at: str
    machine: Machine
    settings: dict[str, str]
    real: Phase
    bare: Phase
    cpu: dict[str, dict[str, float]]
    pace: float = 1.0
    start: str = "steady"
    rounds: list[Round] = field(default_factory=list)
    #: bare Update + one INSERT commit per scan, paced like the others
    audited: Phase = field(default_factory=lambda: Phase("bare+insert"))
    #: back-to-back phases: real scans, and bare Update + INSERT
    saturated_real: Phase = field(default_factory=lambda: Phase("real saturated"))
    saturated_audited: Phase = field(default_factory=lambda: Phase("bare+insert saturated"))
    #: the saturation phases' time bound in seconds (0: not measured)
    saturation: float = 0.0

    @property
    def ratio(self) -> float:
        """scan p99 / bare Update p99."""
        return ratio(self.real.p(99), self.bare.p(99))

    @property
    def audited_ratio(self) -> float:
        """scan p99 / (bare Update + INSERT) p99."""
        return ratio(self.real.p(99), self.audited.p(99))

    @property
    def saturation_ratio(self) -> float:
        """Saturation scans/s, real / (bare Update + INSERT)."""
        if not self.saturated_real.count or not self.saturated_audited.count:
            return math.nan
        return ratio(self.saturated_real.rate, self.saturated_audited.rate)

    def stack_cpu(self, name: str) -> float:
        """CPU seconds per scan of the stack's own processes (bench included, the rest of
        the machine not) in phase ``name``; NaN when not measured."""
        phase = self.phases().get(name)
        spent = self.cpu.get(name)
        if phase is None or not spent or not phase.count:
            return math.nan
        return sum(v for k, v in spent.items() if k not in (MACHINE_BUSY, OTHER)) / phase.count

    def phases(self) -> dict[str, Phase]:
        """Every phase by the name its CPU figures are kept under."""
        return {
            "bare": self.bare,
            "bare+insert": self.audited,
            "real": self.real,
            "bare+insert saturated": self.saturated_audited,
            "real saturated": self.saturated_real,
        }

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        real, bare, audited = self.real, self.bare, self.audited
        rows = [
            ("p50 (ms)", ms(real.p(50)), ms(bare.p(50)), ms(audited.p(50)), ""),
            ("p90 (ms)", ms(real.p(90)), ms(bare.p(90)), ms(audited.p(90)), ""),
            ("p99 (ms)", ms(real.p(99)), ms(bare.p(99)), ms(audited.p(99)), ""),
            (
                "scan p99 / baseline p99",
                "",
                _vs(self.ratio, SCAN_P99_TARGET, "<="),
                _vs(self.audited_ratio, AUDITED_P99_TARGET, "<="),
                "real scan p99 over each baseline's p99",
            ),
        ]
        if len(self.rounds) > 1:
            ratios = sorted(r.ratio for r in self.rounds)
            audited_ratios = sorted(r.audited_ratio for r in self.rounds)
            rows.append(
                (
                    "p99 by round (ms)",
                    " / ".join(ms(r.real_p99) for r in self.rounds),
                    " / ".join(ms(r.bare_p99) for r in self.rounds),
                    " / ".join(ms(r.audited_p99) for r in self.rounds),
                    "ratios vs bare, vs bare+insert: "
                    + ", ".join(
                        f"{r.ratio:.2f}, {r.audited_ratio:.2f} ({r.order})" for r in self.rounds
                    )
                    + f"; spread {ratios[0]:.2f}-{ratios[-1]:.2f}, "
                    f"{audited_ratios[0]:.2f}-{audited_ratios[-1]:.2f}",
                )
            )
        rows.append(("max (ms)", ms(real.p(100)), ms(bare.p(100)), ms(audited.p(100)), ""))
        for kind, label in (("first", "#1"), ("middle", "#2..#K-1"), ("last", "#K")):
            rows.append(
                (
                    f"scan {label} of a shipment p50 / p99 (ms)",
                    f"{ms(real.p(50, kind))} / {ms(real.p(99, kind))}",
                    f"{ms(bare.p(50, kind))} / {ms(bare.p(99, kind))}",
                    f"{ms(audited.p(50, kind))} / {ms(audited.p(99, kind))}",
                    "",
                )
            )
        notes = {"read": "Server-Timing"}
        update = real.stages.get("update", [])
        if update and bare.p(99):
            # The Update as the API sees it, beside the bare one: the scan's own share of
            # Temporal, without the HTTP hop and the Postgres round trips around it.
            notes["update"] = (
                f"Update p99 / bare_update_p99 {percentile(update, 99) / bare.p(99):.2f}"
            )
        for stage, label in (("read", "read"), ("update", "Update"), ("write", "write")):
            spent = real.stages.get(stage, [])
            if spent:
                rows.append(
                    (
                        f"in the API: {label} p50 / p99 (ms)",
                        f"{ms(percentile(spent, 50))} / {ms(percentile(spent, 99))}",
                        "",
                        "",
                        notes.get(stage, ""),
                    )
                )
        rows += [
            ("scans/s (all scanners)", f"{real.rate:.1f}", f"{bare.rate:.1f}",
             f"{audited.rate:.1f}", ""),
            ("scans measured / failed scanners", f"{real.count} / {len(real.failures)}",
             f"{bare.count} / {len(bare.failures)}",
             f"{audited.count} / {len(audited.failures)}", ""),
            ("elapsed (s)", f"{real.elapsed:.1f}", f"{bare.elapsed:.1f}",
             f"{audited.elapsed:.1f}", ""),
        ]  # fmt: skip
        if self.saturation > 0:
            sr, sa = self.saturated_real, self.saturated_audited
            rows += [
                (
                    f"saturation scans/s (back-to-back, <= {self.saturation:g}s)",
                    f"{sr.rate:.1f}",
                    "",
                    f"{sa.rate:.1f}",
                    "real / bare+insert "
                    + _vs(self.saturation_ratio, SATURATION_TARGET, ">="),
                ),
                ("saturation p50 / p99 (ms)", f"{ms(sr.p(50))} / {ms(sr.p(99))}", "",
                 f"{ms(sa.p(50))} / {ms(sa.p(99))}", ""),
                ("saturation scans / elapsed (s)", f"{sr.count} / {sr.elapsed:.1f}", "",
                 f"{sa.count} / {sa.elapsed:.1f}", ""),
            ]  # fmt: skip
            real_cpu = self.stack_cpu("real saturated")
            audited_cpu = self.stack_cpu("bare+insert saturated")
            if not math.isnan(real_cpu) or not math.isnan(audited_cpu):
                rows.append(
                    (
                        "saturation: stack CPU per scan (ms)",
                        ms(real_cpu),
                        "",
                        ms(audited_cpu),
                        f"bare+insert / real {ratio(audited_cpu, real_cpu):.2f}: scans/s if "
                        "CPU alone bounded both (the machine's other work left out)",
                    )
                )
        return rows

    HEADER = ("figure", "real scan (HTTP API)", "bare Update (Temporal)", "bare Update + INSERT",
              "note")  # fmt: skip

    def table(self) -> str:
        rows = [self.HEADER, *self.rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.HEADER))]
        lines = []
        for n, row in enumerate(rows):
            lines.append("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def breakdown(self) -> list[str]:
        if not self.cpu:
            return []
        phases = list(self.cpu)
        counts = {name: phase.count for name, phase in self.phases().items()}
        out = [
            "",
            "CPU seconds per phase (per scan in brackets):",
            "",
            "| process | " + " | ".join(phases) + " |",
            "| --- | " + " | ".join("---" for _ in phases) + " |",
        ]
        names = list(dict.fromkeys(name for ph in phases for name in self.cpu[ph]))
        for name in names:
            cells = []
            for ph in phases:
                n = counts.get(ph, 0)
                v = self.cpu[ph].get(name, 0.0)
                cells.append(f"{v:.1f} ({v / n * 1000:.1f} ms)" if n else f"{v:.1f}")
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        return out

    def markdown(self) -> str:
        m = self.machine
        out = [
            f"## {self.started_at} — scan latency, S={self.settings['S (scanners)']} "
            f"K={self.settings['K (scans per scanner)']} "
            + (f"pace={self.pace:g}s" if self.pace > 0 else "back-to-back (saturation)")
            + f" start={self.start}",
            "",
            f"Command: `{self.command}`",
            "",
            f"Machine: {m.nproc} CPUs ({m.cpu}), {m.memory} RAM, Python {m.python}, "
            f"temporalio {m.temporalio}, {m.temporal_cli}, {m.postgres}",
            "",
            "Settings: " + ", ".join(f"{k}={v}" for k, v in self.settings.items()),
            "",
            "| " + " | ".join(self.HEADER) + " |",
            "| " + " | ".join("---" for _ in self.HEADER) + " |",
            *("| " + " | ".join(row) + " |" for row in self.rows()),
            *self.breakdown(),
        ]
        failures = self.failure_list()
        if failures:
            out += ["", f"Failures ({len(failures)}), first 5:", ""]
            out += [f"- {f}" for f in failures[:5]]
        out.append("")
        return "\n".join(out)

    def headline(self) -> dict[str, Any]:
        scanners = self.settings.get("S (scanners)", "")
        return {
            "bench": "scans",
            "started_at": self.started_at,
            "scanners": int(scanners) if scanners.isdigit() else None,
            "pace_s": self.pace,
            "start": self.start,
            "rounds": len(self.rounds),
            "p99_ratio_vs_update": _figure(self.ratio, 3),
            "p99_ratio_vs_update_insert": _figure(self.audited_ratio, 3),
            "saturation_ratio": _figure(self.saturation_ratio, 3),
            "p99_target_vs_update_insert": AUDITED_P99_TARGET,
            "saturation_target": SATURATION_TARGET,
            "targets_met": self.audited_ratio <= AUDITED_P99_TARGET
            and self.saturation_ratio >= SATURATION_TARGET,
            "real_p99_ms": _figure(self.real.p(99) * 1000, 1),
            "update_p99_ms": _figure(self.bare.p(99) * 1000, 1),
            "update_insert_p99_ms": _figure(self.audited.p(99) * 1000, 1),
            "saturation_s": self.saturation,
            "saturation_real_scans_per_s": _figure(self.saturated_real.rate, 1),
            "saturation_update_insert_scans_per_s": _figure(self.saturated_audited.rate, 1),
            "saturation_stack_cpu_ms_per_scan_real": _figure(
                self.stack_cpu("real saturated") * 1000, 1
            ),
            "saturation_stack_cpu_ms_per_scan_update_insert": _figure(
                self.stack_cpu("bare+insert saturated") * 1000, 1
            ),
            "failures": len(self.failure_list()),
        }

    def failure_list(self) -> list[str]:
        return [f for phase in self.phases().values() for f in phase.failures]


def _vs(value: float, target: float, sense: str) -> str:
    """``1.12 (target <= 1.3: met)``; a missing figure never meets its target."""
    met = value <= target if sense == "<=" else value >= target
    shown = "n/a" if math.isnan(value) else f"{value:.2f}"
    return f"{shown} (target {sense} {target}: {'met' if met else 'MISSED'})"


def _figure(value: float, digits: int) -> float | None:
    """A headline number: rounded, and None (JSON null) instead of NaN."""
    return None if math.isnan(value) else round(value, digits)


# --- driver ----------------------------------------------------------------------------------


async def measure(stack: BenchStack, args: argparse.Namespace) -> ScanReport:
    assert stack.settings is not None
    s, k, rounds = args.scanners, args.scans_per_scanner, args.rounds
    pace, start = Pace(args.pace), args.start
    saturation = args.saturation if start == "steady" else 0.0
    if args.saturation and not saturation:
        log("  no saturation phases with --start herd (no work left after the measured scans)")
    orders = s * shipments_per_scanner(start)
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    base_id = int(time.time())
    keys, pg_version = await prepare(stack.database_url, rounds * orders * k)
    machine = Machine.detect(temporal_executable())
    machine.postgres = f"{pg_version} ({stack.postgres_kind})"
    meter = CpuMeter(_pids(stack))
    cpu: dict[str, dict[str, float]] = {name: {} for name in PHASES}
    if saturation:
        cpu.update({"bare+insert saturated": {}, "real saturated": {}})
    client = await Client.connect(
        stack.settings.temporal_address, data_converter=pydantic_data_converter
    )

    async def measured(name: str, scan: ScanFn, phase: Phase) -> Phase:
        """The paced phase, then (``--saturation``) the back-to-back one, CPU of each."""
        before = meter.sample()
        got = await drive(name, s, k, pace, start, scan, phase=phase)
        _add(cpu[name], CpuMeter.diff(before, meter.sample()))
        what = {"bare": "Updates", "bare+insert": "Updates + INSERTs"}.get(name, "scans")
        log(f"    {got.count} {what} in {got.elapsed:.1f}s, {len(got.failures)} failed")
        if saturation and name != "bare":
            await asyncio.sleep(1.0)  # let the last paced scans' moves finish
            before = meter.sample()
            sat = await drive(f"{name} saturated", s, k, pace, start, scan, saturate=saturation)
            _add(cpu[f"{name} saturated"], CpuMeter.diff(before, meter.sample()))
            log(f"    saturated: {sat.count} {what} in {sat.elapsed:.1f}s ({sat.rate:.1f}/s)")
            saturated[name].extend(sat)
        return got

    async def bare_round(name: str, run_id: str, audit: AuditLog | None) -> Phase:
        log(
            f"  {name}: {s} workflows x {k} sequential scan Updates"
            + (" + INSERT" if audit else "")
            + f", {s} concurrent ..."
        )
        async with Worker(
            client,
            task_queue=BARE_TASK_QUEUE,
            workflows=[BareOrderWorkflow],
            activities=[bare_step],
        ):
            bare_scan = await start_bare(client, run_id, s, k, start, audit)
            return await measured(name, bare_scan, Phase(name))

    async def real_round(items: list[dict[str, Any]]) -> Phase:
        log(f"  real: {s} scanners x {k} sequential POST .../scans ...")
        async with handhelds(stack.api_url, keys.staff, items, k, start) as devices:
            paced = Phase("real")

            async def real_scan(i: int, shipment: int, n: int) -> float:
                seconds = await devices[i].scan(shipment, n)
                if not paced.elapsed:  # the API's stages of the paced scans only
                    paced.add_stages(devices[i].last_stages)
                return seconds

            return await measured("real", real_scan, paced)

    pooled = {name: Phase(name) for name in PHASES}
    saturated = {
        "real": Phase("real saturated"),
        "bare+insert": Phase("bare+insert saturated"),
    }
    results: list[Round] = []
    conns = s + 10
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    async with (
        AuditLog.open(stack.database_url, size=stack.settings.db_pool_size) as audit,
        httpx.AsyncClient(
            base_url=stack.api_url, limits=limits, timeout=httpx.Timeout(TIMEOUT)
        ) as http,
    ):
        for number in range(1, rounds + 1):
            run_id = str(base_id * 100 + number)
            log(f"round {number}/{rounds}: {orders} orders of {k} units through the webhook ...")
            t = time.perf_counter()
            items = await create_orders(http, keys.admin, run_id, orders, k)
            log(f"  {len(items)} shipments in the work list after {time.perf_counter() - t:.1f}s")
            await asyncio.sleep(2.0)  # let the orders' workflows go idle (waiting for scans)
            # The phases take turns going first: none always gets the fresher (or the more
            # written-to) Temporal database.
            order = phase_order(number)
            got: dict[str, Phase] = {}
            for name in order:
                if name == "real":
                    got[name] = await real_round(items)
                else:
                    got[name] = await bare_round(
                        name, run_id, audit if name == "bare+insert" else None
                    )
            results.append(
                Round(
                    number,
                    ", ".join(order),
                    got["real"].p(99),
                    got["bare"].p(99),
                    got["bare+insert"].p(99),
                )
            )
            log(
                f"  round {number}: p99 ratio vs bare {results[-1].ratio:.2f}, "
                f"vs bare+insert {results[-1].audited_ratio:.2f}"
            )
            for name in PHASES:
                pooled[name].extend(got[name])

    settings = {
        "S (scanners)": str(s),
        "K (scans per scanner)": str(k),
        "shipment shape": f"1 SKU x {k} units = {k} scans of 1 unit, fresh scan_id each",
        "start": (
            "steady (mid-shift: 2 shipments per scanner, a random 0..K-1 units of the first "
            "scanned before the clock; K measured scans finish it and start the second)"
            if start == "steady"
            else "herd (every scanner starts a fresh shipment when the clock starts)"
        ),
        "pace": (
            f"{pace.seconds:g}s mean pause between an answer and the next scan "
            f"(0.5x-1.5x), random start within the first pause, same schedule in every phase"
            if pace.seconds > 0
            else "none: each scanner re-scans the moment it has an answer (saturation)"
        ),
        "rounds": f"{rounds}, each: fresh orders via the webhook (all in the work list), then "
        "the three phases, taking turns going first (bare, bare+insert, real; then rotated "
        "by one each round); each phase signs in and warms up before its clock; percentiles "
        "pool every round's scans",
        "bare workflow": "BareOrderWorkflow (bench/bare.py), worker in the bench process",
        "bare + INSERT": "a fresh set of bare workflows; after each Update one INSERT of a "
        "scan_events-shaped row into bench_scan_audit (LIKE scan_events INCLUDING ALL), "
        "autocommit, on a psycopg pool of the API's size in the bench process",
        "saturation": (
            f"after the paced real and bare+insert phases of every round: the rest of each "
            f"scanner's second shipment back-to-back, no scan started after {saturation:g}s; "
            "scans/s = scans / time until the last answer, pooled over the rounds"
            if saturation
            else "not measured"
        ),
        "http client": "one aiohttp.ClientSession (1 keep-alive connection) per scanner",
        "postgres": stack.postgres_kind,
        "uvicorn": "1 process",
        "worker": "1 process, SDK default slots",
    }
    return ScanReport(
        command=_command(),
        started_at=started_at,
        machine=machine,
        settings=settings,
        real=pooled["real"],
        bare=pooled["bare"],
        cpu=cpu,
        pace=pace.seconds,
        start=start,
        rounds=results,
        audited=pooled["bare+insert"],
        saturated_real=saturated["real"],
        saturated_audited=saturated["bare+insert"],
        saturation=saturation,
    )


def _add(total: dict[str, float], more: dict[str, float]) -> None:
    for name, seconds in more.items():
        total[name] = total.get(name, 0.0) + seconds


def _command() -> str:
    prefix = "OMS_BENCH_DATABASE_URL=... " if os.environ.get("OMS_BENCH_DATABASE_URL") else ""
    args = " " + shlex.join(sys.argv[1:]) if sys.argv[1:] else ""
    return prefix + ".venv/bin/python -m bench.scans" + args


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.scans", description=__doc__.split("\n")[0])
    p.add_argument("--scanners", type=int, default=100, help="concurrent scanners (default 100)")
    p.add_argument(
        "--scans-per-scanner", type=int, default=20, help="units per shipment (default 20)"
    )
    p.add_argument(
        "--pace",
        type=float,
        default=1.0,
        help="mean seconds a person takes between an answer and the next scan "
        "(default 1.0; 0 = back-to-back, saturating the machine)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="bare/real pairs on the same stack, alternating which goes first, each with "
        "fresh orders; percentiles pool them (default 3)",
    )
    p.add_argument(
        "--start",
        choices=STARTS,
        default="steady",
        help="steady: scanners mid-shift, first scans spread as on a working floor "
        "(default); herd: every scanner starts a fresh shipment in the same second",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("bench/runs/scans.jsonl"),
        help="raw runs, JSON lines (default bench/runs/scans.jsonl)",
    )
    p.add_argument(
        "--saturation",
        type=float,
        default=4.0,
        help="seconds of back-to-back scans after the paced real and bare+insert phases of "
        "each round, on what is left of every scanner's work (default 4; 0 = none; "
        "--start steady only)",
    )
    p.add_argument("--no-record", action="store_true", help="print only; do not append results")
    p.add_argument(
        "--keep", action="store_true", help="keep the temp dir with the temporal/worker/api logs"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if (
        args.scanners < 1
        or args.scans_per_scanner < 1
        or args.pace < 0
        or args.saturation < 0
        or not 1 <= args.rounds <= 99
    ):
        log(
            "error: --scanners and --scans-per-scanner must be >= 1, --pace and "
            "--saturation >= 0, --rounds 1..99"
        )
        return 2
    outcome = run_on_stack(lambda stack: measure(stack, args), keep=args.keep)
    if isinstance(outcome, int):
        return outcome
    report = outcome
    return show_and_record(report, out=None if args.no_record else args.out)


if __name__ == "__main__":
    sys.exit(main())
