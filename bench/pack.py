"""``python -m bench.pack [--shipments N] [--packers C] [--rounds R] [--failure-rate F]``.

How long ``POST /pack`` takes while the carrier fails ``F`` (default 30 %)
of its calls, against the same packs with the carrier well, **in one run on one stack**
(docs/decisions/0008-the-label-follows-the-pack.md). Each round runs both phases, their
order rotating; a phase restarts the worker with the carrier's failure rate
(``OMS_SANDBOX_CARRIER_FAILURE_RATE``; payments never fail), brings ``N`` orders through the
Shopify webhook and their scans to the packer's hands, then ``C`` packers pack them at a
person's pace (``--pace``: the same seeded schedule in both phases, so both offer the same
load). A packer moves on when the pack answers (200 ``ready`` or 202 ``pending``); the station
follows the label beside it, timed from the pack call.

Besides the latency it counts what must stay true through the outage: one label bought per
shipment (the sandbox carrier's remembered purchases), every label arriving, and the failed
attempts the carrier really made. Ends with one JSON line of headline figures; raw runs go to
``bench/runs/pack.jsonl``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.pack_report import PHASES, Outcome, PackReport, count_outcome
from bench.real_workload import Picked, RealWorkload
from bench.render import command_line
from bench.report import Machine, ms, percentile
from bench.run import prepare
from bench.scan_phases import Pace
from bench.stack import (
    CARRIER_SECRET,
    SANDBOX_LATENCY_MS,
    SHOPIFY_SECRET,
    BenchStack,
    log,
    run_on_stack,
    show_and_record,
)
from bench.workload import LABEL_POLL_INTERVAL, UNITS_PER_ORDER, PhaseResult, run_pool
from oms.devstack import temporal_executable


async def bring_to_pack(load: RealWorkload, n: int, concurrency: int, name: str) -> list[Picked]:
    """``n`` orders from the webhook to every unit scanned (not measured)."""
    picked: list[Picked] = []
    result = PhaseResult(name, n, concurrency)

    async def one(_: int) -> None:
        received = await load.receive(result)
        picked.append(await load.pick(result, received.shipment_id))

    await run_pool(n, concurrency, one, result)
    if result.failures:
        raise RuntimeError(f"{name}: {len(result.failures)} orders failed: {result.failures[0]}")
    return picked


async def pack_all(
    load: RealWorkload, picked: list[Picked], packers: int, pace: Pace, name: str
) -> PhaseResult:
    """``packers`` stations share the parcels; each packs its next one a paced pause after
    the last answer (the same seeded schedule in both phases, so both offer the same load)
    and follows the label beside it, as the scan station page does."""
    result = PhaseResult(name, len(picked), packers)
    labels: list[asyncio.Task[dict[str, Any]]] = []

    async def station(number: int) -> None:
        mine = picked[number::packers]
        start, pauses = pace.schedule(number, len(mine))
        await asyncio.sleep(start)
        for parcel, pause in zip(mine, pauses, strict=True):
            try:
                packed = await load.post_pack(result, parcel)
            except Exception as exc:  # reported, the station carries on
                result.failures.append(f"pack: {type(exc).__name__}: {exc}"[:300])
            else:
                result.completed += 1
                labels.append(asyncio.create_task(load.wait_label(result, packed)))
            await asyncio.sleep(pause)

    started = time.perf_counter()
    await asyncio.gather(*(station(n) for n in range(packers)))
    result.elapsed = time.perf_counter() - started
    for outcome in await asyncio.gather(*labels, return_exceptions=True):
        if isinstance(outcome, BaseException):
            result.failures.append(f"label: {type(outcome).__name__}: {outcome}"[:300])
    return result


async def measure(stack: BenchStack, args: argparse.Namespace) -> PackReport:
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    run_id = str(int(time.time()))
    per_phase = args.shipments + args.warmup
    pace = Pace(args.pace)
    keys, pg_version = await prepare(stack.database_url, 2 * args.rounds * per_phase)
    machine = Machine.detect(temporal_executable())
    machine.postgres = f"{pg_version} ({stack.postgres_kind})"
    report = PackReport(
        command=command_line("bench.pack"),
        started_at=started_at,
        machine=machine,
        settings={
            "shipments per phase (N)": str(args.shipments),
            "packers (C)": str(args.packers),
            "pace": f"{args.pace:g} s mean pause between a station's answer and its next pack"
            " (0.5x-1.5x, seeded per station); labels polled every"
            f" {LABEL_POLL_INTERVAL:g} s as the scan station page does",
            "rounds": f"{args.rounds} (phase order rotating: well first in even rounds)",
            "warm-up packs per phase (not measured)": str(args.warmup),
            "carrier failure rate, failing phase": f"{args.failure_rate:g}",
            "OMS_SANDBOX_LATENCY_MS": f"{list(SANDBOX_LATENCY_MS)}",
            "OMS_PACK_LABEL_WAIT_SECONDS": os.environ.get(
                "OMS_PACK_LABEL_WAIT_SECONDS", "5 (default)"
            ),
            "order shape": f"2 SKUs, {UNITS_PER_ORDER} units, one shipment",
            "postgres": stack.postgres_kind,
        },
        phases={p: [] for p in PHASES},
    )
    conns = 2 * args.packers + 16
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    async with httpx.AsyncClient(
        base_url=stack.api_url, limits=limits, timeout=httpx.Timeout(60.0)
    ) as http:
        load = RealWorkload(
            http, keys, shopify_secret=SHOPIFY_SECRET, carrier_secret=CARRIER_SECRET, run_id=run_id
        )
        try:
            for number in range(args.rounds):
                order = PHASES if number % 2 == 0 else PHASES[::-1]
                for phase in order:
                    rate = args.failure_rate if phase == "failing" else 0.0
                    log(
                        f"round {number + 1}, carrier {phase} ({rate:g}): restarting the worker ..."
                    )
                    stack.restart_worker({"OMS_SANDBOX_CARRIER_FAILURE_RATE": str(rate)})
                    picked = await bring_to_pack(load, per_phase, args.packers, f"{phase} prep")
                    if args.warmup:
                        await pack_all(load, picked[: args.warmup], args.packers, pace, "warm-up")
                    result = await pack_all(
                        load, picked[args.warmup :], args.packers, pace, f"{phase} r{number + 1}"
                    )
                    report.phases[phase].append(result)
                    outcome = await count_outcome(
                        stack.database_url, [p.shipment_id for p in picked]
                    )
                    report.outcomes.setdefault(phase, Outcome()).add(outcome)
                    log(
                        f"  packed {result.completed}/{len(picked) - args.warmup}, pack p99 "
                        f"{ms(percentile(result.samples.get('pack', []), 99))} ms, "
                        f"{len(result.samples.get('pack_202', []))} pending, "
                        f"{outcome.failed_attempts} failed label attempts, "
                        f"{outcome.labels_bought} labels for {outcome.shipments}"
                    )
        finally:
            await load.shipments.close()
            await load.delivered.close()
    return report


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.pack", description=__doc__.split("\n")[0])
    p.add_argument("--shipments", type=int, default=60, help="measured packs per phase (60)")
    p.add_argument("--packers", type=int, default=8, help="pack stations at once (8)")
    p.add_argument("--rounds", type=int, default=3, help="rounds of both phases (3)")
    p.add_argument("--warmup", type=int, default=5, help="unmeasured packs per phase (5)")
    p.add_argument(
        "--pace", type=float, default=1.0, help="mean pause between a station's packs, s (1)"
    )
    p.add_argument(
        "--failure-rate", type=float, default=0.3, help="carrier failures, failing phase (0.3)"
    )
    p.add_argument("--out", type=Path, default=Path("bench/runs/pack.jsonl"))
    p.add_argument("--no-record", action="store_true", help="print only; do not record the run")
    p.add_argument("--keep", action="store_true", help="keep the temp dir with the logs")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.shipments < 1 or args.packers < 1 or args.rounds < 1 or args.warmup < 0:
        log("error: --shipments, --packers and --rounds must be >= 1, --warmup >= 0")
        return 2
    if not 0 <= args.failure_rate <= 1:
        log("error: --failure-rate must be within 0..1")
        return 2
    outcome = run_on_stack(lambda stack: measure(stack, args), keep=args.keep)
    if isinstance(outcome, int):
        return outcome
    return show_and_record(outcome, out=None if args.no_record else args.out)


if __name__ == "__main__":
    sys.exit(main())
