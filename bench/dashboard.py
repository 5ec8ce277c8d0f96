"""The dashboard's reads at 10,000 and 1,000,000 orders, and the live stream's fan-out.

The read model is seeded straight in SQL (``generate_series``; no workflows), then the
API runs in its own process (uvicorn, a Temporal client it never calls) and this process
measures over real HTTP, one request at a time:

- the list: first page unfiltered, by status, by tag, free text (a SKU, an email), a page
  deep in the list (its cursor), priority first;
- the status counts;
- the CSV export: time to the first 1,000 rows of an unfiltered export (the latency a
  person waits for), and once, a whole tag-filtered export (rows/s, the API's peak RSS);
- the SSE fan-out: 50 open streams, orders updated one at a time in SQL; latency from the
  UPDATE's commit to each stream's receipt of that order's event.

Target: p95 at 1M ≤ 1.5 x p95 at 10k for every read; fan-out p99 ≤ 1 s with 50 streams.
Ends with one JSON line of the headline figures; the raw run goes to ``bench/runs/``.

    .venv/bin/python -m bench.dashboard [--sizes 10000,1000000] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from bench.dashboard_api import admin_key, rss_kb, start_api, summary, timed_get
from bench.dashboard_seed import seed
from bench.scratch import (
    code_version,
    machine_line,
    record_seeded_run,
    redact,
    scratch_database,
    server_info,
    server_url,
)
from store.db import libpq_url

STREAMS = 50
CHANGES = 100


@dataclass
class Target:
    """One seeded database and the API process serving it."""

    n: int
    url: str
    base: str
    key: str
    pid: int


def cases_for(n: int, deep_cursor: str | None) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        "list": ("/api/v1/orders", {}),
        "list_deep_page": ("/api/v1/orders", {"cursor": deep_cursor}),
        "list_status": ("/api/v1/orders", {"status": "on_hold"}),
        "list_tag": ("/api/v1/orders", {"tag": "tag-7"}),
        "list_priority_first": ("/api/v1/orders", {"sort": "priority"}),
        "search_sku": ("/api/v1/orders", {"q": "SKU-01234"}),
        "search_email": ("/api/v1/orders", {"q": f"buyer{n // 2}@"}),
        "search_tracking": ("/api/v1/orders", {"q": f"1ZB{(n // 2 // 5 * 5):012d}"}),
        "counts": ("/api/v1/orders/counts", {}),
    }


async def csv_first_rows(http: httpx.AsyncClient, rows: int = 1000) -> float:
    t = time.perf_counter()
    async with http.stream("GET", "/api/v1/orders.csv") as r:
        lines = 0
        async for chunk in r.aiter_text():
            lines += chunk.count("\n")
            if lines > rows:
                break
    return (time.perf_counter() - t) * 1000


async def measure_reads(targets: list[Target], requests: int) -> list[dict[str, Any]]:
    """Every case on every size, the sizes taking turns request by request: whatever else
    the machine does meanwhile (2 cores, other people's tests) falls on all sizes alike."""
    clients = [
        httpx.AsyncClient(
            base_url=t.base, headers={"Authorization": f"Bearer {t.key}"}, timeout=120
        )
        for t in targets
    ]
    try:
        cases = []
        for http, t in zip(clients, targets, strict=True):
            cursor = None
            for _ in range(20):  # a cursor 20 pages deep
                params = {"limit": 50, **({"cursor": cursor} if cursor else {})}
                cursor = (await http.get("/api/v1/orders", params=params)).json()["next_cursor"]
            cases.append(cases_for(t.n, cursor))
        samples: list[dict[str, list[float]]] = [{} for _ in targets]
        for name in cases[0]:
            for http, case in zip(clients, cases, strict=True):
                for _ in range(5):
                    await timed_get(http, *case[name])  # warm
            for _ in range(requests):
                for i, (http, case) in enumerate(zip(clients, cases, strict=True)):
                    samples[i].setdefault(name, []).append(await timed_get(http, *case[name]))
        for _ in range(max(requests // 4, 20)):
            for i, http in enumerate(clients):
                samples[i].setdefault("csv_first_1000_rows", []).append(await csv_first_rows(http))
    finally:
        for http in clients:
            await http.aclose()
    return [{name: summary(ms) for name, ms in per.items()} for per in samples]


async def measure_csv_full(base: str, key: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as http:
        t = time.perf_counter()
        rows = 0
        async with http.stream("GET", "/api/v1/orders.csv", params={"tag": "tag-7"}) as r:
            async for chunk in r.aiter_text():
                rows += chunk.count("\n")
        took = time.perf_counter() - t
    return {"rows": rows - 1, "seconds": round(took, 2), "rows_per_s": round((rows - 1) / took)}


async def measure_fanout(base: str, key: str, url: str, n: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    received: dict[str, list[float]] = {}
    ready = 0
    delivered = 0
    expected = 0
    all_ready, all_in, stop = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def reader(http: httpx.AsyncClient) -> None:
        nonlocal ready, delivered
        async with http.stream("GET", "/api/v1/stream") as r:
            event = None
            async for line in r.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "ready":
                    ready += 1
                    if ready == STREAMS:
                        all_ready.set()
                elif line.startswith("data:") and event == "order":
                    oid = json.loads(line[5:])["order_id"]
                    received.setdefault(oid, []).append(time.perf_counter())
                    delivered += 1
                    if expected and delivered >= expected:
                        all_in.set()
                if stop.is_set():
                    return

    limits = httpx.Limits(max_connections=STREAMS + 5)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=None, limits=limits
    ) as http:
        tasks = [asyncio.create_task(reader(http)) for _ in range(STREAMS)]
        await asyncio.wait_for(all_ready.wait(), 60)
        committed: dict[str, float] = {}
        async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as conn:
            for i in range(CHANGES):
                oid = f"b-{(i * 7919) % n}"
                await conn.execute(
                    "UPDATE orders SET status = CASE WHEN status = 'picking' THEN 'packing'"
                    " ELSE 'picking' END, version = version + 1, updated_at = now()"
                    " WHERE order_id = %s",
                    (oid,),
                )
                committed[oid] = time.perf_counter()
                await asyncio.sleep(0.05)
        expected = STREAMS * len(committed)
        if delivered >= expected:
            all_in.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in.wait(), 10)
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    lat = [(r - committed[o]) * 1000 for o in committed for r in received.get(o, [])]
    return {
        "streams": STREAMS,
        "changes": len(committed),
        "delivered": len(lat),
        "expected": expected,
        **summary(lat),
    }


def run(base_server: str, sizes: list[int], requests: int) -> list[dict[str, Any]]:
    with contextlib.ExitStack() as stack:
        targets, seeded, servers = [], [], []
        for n in sizes:
            url = stack.enter_context(scratch_database(base_server, "oms_bench_dash"))
            print(f"seeding {n:,} orders", flush=True)
            seeded.append(seed(url, n))
            key = asyncio.run(admin_key(url))
            server, base = start_api(url)
            servers.append(server)
            stack.callback(server.join, 10)
            stack.callback(server.terminate)
            targets.append(Target(n, url, base, key, server.pid or 0))
        print("measuring reads (sizes in turn)", flush=True)
        reads = asyncio.run(measure_reads(targets, requests))
        out = []
        for t, r, took in zip(targets, reads, seeded, strict=True):
            print(f"measuring the CSV export and the fan-out at {t.n:,}", flush=True)
            csv_full = asyncio.run(measure_csv_full(t.base, t.key))
            csv_full["api_peak_rss_mb"] = round(rss_kb(t.pid) / 1024, 1)
            fanout = asyncio.run(measure_fanout(t.base, t.key, t.url, t.n))
            out.append(
                {
                    "orders": t.n,
                    "seed_seconds": round(took, 1),
                    "reads": r,
                    "csv_full_tag_export": csv_full,
                    "fanout": fanout,
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    base = server_url(args.database_url)
    sizes = [int(s) for s in args.sizes.split(",")]
    info = server_info(base)
    print(machine_line(info.version), flush=True)
    print(f"server {redact(base)}; code {code_version(('api', 'store'))}", flush=True)
    results = run(base, sizes, args.requests)
    small, large = results[0], results[-1]
    ratios = {
        name: round(large["reads"][name]["p95_ms"] / max(small["reads"][name]["p95_ms"], 0.01), 2)
        for name in small["reads"]
    }
    for r in results:
        print(f"\n{r['orders']:,} orders (seeded in {r['seed_seconds']} s)")
        for name, s in r["reads"].items():
            print(f"  {name:22s} p50 {s['p50_ms']:8.2f} ms   p95 {s['p95_ms']:8.2f} ms")
        print(f"  csv full tag export    {r['csv_full_tag_export']}")
        print(f"  fan-out                {r['fanout']}")
    headline = {
        "bench": "dashboard",
        "sizes": sizes,
        "p95_ms": {name: [r["reads"][name]["p95_ms"] for r in results] for name in small["reads"]},
        "p95_ratio_large_over_small": ratios,
        "worst_ratio": max(ratios.values()),
        "target_ratio": 1.5,
        "fanout_p99_ms": [r["fanout"]["p99_ms"] for r in results],
        "fanout_delivered": [
            f"{r['fanout']['delivered']}/{r['fanout']['expected']}" for r in results
        ],
        "csv_rows_per_s": [r["csv_full_tag_export"]["rows_per_s"] for r in results],
    }
    record_seeded_run("dashboard", machine_line(info.version), results, headline)


if __name__ == "__main__":
    main()
