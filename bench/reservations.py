"""``python -m bench.reservations [--clients 64] [--processes P] [--count N | --duration S]``.

Reservation throughput on Postgres for a few hot SKUs, beside a plain single-row UPDATE on
the same database in the same run.

- real, try_reserve: one transaction per reservation of one unit, as ``activities/stock.py``
  made them until it routed with ``domain.routing``: ``async with sessions.begin()`` around
  ``store.inventory.try_reserve`` (the guarded ``UPDATE inventory_levels``, the
  ``inventory_outbox`` row ``note_change`` adds and the ``reservations`` row); a False
  answer raises inside the block, so it rolls back.
- real, reserve_plan: what ``allocate_stock`` commits now (``StockActivities._reserve``):
  ``store.allocation.reserve_plan`` for a one-shipment plan (the same three rows plus the
  warehouse's capacity slot in ``warehouse_daily_load``) and ``resolve_backorder``, on SKUs
  of its own with the same stock and plans.
- bare: ``UPDATE bench_counter SET qty = qty - 1 WHERE id = :id``, one transaction each,
  through the same engine settings (``store.db.create_engine``), the same session factory
  and the same clients, on one row per (SKU, warehouse) level, so every side contends on
  the same number of hot rows, visited in the same order.

The C clients are asyncio tasks spread over P processes (default: one per CPU), each
process with its own engine (pool = its clients), for every side alike. The sides take
turns in R rounds (bare, try_reserve, reserve_plan, bare, ...), each round a share of every
client's plan, so load from elsewhere on the machine hits all of them. Hot SKUs are stocked
so that, with ``--count``, the first SKU runs out at 90 % of its attempts, the second
exactly at its last one and the rest never. Afterwards every level is checked: reserved <=
on_hand, nothing negative, the ``reserved`` column equals the sum of its 'reserved'
reservation rows, one reservation row and one outbox row per committed reservation and none
for a refusal, committed = min(attempts, on_hand); each baseline row went down by exactly
its updates; no warehouse (none has a daily capacity) has a capacity slot taken.

``--variants`` adds diagnostic phases to every round, on their own SKUs with plenty of
stock: try_reserve's rows written by bench-only SQL (Core instead of the ORM; the inserts
before the guarded UPDATE; one statement), to show where the real path's time goes. They
are not the product's path and take no part in the verdict.

Runs on a scratch database (see ``bench/scratch.py``) that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bench.procstat import system_busy
from bench.render import command_line
from bench.reservation_check import check
from bench.reservation_clients import ClientPool, Outcome
from bench.reservation_ops import VARIANTS, Key, counter_id
from bench.reservation_report import ReservationReport, Side
from bench.reservation_seed import (
    counted_plans,
    hot_keys,
    looping_plans,
    rename,
    seed_static,
    seed_stock,
    split_plans,
)
from bench.scratch import (
    BackendCpu,
    all_processes,
    code_version,
    machine_line,
    others,
    redact,
    scratch_database,
    server_info,
    server_url,
)
from bench.stack import log, show_and_record

#: on_hand of hot SKU #i as a share of the attempts its level gets (cycled over the SKUs).
STOCK_FACTORS = (0.9, 1.0, 2.0)
#: Warm-up transactions per client and side (on their own rows, not measured).
WARMUP_PER_CLIENT = 20


WARM_SKU = "BENCH-WARM"


PLENTY = 10**7


def machine_busy_share(seconds: float = 2.0) -> float:
    """How busy the machine is without us (percent of all CPUs), over ``seconds``."""
    b0, t0 = system_busy()
    time.sleep(seconds)
    b1, t1 = system_busy()
    return (b1 - b0) / (t1 - t0) * 100 if t1 > t0 else 0.0


def measure(args: argparse.Namespace) -> ReservationReport:
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    warehouses = [f"BW{j:02d}" for j in range(args.warehouses)]
    keys = hot_keys("BENCH-HOT", args.hot_skus, warehouses)
    hot_skus = sorted({s for s, _ in keys})
    plan_skus = {s: s.replace("BENCH-HOT", "BENCH-PLAN") for s in hot_skus}
    warm = [(WARM_SKU, w) for w in warehouses]
    variant_skus = {
        v: {s: s.replace("BENCH-HOT", f"BENCH-V{n}") for s in hot_skus}
        for n, v in enumerate(VARIANTS if args.variants else ())
    }
    all_skus = [
        *hot_skus,
        *plan_skus.values(),
        WARM_SKU,
        *(s for m in variant_skus.values() for s in m.values()),
    ]
    exact_skus = {*hot_skus, *plan_skus.values()}
    exact = args.duration is None
    base = server_url(args.database_url)
    idle = machine_busy_share()
    with scratch_database(base, "bench_reserve", keep=args.keep_db) as url:
        info = server_info(url)
        log(f"scratch database on {redact(base)}: {info.version}; machine {idle:.0f} % busy")
        asyncio.run(seed_static(url, warehouses, all_skus))
        plenty = {(s, w): PLENTY for s in all_skus if s not in exact_skus for w in warehouses}
        asyncio.run(seed_stock(url, plenty))
        backends = BackendCpu(url)
        pool = ClientPool(url, args.processes, args.clients)
        by_sku: dict[str, Outcome] = {}
        counters: Counter[str] = Counter()
        real, plan, bare = Side("try_reserve"), Side("reserve_plan"), Side("bare")
        variants: list[Side] = []
        try:
            warm_plans = [
                [warm[(c + i) % len(warm)] for i in range(WARMUP_PER_CLIENT)]
                for c in range(args.clients)
            ]
            log(f"warm-up: {WARMUP_PER_CLIENT} transactions per client, each side ...")
            warm_bare = pool.run("bare", warm_plans, None, "warm-bare")
            warm_real = pool.run("real", warm_plans, None, "warm-real")
            warm_plan = pool.run("plan", warm_plans, None, "warm-plan")
            warm_both = Outcome()
            warm_both.merge(warm_real)
            warm_both.merge(warm_plan)
            by_sku[WARM_SKU] = warm_both
            counters.update({counter_id(k): n for k, n in warm_bare.committed.items()})
            if exact:
                plans = counted_plans(keys, args.count, args.clients, args.seed)
                per_level = Counter(k for plan in plans for k in plan)
            else:
                plans = looping_plans(keys, args.clients, args.seed)
                rate = sum(warm_real.committed.values()) / warm_real.elapsed
                guess = rate * args.duration / len(keys)
                per_level = Counter({k: max(1, round(guess)) for k in keys})
            stock = {
                (sku, w): max(1, round(STOCK_FACTORS[i % len(STOCK_FACTORS)] * per_level[(s, w)]))
                for i, s in enumerate(hot_skus)
                for sku in (s, plan_skus[s])
                for w in warehouses
            }
            asyncio.run(seed_stock(url, stock))
            pids = backends.pids()
            mine = {os.getpid(), *pool.pids(), *pids}

            def phase(side: Side, op: str, plans: list[list[Key]], tag: str) -> Outcome:
                duration = args.duration / args.rounds if args.duration is not None else None
                procs0 = all_processes()
                pg0, busy0, wall0 = backends.sample(pids), system_busy()[0], time.monotonic()
                outcome = pool.run(op, plans, duration, tag)
                pg1, busy1, wall1 = backends.sample(pids), system_busy()[0], time.monotonic()
                busiest = others(procs0, all_processes(), mine)
                pg = pg1 - pg0 if pg0 is not None and pg1 is not None else None
                side.add(outcome, pg, (busy1 - busy0, wall1 - wall0), busiest)
                log(
                    f"  {op}: {sum(outcome.committed.values())} committed, "
                    f"{sum(outcome.refused.values())} refused, {len(outcome.errors)} errors "
                    f"in {outcome.elapsed:.1f}s"
                )
                return outcome

            pieces = split_plans(plans, args.rounds) if exact else [plans] * args.rounds
            variants.extend(Side(v) for v in variant_skus)
            for r, piece in enumerate(pieces, start=1):
                log(f"round {r}/{args.rounds}: {args.clients} clients over {len(keys)} levels")
                o = phase(bare, "bare", piece, f"bare-{r}")
                counters.update({counter_id(k): n for k, n in o.committed.items()})
                phase(real, "real", piece, f"real-{r}")
                phase(plan, "plan", rename(piece, plan_skus), f"plan-{r}")
                for side in variants:
                    phase(
                        side, side.name, rename(piece, variant_skus[side.name]), f"{side.name}-{r}"
                    )
            for s in hot_skus:
                by_sku[s] = real.outcome
                by_sku[plan_skus[s]] = plan.outcome
            for side in variants:
                for s in variant_skus[side.name].values():
                    by_sku[s] = side.outcome
        finally:
            pool.close()
        # The bench's warehouses have no daily capacity, and a warehouse without one is not
        # counted (store.allocation.take_slot): no plan may leave a slot behind.
        slots = Counter[str]()
        levels, problems = asyncio.run(
            check(url, by_sku, exact_skus if exact else set(), counters, slots)
        )
    real.failures += problems + [f"reserve_plan: {e}" for e in plan.failures]
    for done in variants:
        real.failures += [f"variant {done.name}: {e}" for e in done.failures]
    settings = {
        "clients": str(args.clients),
        "client processes": f"{args.processes} (asyncio tasks, an engine each)",
        "pool": "store.db.create_engine(pool_size=clients of the process), pre-ping on",
        "run": (
            f"--count {args.count} attempts per side" if exact else f"{args.duration}s per side"
        )
        + f" in {args.rounds} rounds (bare, try_reserve, reserve_plan"
        + (", variants" if variants else "")
        + ")",
        "hot levels": f"{args.hot_skus} SKUs x {args.warehouses} warehouses",
        "stock": "on_hand = "
        + ", ".join(f"{STOCK_FACTORS[i % len(STOCK_FACTORS)]:g}x" for i in range(args.hot_skus))
        + (" its level's attempts" if exact else " an estimate from the warm-up rate"),
        "reserve_plan": "its own SKUs, same stock and plans; warehouses without a daily "
        "capacity (no slot is counted)",
        "bare rows": "one bench_counter row per (SKU, warehouse) level, the same plans",
        "warm-up": f"{WARMUP_PER_CLIENT}/client each side on rows of their own",
        "postgres": ", ".join(f"{k}={v}" for k, v in info.settings.items()),
        "code": code_version(),
    }
    return ReservationReport(
        command=command_line("bench.reservations"),
        started_at=started_at,
        machine=machine_line(f"{info.version} (machine server, scratch database)"),
        settings=settings,
        real=real,
        plan=plan,
        bare=bare,
        levels=levels,
        nproc=os.cpu_count() or 1,
        idle_busy=idle,
        variants=variants,
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.reservations", description=(__doc__ or "").split("\n")[2]
    )
    p.add_argument("--clients", type=int, default=64, help="concurrent clients (default 64)")
    p.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="client processes sharing them (default: one per CPU)",
    )
    run = p.add_mutually_exclusive_group()
    run.add_argument("--count", type=int, default=24000, help="attempts per side (default 24000)")
    run.add_argument("--duration", type=float, help="seconds per side instead of --count")
    p.add_argument("--rounds", type=int, default=4, help="alternating rounds (default 4)")
    p.add_argument("--hot-skus", type=int, default=3, help="hot SKUs (default 3)")
    p.add_argument("--warehouses", type=int, default=4, help="warehouses (default 4)")
    p.add_argument("--seed", type=int, default=1, help="shuffle seed (default 1)")
    p.add_argument(
        "--variants", action="store_true", help="add the diagnostic SQL variants (see above)"
    )
    p.add_argument("--database-url", help="server to create the scratch database on")
    p.add_argument("--out", type=Path, default=Path("bench/runs/reservations.jsonl"))
    p.add_argument("--no-record", action="store_true", help="print only; do not append")
    p.add_argument("--keep-db", action="store_true", help="keep the scratch database")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if (
        min(args.clients, args.processes, args.hot_skus, args.warehouses, args.count, args.rounds)
        < 1
    ):
        log("error: --clients, --processes, --hot-skus, --warehouses, --count, --rounds: >= 1")
        return 2
    args.processes = min(args.processes, args.clients)
    try:
        report = measure(args)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    return show_and_record(report, out=None if args.no_record else args.out)


if __name__ == "__main__":
    sys.exit(main())
