"""``python -m bench.scans [--scanners S] [--scans-per-scanner K] [--out ...] [--no-record]``.

Scan latency as a person holding a scanner sees it. Starts a private stack (see
``bench/stack.py``), creates S orders through the real Shopify webhook whose shipments need
K units each, waits until all S shipments are in the work list, and then, on the same
Temporal server in the same run:

1. bare: S ``BareOrderWorkflow`` executions (``bench/bare.py``, no-op activities; its
   ``scan`` Update has a validator like the real pick phase) started through the Temporal
   client, then S concurrent clients each doing K sequential ``execute_update`` round trips;
2. real: S concurrent scanners, each POSTing its own shipment's K units one after another
   to ``/api/v1/shipments/{id}/scans`` with a fresh ``scan_id`` (anything but 200 fails).

The bare phase runs first, then the real one (as ``bench.run`` does). Prints a table,
appends a dated section to the results file and tears the stack down, also on error.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import math
import os
import shlex
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from bench.bare import BARE_TASK_QUEUE, BareOrder, BareOrderWorkflow, BareScan, bare_step
from bench.procstat import CpuMeter
from bench.report import RESULTS_HEADER, Machine, ms, percentile
from bench.run import _pids, prepare
from bench.stack import SHOPIFY_SECRET, BenchStack, log, run_on_stack, show_and_record
from bench.workload import _FALLBACK_SAMPLE, BARCODES, SAMPLE
from integrations.shopify import sign
from oms.devstack import temporal_executable

#: scan_p99 / bare_update_p99 must stay at or below this.
SCAN_P99_TARGET = 1.5
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


async def bare_phase(client: Client, run_id: str, scanners: int, k: int) -> Phase:
    phase = Phase("bare")
    handles = await asyncio.gather(
        *(
            client.start_workflow(
                BareOrderWorkflow.run,
                BareOrder(order_id=f"scans-bare-{run_id}-{i}", units=k),
                id=f"scans-bare-{run_id}-{i}",
                task_queue=BARE_TASK_QUEUE,
            )
            for i in range(scanners)
        )
    )
    await asyncio.sleep(2.0)  # let the starts and the allocate activities settle

    async def scanner(i: int) -> None:
        handle = handles[i]
        for n in range(1, k + 1):
            t = time.perf_counter()
            result = await asyncio.wait_for(
                handle.execute_update(
                    BareOrderWorkflow.scan, BareScan(scan_id=f"s{n}"), id=f"scan-{n}"
                ),
                TIMEOUT,
            )
            phase.add(n, k, time.perf_counter() - t)
            if result.picked != n:
                raise BenchFailure(f"bare {i} scan {n}: picked {result.picked}")

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(scanner(i) for i in range(scanners)), return_exceptions=True)
    phase.elapsed = time.perf_counter() - started
    phase.failures += [f"{type(e).__name__}: {e}"[:300] for e in outcomes if e is not None]
    return phase


async def _post_like_a_handheld(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any]
) -> httpx.Response:
    """POST a scan; on a dropped connection send the same scan_id again, as the scan
    station page does (a reused keep-alive connection the server had just closed)."""
    for attempt in range(3):
        try:
            return await http.post(url, headers=headers, json=body)
        except (httpx.ReadError, httpx.RemoteProtocolError):
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def real_phase(
    http: httpx.AsyncClient, staff: dict[str, dict[str, str]], items: list[dict[str, Any]], k: int
) -> Phase:
    phase = Phase("real")

    async def scanner(item: dict[str, Any]) -> None:
        sid = item["shipment_id"]
        headers = staff[item["warehouse"]]
        url = f"/api/v1/shipments/{sid}/scans"
        units = [ln["sku"] for ln in item["lines"] for _ in range(int(ln["quantity"]))]
        for n, sku in enumerate(units, start=1):
            body = {"barcode": BARCODES[sku], "scan_id": f"{sid}-s{n}", "station": "bench"}
            t = time.perf_counter()
            r = await _post_like_a_handheld(http, url, headers, body)
            elapsed = time.perf_counter() - t
            if r.status_code != 200:
                raise BenchFailure(f"scan {sid} #{n}: HTTP {r.status_code} {r.text[:200]}")
            phase.add(n, k, elapsed)

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(scanner(w) for w in items), return_exceptions=True)
    phase.elapsed = time.perf_counter() - started
    phase.failures += [f"{type(e).__name__}: {e}"[:300] for e in outcomes if e is not None]
    return phase


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

    @property
    def ratio(self) -> float:
        bare = self.bare.p(99)
        return self.real.p(99) / bare if bare and not math.isnan(bare) else math.nan

    def rows(self) -> list[tuple[str, str, str, str]]:
        real, bare = self.real, self.bare
        ok = "met" if self.ratio <= SCAN_P99_TARGET else "MISSED"
        rows = [
            ("p50 (ms)", ms(real.p(50)), ms(bare.p(50)), ""),
            ("p90 (ms)", ms(real.p(90)), ms(bare.p(90)), ""),
            (
                "p99 (ms)",
                ms(real.p(99)),
                ms(bare.p(99)),
                f"scan_p99 / bare_update_p99 {self.ratio:.2f} (target <= {SCAN_P99_TARGET}: {ok})",
            ),
        ]
        rows.append(("max (ms)", ms(real.p(100)), ms(bare.p(100)), ""))
        for kind, label in (("first", "#1"), ("middle", "#2..#K-1"), ("last", "#K")):
            rows.append(
                (
                    f"scan {label} of a shipment p50 / p99 (ms)",
                    f"{ms(real.p(50, kind))} / {ms(real.p(99, kind))}",
                    f"{ms(bare.p(50, kind))} / {ms(bare.p(99, kind))}",
                    "",
                )
            )
        rows += [
            ("scans/s (all scanners)", f"{real.rate:.1f}", f"{bare.rate:.1f}", ""),
            ("scans measured / failed scanners", f"{real.count} / {len(real.failures)}",
             f"{bare.count} / {len(bare.failures)}", ""),
            ("elapsed (s)", f"{real.elapsed:.1f}", f"{bare.elapsed:.1f}", ""),
        ]  # fmt: skip
        return rows

    def table(self) -> str:
        rows = [("figure", "real scan (HTTP API)", "bare Update (Temporal)", "note"), *self.rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
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
        out = [
            "",
            "CPU seconds per phase (per scan in brackets):",
            "",
            "| process | " + " | ".join(phases) + " |",
            "| --- | " + " | ".join("---" for _ in phases) + " |",
        ]
        for name in self.cpu[phases[0]]:
            cells = []
            for ph in phases:
                n = (self.real if ph == "real" else self.bare).count
                v = self.cpu[ph].get(name, 0.0)
                cells.append(f"{v:.1f} ({v / n * 1000:.1f} ms)" if n else f"{v:.1f}")
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        return out

    def markdown(self) -> str:
        m = self.machine
        out = [
            f"## {self.started_at} — scan latency, S={self.settings['S (scanners)']} "
            f"K={self.settings['K (scans per scanner)']}",
            "",
            f"Command: `{self.command}`",
            "",
            f"Machine: {m.nproc} CPUs ({m.cpu}), {m.memory} RAM, Python {m.python}, "
            f"temporalio {m.temporalio}, {m.temporal_cli}, {m.postgres}",
            "",
            "Settings: " + ", ".join(f"{k}={v}" for k, v in self.settings.items()),
            "",
            "| figure | real scan (HTTP API) | bare Update (Temporal) | note |",
            "| --- | --- | --- | --- |",
            *("| " + " | ".join(row) + " |" for row in self.rows()),
            *self.breakdown(),
        ]
        failures = self.real.failures + self.bare.failures
        if failures:
            out += ["", f"Failures ({len(failures)}), first 5:", ""]
            out += [f"- {f}" for f in failures[:5]]
        out.append("")
        return "\n".join(out)

    def append_to(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text() if path.exists() else RESULTS_HEADER
        if not text.endswith("\n"):
            text += "\n"
        path.write_text(text + "\n" + self.markdown())


# --- driver ----------------------------------------------------------------------------------


async def measure(stack: BenchStack, args: argparse.Namespace) -> ScanReport:
    assert stack.settings is not None
    s, k = args.scanners, args.scans_per_scanner
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    run_id = str(int(time.time()))
    keys, pg_version = await prepare(stack.database_url, s * k)
    machine = Machine.detect(temporal_executable())
    machine.postgres = f"{pg_version} ({stack.postgres_kind})"
    meter = CpuMeter(_pids(stack))
    cpu: dict[str, dict[str, float]] = {}
    client = await Client.connect(
        stack.settings.temporal_address, data_converter=pydantic_data_converter
    )
    conns = s + 10
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    async with httpx.AsyncClient(
        base_url=stack.api_url, limits=limits, timeout=httpx.Timeout(TIMEOUT)
    ) as http:
        log(f"setup: {s} orders of {k} units through the Shopify webhook ...")
        t = time.perf_counter()
        items = await create_orders(http, keys.admin, run_id, s, k)
        log(f"  {len(items)} shipments in the work list after {time.perf_counter() - t:.1f}s")
        await asyncio.sleep(2.0)  # let the orders' workflows go idle (waiting for scans)

        log(f"bare: {s} workflows x {k} sequential scan Updates, {s} concurrent ...")
        async with Worker(
            client,
            task_queue=BARE_TASK_QUEUE,
            workflows=[BareOrderWorkflow],
            activities=[bare_step],
        ):
            before = meter.sample()
            bare = await bare_phase(client, run_id, s, k)
            cpu["bare"] = CpuMeter.diff(before, meter.sample())
        log(f"  {bare.count} Updates in {bare.elapsed:.1f}s, {len(bare.failures)} failed")

        log(f"real: {s} scanners x {k} sequential POST .../scans ...")
        before = meter.sample()
        real = await real_phase(http, keys.staff, items, k)
        cpu["real"] = CpuMeter.diff(before, meter.sample())
        log(f"  {real.count} scans in {real.elapsed:.1f}s, {len(real.failures)} failed")

    settings = {
        "S (scanners)": str(s),
        "K (scans per scanner)": str(k),
        "shipment shape": f"1 SKU x {k} units = {k} scans of 1 unit, fresh scan_id each",
        "phase order": "setup (S orders via webhook, all in work list), bare, then real",
        "bare workflow": "BareOrderWorkflow (bench/bare.py), worker in the bench process",
        "http client": f"one httpx.AsyncClient, max_connections={conns}",
        "postgres": stack.postgres_kind,
        "uvicorn": "1 process",
        "worker": "1 process, SDK default slots",
    }
    return ScanReport(
        command=_command(),
        started_at=started_at,
        machine=machine,
        settings=settings,
        real=real,
        bare=bare,
        cpu=cpu,
    )


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
        "--out",
        type=Path,
        default=Path("bench/RESULTS.md"),
        help="results file to append to (default bench/RESULTS.md)",
    )
    p.add_argument("--no-record", action="store_true", help="print only; do not append results")
    p.add_argument(
        "--keep", action="store_true", help="keep the temp dir with the temporal/worker/api logs"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.scanners < 1 or args.scans_per_scanner < 1:
        log("error: --scanners and --scans-per-scanner must be >= 1")
        return 2
    outcome = run_on_stack(lambda stack: measure(stack, args), keep=args.keep)
    if isinstance(outcome, int):
        return outcome
    report = outcome
    return show_and_record(report, out=None if args.no_record else args.out)


if __name__ == "__main__":
    sys.exit(main())
