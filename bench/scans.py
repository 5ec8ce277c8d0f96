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
   API's scan store (``bench.scan_baselines.AuditLog``): the least a durable, audited
   scan can cost;
3. real: S concurrent scanners (handhelds: an HTTP client each, signed in first), each
   POSTing K units one after another to ``/api/v1/shipments/{id}/scans`` with a fresh
   ``scan_id`` (anything but 200 fails).

All phases follow the same per-scanner plan (``bench.scan_phases.scan_plan``: where each
scanner is in its work when the clock starts) and schedule (``bench.scan_phases.Pace``: the
pause a person takes between an answer and the next scan).

Saturation (``--saturation SECONDS``, steady start only): right after its paced phase,
each of the real and the bare + INSERT sides goes on with what is left of every scanner's
second shipment (``bench.scan_phases.saturation_plan``) back-to-back, without pauses,
until that many seconds have passed or the shipment is done; scans/s of each, and their
ratio.

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
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from bench.bare import BARE_TASK_QUEUE, BareOrderWorkflow, bare_step
from bench.procstat import CpuMeter
from bench.render import command_line
from bench.report import Machine
from bench.run import _pids, prepare
from bench.scan_baselines import AuditLog, start_bare
from bench.scan_handhelds import create_orders, handhelds
from bench.scan_phases import (
    PHASES,
    STARTS,
    TIMEOUT,
    Pace,
    Phase,
    Round,
    ScanFn,
    drive,
    phase_order,
    shipments_per_scanner,
)
from bench.scan_report import ScanReport
from bench.stack import BenchStack, log, run_on_stack, show_and_record
from oms.devstack import temporal_executable


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
        command=command_line("bench.scans"),
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
