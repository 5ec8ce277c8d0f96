"""``python -m bench.run [--orders N] [--concurrency C] [--no-record]``.

Starts a private stack (see ``bench/stack.py``), runs the bare baseline and then the real
workload with the same N and C on the same Temporal server, prints a table, records the raw
run in ``bench/runs/orders.jsonl`` and tears everything down, also on error or SIGTERM. The
last line on stdout is the headline as JSON (``ratio``, ``events_per_order``,
``workflow_tasks_per_order``, ``cpu_ms_per_order``...).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import text
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from bench.bare import BARE_TASK_QUEUE, BareOrderWorkflow, bare_step
from bench.bare_workload import BareWorkload
from bench.procstat import CpuMeter, CpuSample
from bench.real_workload import Keys, RealWorkload
from bench.render import command_line
from bench.report import Machine, Report
from bench.stack import (
    CARRIER_SECRET,
    SANDBOX_FAILURE_RATE,
    SANDBOX_LATENCY_MS,
    SHOPIFY_SECRET,
    BenchStack,
    log,
    run_on_stack,
    show_and_record,
)
from bench.workload import SIGNALS_PER_ORDER, UNITS_PER_ORDER, UPDATES_PER_ORDER
from oms.devstack import temporal_executable
from oms.seed import PRODUCTS, WAREHOUSES
from store import inventory
from store.db import create_engine, sessionmaker
from store.keys import create_key


async def prepare(database_url: str, total_orders: int) -> tuple[Keys, str]:
    """Plenty of stock (nothing backorders) and the keys the workload uses."""
    engine = create_engine(database_url, pool_size=2)
    try:
        async with sessionmaker(engine)() as session, session.begin():
            delta = total_orders * UNITS_PER_ORDER + 1000
            for w in WAREHOUSES:
                for p in PRODUCTS:
                    await inventory.adjust(
                        session,
                        sku=p.sku,
                        warehouse=w.code,
                        delta=delta,
                        reason="bench stock",
                        actor="bench",
                    )
            admin, _ = await create_key(session, "admin", name="bench admin")
            integration, _ = await create_key(session, "integration", name="bench reader")
            staff = {}
            for w in WAREHOUSES:
                key, _ = await create_key(session, "staff", w.code, name=f"bench {w.code}")
                staff[w.code] = {"Authorization": f"Bearer {key}"}
            version = str(await session.scalar(text("SHOW server_version")))
        return (
            Keys(
                admin={"Authorization": f"Bearer {admin}"},
                integration={"Authorization": f"Bearer {integration}"},
                staff=staff,
            ),
            f"PostgreSQL {version}",
        )
    finally:
        await engine.dispose()


async def history_counts(client: Client, workflow_id: str) -> dict[str, int]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    counts: Counter[str] = Counter()
    for event in history.events:
        counts[EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")] += 1
    counts["(total events)"] = len(history.events)
    return dict(counts)


def _pids(stack: BenchStack) -> dict[str, tuple[int, bool]]:
    pids: dict[str, tuple[int, bool]] = {}
    for name, label in (
        ("temporal", "temporal dev server"),
        ("worker", "oms worker"),
        ("api", "oms api (uvicorn)"),
    ):
        child = stack.child(name)
        if child is not None:
            pids[label] = (child.proc.pid, False)
    pg = stack.dev.postgres if stack.dev is not None else None
    if pg is not None:
        try:
            pid = int((Path(pg.pgdata) / "postmaster.pid").read_text().split()[0])
            pids["postgres (embedded)"] = (pid, True)
        except (OSError, ValueError, IndexError):
            pass
    return pids


async def measure(stack: BenchStack, args: argparse.Namespace) -> Report:
    assert stack.settings is not None
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    run_id = str(int(time.time()))
    warmup = args.warmup
    keys, pg_version = await prepare(stack.database_url, 2 * (args.orders + warmup))
    machine = Machine.detect(temporal_executable())
    machine.postgres = f"{pg_version} ({stack.postgres_kind})"
    meter = CpuMeter(_pids(stack))
    cpu: dict[str, dict[str, float]] = {}

    client = await Client.connect(
        stack.settings.temporal_address, data_converter=pydantic_data_converter
    )

    # 1. the bare baseline, with a worker in this process on its own task queue.
    log(f"bare: {warmup} warm-up + {args.orders} orders, {args.concurrency} in flight ...")
    async with Worker(
        client, task_queue=BARE_TASK_QUEUE, workflows=[BareOrderWorkflow], activities=[bare_step]
    ):
        bare_load = BareWorkload(client, run_id)
        if warmup:
            await bare_load.run("bare warm-up", warmup, min(warmup, args.concurrency))
        before: CpuSample = meter.sample()
        bare = await bare_load.run("bare", args.orders, args.concurrency)
        cpu["bare"] = CpuMeter.diff(before, meter.sample())
    log(f"  {bare.completed} done in {bare.elapsed:.1f}s, {len(bare.failures)} failed")

    # 2. the real workload through the HTTP API.
    log(f"real: {warmup} warm-up + {args.orders} orders, {args.concurrency} in flight ...")
    conns = args.concurrency + 8
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    async with httpx.AsyncClient(
        base_url=stack.api_url, limits=limits, timeout=httpx.Timeout(60.0)
    ) as http:
        real_load = RealWorkload(
            http,
            keys,
            shopify_secret=SHOPIFY_SECRET,
            carrier_secret=CARRIER_SECRET,
            run_id=run_id,
        )
        if warmup:
            await real_load.run("real warm-up", warmup, min(warmup, args.concurrency))
        before = meter.sample()
        real = await real_load.run("real", args.orders, args.concurrency)
        cpu["real"] = CpuMeter.diff(before, meter.sample())
    log(f"  {real.completed} done in {real.elapsed:.1f}s, {len(real.failures)} failed")

    histories: dict[str, dict[str, int]] = {}
    try:
        if real.example_ids:
            oid = real.example_ids[0]
            histories["OrderWorkflow"] = await history_counts(client, f"order-{oid}")
            histories["FulfillmentWorkflow"] = await history_counts(client, f"ful-{oid}-1")
        if bare.example_ids:
            histories["BareOrderWorkflow"] = await history_counts(client, bare.example_ids[0])
    except Exception as exc:  # the figures matter more than the breakdown
        log(f"  (history breakdown unavailable: {exc})")

    settings = {
        "N": str(args.orders),
        "C": str(args.concurrency),
        "warm-up orders (not measured)": str(warmup),
        "order shape": f"2 SKUs x (2, 1) = {UNITS_PER_ORDER} scans, {UPDATES_PER_ORDER} Updates "
        f"(scans + pack), {SIGNALS_PER_ORDER} carrier Signals",
        "OMS_SANDBOX_LATENCY_MS": f"{list(SANDBOX_LATENCY_MS)}",
        "OMS_SANDBOX_FAILURE_RATE": f"{SANDBOX_FAILURE_RATE} (no injected failures)",
        "phase order": "bare first, then real",
        "postgres": stack.postgres_kind,
        "uvicorn": "1 process, log level info",
        "worker": "1 process, SDK default slots",
    }
    return Report(
        command=command_line("bench.run"),
        started_at=started_at,
        machine=machine,
        settings=settings,
        real=real,
        bare=bare,
        cpu=cpu,
        histories=histories,
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--orders", type=int, default=200, help="orders per phase (default 200)")
    p.add_argument("--concurrency", type=int, default=16, help="orders in flight (default 16)")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("bench/runs/orders.jsonl"),
        help="raw runs, JSON lines (default bench/runs/orders.jsonl)",
    )
    p.add_argument(
        "--warmup",
        type=int,
        default=10,
        help="unmeasured orders per phase before measuring (default 10)",
    )
    p.add_argument("--no-record", action="store_true", help="print only; do not record the run")
    p.add_argument(
        "--keep", action="store_true", help="keep the temp dir with the temporal/worker/api logs"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.orders < 1 or args.concurrency < 1 or args.warmup < 0:
        log("error: --orders and --concurrency must be >= 1, --warmup >= 0")
        return 2
    outcome = run_on_stack(lambda stack: measure(stack, args), keep=args.keep)
    if isinstance(outcome, int):
        return outcome
    report = outcome
    return show_and_record(report, out=None if args.no_record else args.out)


if __name__ == "__main__":
    sys.exit(main())
