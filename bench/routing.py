"""``python -m bench.routing [--orders N] [--allocations M] [--warehouses 50] [--skus 20]``.

Routing decision time for an order over 50 warehouses, beside the allocation activity's
total time for the same orders.

A seeded world: W warehouses at US and EU cities (jittered, local time zones, some with a
daily capacity and a carrier cut-off) and S SKUs, each stocked at a random ~30 % of the
warehouses, so orders of 3-4 lines often need a split and a few cannot be routed at all.

1. routing: ``domain.routing.route`` (default rules, STANDARD shipping) over those W sites,
   timed call by call for N orders (after a warm-up);
2. allocation: the same warehouses, products, stock and the default rules (stored as
   version 1 in ``rule_sets``) in a scratch database; ``StockActivities.allocate_stock``
   awaited through ``temporalio.testing.ActivityEnvironment`` for the first M orders, one
   at a time, each call timed; the order's reservations are released after each call (not
   timed), so every order sees the stock the routing phase saw. Inside those calls the
   ``route`` call of ``store.allocation`` is timed too, and SQL statements are counted.

Target: routing p50 under 5 % of allocation p50.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.render import command_line
from bench.routing_report import RoutingReport
from bench.routing_timings import WARMUP, seed, time_allocation, time_routing
from bench.routing_world import build_world
from bench.scratch import (
    code_version,
    machine_line,
    redact,
    scratch_database,
    server_info,
    server_url,
)
from bench.stack import log, show_and_record


def measure(args: argparse.Namespace) -> RoutingReport:
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    world = build_world(args.warehouses, args.skus, args.orders, args.seed)
    log(f"routing: {args.orders} orders over {args.warehouses} warehouses ...")
    routing = time_routing(world)
    base = server_url(args.database_url)
    with scratch_database(base, "bench_routing", keep=args.keep_db) as url:
        info = server_info(url)
        log(f"allocation: scratch database on {redact(base)} ({info.version}) ...")
        asyncio.run(seed(url, world))
        count = min(args.allocations, args.orders)
        allocation = asyncio.run(time_allocation(url, world, count, routing))
    n_us = sum(w.country_code == "US" for w in world.warehouses)
    settings = {
        "warehouses": str(args.warehouses),
        "sites": f"{n_us} US + {args.warehouses - n_us} EU cities, jittered, local time zones, "
        "half with a daily capacity of 100000, random 15:00/17:00/no cut-off",
        "skus": f"{args.skus}, each at ~30 % of warehouses, 1-12 units",
        "stocked levels": str(len(world.stock)),
        "orders": "1-4 lines (40/30/20/10 %), 1-3 units each, 70 % US / 30 % EU destinations",
        "rules": "DEFAULT_RULES (stored as version 1 for the activity), STANDARD shipping",
        "warm-up": f"{WARMUP} calls each, not timed",
        "allocation": "sequential, one order at a time, ActivityEnvironment, "
        "release_stock after each (not timed)",
        "seed": str(args.seed),
        "code": code_version(),
    }
    return RoutingReport(
        command=command_line("bench.routing"),
        started_at=started_at,
        machine=machine_line(f"{info.version} (machine server, scratch database)"),
        settings=settings,
        routing=routing,
        allocation=allocation,
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.routing", description=(__doc__ or "").split("\n")[2]
    )
    p.add_argument("--orders", type=int, default=2000, help="routed orders (default 2000)")
    p.add_argument(
        "--allocations", type=int, default=500, help="allocated orders, the first M (default 500)"
    )
    p.add_argument("--warehouses", type=int, default=50, help="warehouses (default 50)")
    p.add_argument("--skus", type=int, default=20, help="SKUs (default 20)")
    p.add_argument("--seed", type=int, default=1, help="world seed (default 1)")
    p.add_argument("--database-url", help="server to create the scratch database on")
    p.add_argument("--out", type=Path, default=Path("bench/runs/routing.jsonl"))
    p.add_argument("--no-record", action="store_true", help="print only; do not append")
    p.add_argument("--keep-db", action="store_true", help="keep the scratch database")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if min(args.orders, args.allocations, args.warehouses, args.skus) < 1:
        log("error: --orders, --allocations, --warehouses and --skus must be >= 1")
        return 2
    try:
        report = measure(args)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    return show_and_record(report, out=None if args.no_record else args.out)


if __name__ == "__main__":
    sys.exit(main())
