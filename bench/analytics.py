"""Every analytics endpoint at small and large history (e.g. 10k and 1M orders).

Seeded straight in SQL (``generate_series``; no workflows), at the same daily rate for
every size (``--per-day`` orders a day: a larger size is a longer history, as a shop that
has run for longer): per order ~4.5 ``order_events`` (received, payment, allocated,
shipped, delivered or cancelled), 6 ``scan_events`` (5 % refused, each with its order's
template as migration 0014's trigger sets it), a pack refusal for every 50th, and the rows
the migration-0012 triggers would have written (``order_step_times``,
``shipment_outcomes``) — the triggers are off during the load, like every other trigger.
About 10.5 events per order: 1M orders ≈ 10.5M events.

The API runs in its own process (``bench.dashboard_api.start_api``) and this one measures over
real HTTP, one request at a time, the sizes taking turns: every endpoint over the default
window (the last 7 days) and over 30 days, and one CSV answer.

Target: p95 at the large size ≤ 1.5 x p95 at the small size, and < 300 ms, for each case.
Ends with one JSON line of the headline figures; the raw run goes to ``bench/runs/``.

    .venv/bin/python -m bench.analytics [--sizes 10000,1000000] [--requests 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

from bench.dashboard_api import admin_key, start_api, summary, timed_get
from bench.dashboard_seed import WAREHOUSES, WH_SQL
from bench.scratch import (
    code_version,
    machine_line,
    record_seeded_run,
    redact,
    scratch_database,
    server_info,
)
from bench.scratch import server_url as base_server_url
from store.db import libpq_url

SKUS = 2000
#: Scans per order (5 % refused): with ~4.5 order events, ~10.5 events per order.
SCANS = 6
STATIONS = 40
REASONS = "ARRAY['wrong_item', 'unknown_barcode', 'over_scan', 'expired']"
#: (step, base seconds, SLA seconds): the seeded time in step is base x (0.5 .. 2.4).
STEPS = [
    ("verify", 2, 60),
    ("pay", 30, 3600),
    ("allocate", 1, 60),
    ("pick", 1200, 3600),
    ("pack", 300, 1800),
    ("ship", 1800, 7200),
]
TABLES = (
    "orders",
    "order_events",
    "scan_events",
    "pack_refusals",
    "order_step_times",
    "shipment_outcomes",
)


def seed(url: str, n: int, per_day: int) -> float:
    """``n`` orders, newest now, one every ``86400 / per_day`` seconds backwards."""
    started = time.perf_counter()
    gap = 86400.0 / per_day
    at = f"(now() - g * interval '{gap} seconds')"
    shipped = "g % 100 >= 8"
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            (list(TABLES),),
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for table in TABLES:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        step = 100_000
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            series = f"generate_series({lo}, {hi - 1}) g"
            conn.execute(
                f"""
                INSERT INTO orders (order_id, version, name, channel, external_id, email,
                  status, tags, priority, warehouses, total, currency, stuck, summary,
                  created_at, updated_at)
                SELECT 'b-' || g, 3, '#' || g, 'web', 'ext-' || g, 'b' || g || '@example.com',
                  CASE WHEN g % 100 < 4 THEN 'cancelled' WHEN g % 100 < 8 THEN 'picking'
                    WHEN g % 100 < 40 THEN 'shipped' ELSE 'delivered' END,
                  '[]'::jsonb, 0, jsonb_build_array(({WH_SQL})[1 + g % {len(WAREHOUSES)}]),
                  9.99, 'USD', false,
                  jsonb_build_object('template', CASE WHEN g % 10 = 0
                    THEN '["express"]'::jsonb ELSE '[]'::jsonb END),
                  {at}, {at}
                FROM {series}
                """
            )
            conn.execute(
                f"""
                INSERT INTO order_events (order_id, event_key, at, type, detail)
                SELECT 'b-' || g, e.key, {at} + e.after, e.type, '{{}}'::jsonb
                FROM {series}, LATERAL (VALUES
                    ('o1', 'received', interval '0'),
                    ('o2', 'payment_confirmed', interval '1 minute'),
                    ('o3', CASE WHEN g % 100 >= 4 THEN 'allocated' END, interval '5 minutes'),
                    ('s1', CASE WHEN g % 100 < 4 THEN 'cancelled' WHEN {shipped}
                      THEN 'shipped' END, interval '2 hours'),
                    ('s2', CASE WHEN g % 100 >= 40 THEN 'tracking_delivered' END,
                      interval '50 hours')
                  ) AS e(key, type, after)
                WHERE e.type IS NOT NULL
                """
            )
            conn.execute(
                f"""
                INSERT INTO scan_events (shipment_id, order_id, warehouse, scan_id, station,
                  stage, barcode, sku, quantity, accepted, reason, response, created_at,
                  template)
                SELECT 'b-' || g || '-1', 'b-' || g, ({WH_SQL})[1 + g % {len(WAREHOUSES)}],
                  k::text, 'ST-' || (g % {STATIONS}), 'pick', '0000000000000',
                  'SKU-' || lpad(((g * 7 + k) % {SKUS})::text, 5, '0'), 1,
                  (g * {SCANS} + k) % 20 <> 0,
                  CASE WHEN (g * {SCANS} + k) % 20 = 0 THEN ({REASONS})[1 + (g / 20) % 4] END,
                  '{{}}'::jsonb, {at} + interval '30 minutes' + k * interval '10 seconds',
                  CASE WHEN g % 10 = 0 THEN 'express' ELSE 'default' END
                FROM {series}, generate_series(0, {SCANS - 1}) k
                """
            )
            conn.execute(
                f"""
                INSERT INTO pack_refusals (shipment_id, order_id, warehouse, station, reason,
                  weight_grams, created_at)
                SELECT 'b-' || g || '-1', 'b-' || g, ({WH_SQL})[1 + g % {len(WAREHOUSES)}],
                  'PK-' || (g % 10), CASE WHEN g % 100 = 0 THEN 'items_missing'
                    ELSE 'weight_mismatch' END, 500, {at} + interval '90 minutes'
                FROM {series} WHERE g % 50 = 0
                """
            )
            conn.execute(
                f"""
                INSERT INTO shipment_outcomes (shipment_id, order_id, warehouse, template,
                  skus, carrier, shipped_at, refused_scans, weight_mismatches)
                SELECT 'b-' || g || '-1', 'b-' || g, ({WH_SQL})[1 + g % {len(WAREHOUSES)}],
                  CASE WHEN g % 10 = 0 THEN 'express' ELSE 'default' END,
                  ARRAY(SELECT 'SKU-' || lpad(((g * 7 + k) % {SKUS})::text, 5, '0')
                        FROM generate_series(0, {SCANS - 1}) k),
                  'sandbox', {at} + interval '2 hours',
                  (SELECT count(*) FROM generate_series(0, {SCANS - 1}) k
                    WHERE (g * {SCANS} + k) % 20 = 0),
                  CASE WHEN g % 100 <> 0 AND g % 50 = 0 THEN 1 ELSE 0 END
                FROM {series} WHERE {shipped}
                """
            )
            steps = ", ".join(
                f"('{s}', {base}, {sla}, {i})" for i, (s, base, sla) in enumerate(STEPS)
            )
            conn.execute(
                f"""
                INSERT INTO order_step_times (order_id, step, started_at, completed_at,
                  sla_seconds, breached, warehouse, template, skus, carrier)
                SELECT 'b-' || g, s.step, {at} + s.pos * interval '10 minutes',
                  {at} + s.pos * interval '10 minutes'
                    + s.base * (0.5 + ((g * 31 + s.pos) % 20) / 10.0) * interval '1 second',
                  s.sla, s.base * (0.5 + ((g * 31 + s.pos) % 20) / 10.0) > s.sla,
                  ({WH_SQL})[1 + g % {len(WAREHOUSES)}],
                  CASE WHEN g % 10 = 0 THEN 'express' ELSE 'default' END,
                  ARRAY['SKU-' || lpad(((g * 7) % {SKUS})::text, 5, '0')], 'sandbox'
                FROM {series}, (VALUES {steps}) AS s(step, base, sla, pos)
                WHERE {shipped}
                UNION ALL
                SELECT 'b-' || g, 'deliver', {at} + interval '2 hours',
                  {at} + interval '50 hours', NULL, false,
                  ({WH_SQL})[1 + g % {len(WAREHOUSES)}],
                  CASE WHEN g % 10 = 0 THEN 'express' ELSE 'default' END,
                  ARRAY['SKU-' || lpad(((g * 7) % {SKUS})::text, 5, '0')], 'sandbox'
                FROM {series} WHERE g % 100 >= 40
                """
            )
            print(f"  seeded {hi:,} orders ({time.perf_counter() - started:.0f} s)", flush=True)
        for table in TABLES:
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        for name, definition in indexes:
            t = time.perf_counter()
            conn.execute(definition)
            print(f"  index {name}: {time.perf_counter() - t:.1f} s", flush=True)
        for table in TABLES:
            conn.execute(f"VACUUM ANALYZE {table}")
        conn.execute("CHECKPOINT")
    return time.perf_counter() - started


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(libpq_url(url)) as conn:
        return {
            t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]
            for t in TABLES
        }


def cases() -> dict[str, tuple[str, dict[str, Any]]]:
    """Each case over the default window (7 days) and, suffixed ``_30d``, over 30 days."""
    base: dict[str, tuple[str, dict[str, Any]]] = {
        "accuracy_warehouse": ("/api/v1/analytics/accuracy", {"group_by": "warehouse"}),
        "accuracy_day": ("/api/v1/analytics/accuracy", {"group_by": "day"}),
        "accuracy_sku": ("/api/v1/analytics/accuracy", {"group_by": "sku"}),
        "accuracy_template": ("/api/v1/analytics/accuracy", {"group_by": "template"}),
        "errors_reason": ("/api/v1/analytics/errors", {"group_by": "reason"}),
        "errors_all_keys": (
            "/api/v1/analytics/errors",
            {"group_by": "reason,warehouse,sku,station,day"},
        ),
        "delays_warehouse": ("/api/v1/analytics/delays", {"group_by": "warehouse"}),
        "delays_sku_pick": ("/api/v1/analytics/delays", {"group_by": "sku", "step": "pick"}),
        "throughput_hour": ("/api/v1/analytics/throughput", {"bucket": "hour"}),
        "throughput_day": ("/api/v1/analytics/throughput", {"bucket": "day"}),
        "errors_csv": (
            "/api/v1/analytics/errors",
            {"group_by": "reason,warehouse,station", "format": "csv"},
        ),
    }
    out = dict(base)
    for name, (path, params) in base.items():
        out[f"{name}_30d"] = (path, {**params, "_days": 30})
    return out


async def measure(targets: list[tuple[str, str]], requests: int) -> list[dict[str, Any]]:
    clients = [
        httpx.AsyncClient(base_url=b, headers={"Authorization": f"Bearer {k}"}, timeout=300)
        for b, k in targets
    ]
    samples: list[dict[str, list[float]]] = [{} for _ in targets]
    try:
        for name, (path, params) in cases().items():
            days = params.pop("_days", 7) if "_days" in params else 7
            until = datetime.now(UTC)
            params = {
                **params,
                "since": (until - timedelta(days=days)).isoformat(),
                "until": until.isoformat(),
            }
            for http in clients:
                for _ in range(3):
                    await timed_get(http, path, params)  # warm
            for _ in range(requests):
                for i, http in enumerate(clients):
                    samples[i].setdefault(name, []).append(await timed_get(http, path, params))
            print(
                f"  {name}: " + "  ".join(f"{summary(s[name])['p95_ms']} ms" for s in samples),
                flush=True,
            )
    finally:
        for http in clients:
            await http.aclose()
    return [{name: summary(ms) for name, ms in per.items()} for per in samples]


def run(base_server: str, sizes: list[int], per_day: int, requests: int) -> list[dict[str, Any]]:
    with contextlib.ExitStack() as stack:
        targets, seeded, rows = [], [], []
        for n in sizes:
            url = stack.enter_context(scratch_database(base_server, "oms_bench_analytics"))
            print(f"seeding {n:,} orders", flush=True)
            seeded.append(seed(url, n, per_day))
            rows.append(counts(url))
            key = asyncio.run(admin_key(url))
            server, base = start_api(url)
            stack.callback(server.join, 10)
            stack.callback(server.terminate)
            targets.append((base, key))
        print("measuring (sizes in turn)", flush=True)
        reads = asyncio.run(measure(targets, requests))
        return [
            {"orders": n, "seed_seconds": round(s, 1), "rows": r, "reads": m}
            for n, s, r, m in zip(sizes, seeded, rows, reads, strict=True)
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--per-day", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    base = base_server_url(args.database_url)
    sizes = [int(s) for s in args.sizes.split(",")]
    info = server_info(base)
    print(machine_line(info.version), flush=True)
    print(f"server {redact(base)}; code {code_version(('api', 'store'))}", flush=True)
    results = run(base, sizes, args.per_day, args.requests)
    small, large = results[0], results[-1]
    ratios = {
        name: round(large["reads"][name]["p95_ms"] / max(small["reads"][name]["p95_ms"], 0.01), 2)
        for name in small["reads"]
    }
    for r in results:
        print(f"\n{r['orders']:,} orders (seeded in {r['seed_seconds']} s): {r['rows']}")
        for name, s in r["reads"].items():
            print(f"  {name:26s} p50 {s['p50_ms']:8.2f} ms   p95 {s['p95_ms']:8.2f} ms")
    worst = max(large["reads"][n]["p95_ms"] for n in large["reads"])
    headline = {
        "bench": "analytics",
        "sizes": sizes,
        "per_day": args.per_day,
        "events": [r["rows"]["order_events"] + r["rows"]["scan_events"] for r in results],
        "p95_ms": {name: [r["reads"][name]["p95_ms"] for r in results] for name in small["reads"]},
        "p95_ratio_large_over_small": ratios,
        "worst_ratio": max(ratios.values()),
        "worst_p95_ms_large": worst,
        "target_ratio": 1.5,
        "target_p95_ms": 300,
    }
    record_seeded_run("analytics", machine_line(info.version), results, headline)


if __name__ == "__main__":
    main()
