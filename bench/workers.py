"""``python -m bench.workers [--orders N] [--concurrency C] [--waiting W] [--no-record]``.

How the stack scales out on this machine, beside the bare baseline in the same run:
end-to-end orders/s (Shopify webhook → 3 scans → pack → 3 carrier events → delivered) with
1, 2 and 4 worker processes and one API, then with the API as 2 processes (a client that
alternates between them, as a load balancer would) and 2 workers; each as a ratio to the
bare workflow's throughput. Then the worker's resident memory with ``W`` orders waiting at
pick (one worker process: RSS before and after, per waiting order; target < 20 KiB).

Starts a private stack (``bench/stack.py``), records the raw run in
``bench/runs/workers.jsonl`` and ends with one JSON line of headline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from bench.bare import BARE_TASK_QUEUE, BareOrderWorkflow, bare_step
from bench.bare_workload import BareWorkload
from bench.real_workload import Keys, RealWorkload
from bench.run import prepare
from bench.stack import (
    CARRIER_SECRET,
    SHOPIFY_SECRET,
    BenchStack,
    free_ports,
    log,
    record_run,
    run_on_stack,
)
from bench.workload import PhaseResult, order_webhook_headers
from store.db import libpq_url

RSS_TARGET_KIB = 20.0


class RoundRobin(httpx.AsyncBaseTransport):
    """Requests alternate between API processes on ``ports`` (a load balancer's job)."""

    def __init__(self, ports: list[int], limits: httpx.Limits) -> None:
        self.ports = ports
        self.turn = 0
        self.inner = httpx.AsyncHTTPTransport(limits=limits)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.turn += 1
        request.url = request.url.copy_with(port=self.ports[self.turn % len(self.ports)])
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


@dataclass
class Phase:
    name: str
    workers: int
    apis: int
    result: PhaseResult
    load: str

    @property
    def throughput(self) -> float:
        return self.result.throughput


@dataclass
class WorkersReport:
    started_at: str
    orders: int
    concurrency: int
    bare: PhaseResult
    phases: list[Phase] = field(default_factory=list)
    waiting: int = 0
    rss_before_kib: int = 0
    rss_after_kib: int = 0
    #: RSS once half of the waiting orders were in: the growth from there to all of them,
    #: per order, is the marginal cost of one more waiting order (flat: ~0).
    rss_half_kib: int = 0
    max_cached_workflows: int = 0
    heap_sweep_minutes: float = 0.0
    waiting_seconds: float = 0.0
    load_before: str = ""

    @property
    def rss_marginal_kib(self) -> float:
        half = self.waiting - self.waiting // 2
        return (self.rss_after_kib - self.rss_half_kib) / half if half else 0.0

    @property
    def rss_per_waiting_kib(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) / self.waiting if self.waiting else 0.0

    def ratio(self, phase: Phase) -> float:
        return phase.throughput / self.bare.throughput if self.bare.throughput else 0.0

    def table(self) -> str:
        rows = [
            "| phase | workers | API processes | orders/s | ratio to bare | failed"
            " | load (1/5/15 min) |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            f"| bare workflow | (in-process) | - | {self.bare.throughput:.2f} | 1.00 |"
            f" {len(self.bare.failures)} | {self.load_before} |",
        ]
        for p in self.phases:
            rows.append(
                f"| {p.name} | {p.workers} | {p.apis} | {p.throughput:.2f} |"
                f" {self.ratio(p):.2f} | {len(p.result.failures)} | {p.load} |"
            )
        rows.append("")
        rows.append(
            f"worker RSS with {self.waiting} orders waiting at pick:"
            f" {self.rss_before_kib / 1024:.0f} → {self.rss_after_kib / 1024:.0f} MiB,"
            f" **{self.rss_per_waiting_kib:.1f} KiB per"
            f" waiting order** (target < {RSS_TARGET_KIB:g}); intake of those took"
            f" {self.waiting_seconds:.0f}s; from {self.waiting // 2} to {self.waiting} waiting:"
            f" {self.rss_marginal_kib:.1f} KiB per additional order"
            f" (OMS_WORKER_MAX_CACHED_WORKFLOWS={self.max_cached_workflows},"
            f" OMS_WORKER_HEAP_SWEEP_MINUTES={self.heap_sweep_minutes:g})"
        )
        return "\n".join(rows)

    def headline(self) -> dict[str, Any]:
        by = {f"{p.workers}w{p.apis}a": p for p in self.phases}
        return {
            "bench": "workers",
            "started_at": self.started_at,
            "orders": self.orders,
            "concurrency": self.concurrency,
            "bare_orders_per_s": round(self.bare.throughput, 3),
            **{f"ratio_{key}": round(self.ratio(p), 3) for key, p in by.items()},
            **{f"orders_per_s_{key}": round(p.throughput, 3) for key, p in by.items()},
            "waiting_orders": self.waiting,
            "worker_rss_kib_per_waiting_order": round(self.rss_per_waiting_kib, 2),
            "worker_rss_kib_per_additional_waiting_order": round(self.rss_marginal_kib, 2),
            "worker_max_cached_workflows": self.max_cached_workflows,
            "worker_heap_sweep_minutes": self.heap_sweep_minutes,
            "rss_target_met": self.rss_per_waiting_kib < RSS_TARGET_KIB,
            "failures": sum(len(p.result.failures) for p in self.phases) + len(self.bare.failures),
            "load_before": self.load_before,
        }


async def _real_phase(
    stack: BenchStack, keys: Keys, run_id: str, args: argparse.Namespace, ports: list[int]
) -> PhaseResult:
    conns = args.concurrency + 8
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    transport = RoundRobin(ports, limits)
    async with httpx.AsyncClient(
        base_url=stack.api_url, transport=transport, timeout=httpx.Timeout(60.0)
    ) as http:
        load = RealWorkload(
            http, keys, shopify_secret=SHOPIFY_SECRET, carrier_secret=CARRIER_SECRET, run_id=run_id
        )
        return await load.run("real", args.orders, args.concurrency)


def _set_workers(stack: BenchStack, count: int) -> None:
    assert stack.dev is not None
    extra = [c.name for c in stack.dev.children if c.name.startswith("worker-")]
    for n in range(len(extra) + 2, count + 1):
        stack.dev.add_replica(f"worker-{n}", like="worker")
    for name in sorted(extra, reverse=True)[: max(0, len(extra) + 1 - count)]:
        stack.dev.remove_child(name)


async def _hold_at_pick(
    stack: BenchStack, keys: Keys, run_id: str, count: int, concurrency: int
) -> tuple[float, int]:
    """``count`` orders taken in and left waiting at pick; returns (seconds, waiting)."""
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:
        load = RealWorkload(
            http, keys, shopify_secret=SHOPIFY_SECRET, carrier_secret=CARRIER_SECRET, run_id=run_id
        )
        ids: list[str] = []
        #: webhooks not taken in, by answer: printed, so a short intake says why
        refused: Counter[str] = Counter()
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(count):
            queue.put_nowait(i)

        async def slot() -> None:
            while not queue.empty():
                queue.get_nowait()
                payload, _ = load._payload()
                body = json.dumps(payload).encode()
                r = await http.post(
                    "/webhooks/shopify",
                    content=body,
                    headers=order_webhook_headers(
                        body, f"wait-{run_id}-{load.counter}", SHOPIFY_SECRET
                    ),
                )
                if r.status_code == 202:
                    ids.append(r.json()["order_id"])
                else:
                    refused[f"{r.status_code} {r.text[:120]}"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(slot() for _ in range(concurrency)))
        for answer, n in refused.most_common(5):
            log(f"  {n} webhooks not taken in: {answer}")
        # Waiting at pick: the shipment's row is open and its workflow runs (work list).
        url = libpq_url(stack.database_url)
        deadline = time.monotonic() + 60 + count * 0.5
        waiting = 0
        while time.monotonic() < deadline:
            async with await psycopg.AsyncConnection.connect(url) as conn:
                cur = await conn.execute(
                    "SELECT count(*) FROM shipments WHERE order_id = ANY(%s) AND status = 'open'",
                    (ids,),
                )
                row = await cur.fetchone()
            waiting = int(row[0]) if row else 0
            if waiting >= len(ids):
                break
            await asyncio.sleep(2)
        # Let the worker finish the tasks that follow (projection writes, notifications).
        await asyncio.sleep(10)
        return time.perf_counter() - started, waiting


async def measure(stack: BenchStack, args: argparse.Namespace) -> WorkersReport:
    assert stack.settings is not None and stack.dev is not None
    run_id = str(int(time.time()))
    if args.rss_only:
        args.orders = 0
    phases = [] if args.rss_only else [(1, 1), (2, 1), (4, 1), (2, 2)]
    report_cache = stack.settings.worker_max_cached_workflows
    keys, _ = await prepare(stack.database_url, args.orders * (len(phases) + 1) + args.waiting)
    client = await Client.connect(
        stack.settings.temporal_address, data_converter=pydantic_data_converter
    )
    report = WorkersReport(
        started_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        orders=args.orders,
        concurrency=args.concurrency,
        bare=PhaseResult("bare", 0, 0),
        load_before=load_average(),
        max_cached_workflows=report_cache,
        heap_sweep_minutes=stack.settings.worker_heap_sweep_minutes,
    )
    log(f"bare: {args.orders} orders, {args.concurrency} in flight (load {report.load_before}) ...")
    async with Worker(
        client, task_queue=BARE_TASK_QUEUE, workflows=[BareOrderWorkflow], activities=[bare_step]
    ):
        report.bare = await BareWorkload(client, run_id).run("bare", args.orders, args.concurrency)
    log(f"  {report.bare.throughput:.2f} orders/s")

    api_ports = [stack.settings.api_port]
    for workers, apis in phases:
        _set_workers(stack, workers)
        if apis == 2 and len(api_ports) == 1:
            (port,) = free_ports(1)
            stack.dev.add_replica("api-2", like="api", env={"OMS_API_PORT": str(port)})
            await _wait_ready(f"http://127.0.0.1:{port}/readyz")
            api_ports.append(port)
        name = f"{workers} worker{'s' if workers > 1 else ''}, {apis} API"
        log(f"real: {name}: {args.orders} orders, {args.concurrency} in flight ...")
        load = load_average()
        result = await _real_phase(stack, keys, f"{run_id}{workers}{apis}", args, api_ports)
        report.phases.append(Phase(name, workers, apis, result, load))
        log(f"  {result.throughput:.2f} orders/s, {len(result.failures)} failed")
        for failure in result.failures[:3]:
            log(f"    {failure}")

    if args.waiting:
        if "api-2" in {c.name for c in stack.dev.children}:
            stack.dev.remove_child("api-2")
        _set_workers(stack, 1)
        # A fresh worker process: its RSS is then the start-up heap plus what waits.
        stack.dev.restart_child("worker")
        await asyncio.sleep(15)
        worker = stack.child("worker")
        assert worker is not None
        report.rss_before_kib = rss_kib(worker.proc.pid)
        log(f"waiting: {args.waiting} orders to pick (worker RSS {report.rss_before_kib} KiB) ...")
        await _lift_daily_capacity(stack)
        half = args.waiting // 2
        seconds, first = await _hold_at_pick(stack, keys, f"{run_id}8", half, 32)
        report.rss_half_kib = rss_kib(worker.proc.pid)
        log(f"  {first} waiting, worker RSS {report.rss_half_kib} KiB")
        more, second = await _hold_at_pick(stack, keys, f"{run_id}9", args.waiting - half, 32)
        report.waiting, report.waiting_seconds = first + second, seconds + more
        report.rss_after_kib = rss_kib(worker.proc.pid)
        log(f"  {report.waiting} waiting, worker RSS {report.rss_after_kib} KiB")
    return report


async def _lift_daily_capacity(stack: BenchStack) -> None:
    """No daily cap on the warehouses: the demo's (1,800 orders a day in all) would
    backorder the rest, and the figure is about orders waiting at pick."""
    async with await psycopg.AsyncConnection.connect(libpq_url(stack.database_url)) as conn:
        await conn.execute("UPDATE warehouses SET daily_capacity = NULL")
        await conn.commit()


async def _wait_ready(url: str) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        for _ in range(300):
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError(f"{url} never became ready")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__.split("\n")[0])
    p.add_argument("--orders", type=int, default=100, help="orders per phase (default 100)")
    p.add_argument("--concurrency", type=int, default=16, help="orders in flight (default 16)")
    p.add_argument(
        "--waiting", type=int, default=10_000, help="orders left at pick for the RSS figure"
    )
    p.add_argument(
        "--out", type=Path, default=Path("bench/runs/workers.jsonl"), help="raw runs (JSON lines)"
    )
    p.add_argument(
        "--rss-only", action="store_true", help="only the RSS figure (no throughput phases)"
    )
    p.add_argument("--no-record", action="store_true", help="print only; do not record the run")
    p.add_argument("--keep", action="store_true", help="keep the temp dir with the logs")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    outcome = run_on_stack(lambda stack: measure(stack, args), keep=args.keep)
    if isinstance(outcome, int):
        return outcome
    report = outcome
    log("")
    log(report.table())
    headline = report.headline()
    if not args.no_record:
        command = ".venv/bin/python -m bench.workers " + " ".join(
            sys.argv[1:] if argv is None else argv
        )
        record_run(args.out, headline, f"`{command}`\n\n{report.table()}")
        log(f"\nrecorded in {args.out}")
    print(json.dumps(headline), flush=True)
    return 1 if headline["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
