"""The dashboard's read model seeded straight in SQL (``generate_series``; no workflows):
the status mix, tags, SKUs and warehouses of a shop at any size (``bench.analytics``
seeds its history over the same warehouses)."""

from __future__ import annotations

import time

import psycopg

from store.db import libpq_url

STATUSES = [
    ("ready_to_pick", 20),
    ("picking", 5),
    ("packing", 3),
    ("shipped", 25),
    ("delivered", 35),
    ("on_hold", 2),
    ("awaiting_payment", 3),
    ("backordered", 2),
    ("cancelled", 4),
    ("failed", 1),
]
TAGS = 50
SKUS = 2000
WAREHOUSES = ["WH-PDX", "WH-NJ", "WH-DAL", "WH-CHI", "WH-ATL"]
WH_SQL = "ARRAY[" + ", ".join(f"'{w}'" for w in WAREHOUSES) + "]"


def _status_case() -> str:
    """SQL mapping g % 100 to a status with the weights above."""
    arms, at = [], 0
    for status, weight in STATUSES:
        at += weight
        arms.append(f"WHEN g % 100 < {at} THEN '{status}'")
    return "CASE " + " ".join(arms) + " END"


def seed(url: str, n: int) -> float:
    """``n`` orders (+ a shipment with a tracking number for every 5th) in plain SQL.

    Indexes are dropped and rebuilt around the load and user triggers disabled (a million
    NOTIFYs in one transaction would be the bench's own queue); the counters and stream
    numbers the triggers keep are then written in one statement each.
    """
    started = time.perf_counter()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('orders', 'shipments')"
            " AND indexname NOT LIKE '%pkey'"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute("ALTER TABLE orders DISABLE TRIGGER USER")
        conn.execute("ALTER TABLE shipments DISABLE TRIGGER USER")
        step = 100_000
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            conn.execute(
                f"""
                INSERT INTO orders (order_id, version, name, channel, external_id, email, status,
                  tags, priority, warehouses, total, currency, stuck, summary, created_at,
                  updated_at, stream_seq)
                SELECT 'b-' || g, 3, '#' || (100000 + g), CASE WHEN g % 7 = 0 THEN 'pos'
                  ELSE 'web' END, 'ext-' || g, 'buyer' || g || '@example.com', {_status_case()},
                  CASE WHEN g % 3 = 0 THEN jsonb_build_array('tag-' || (g % {TAGS}),
                    'tag-' || ((g / 7) % {TAGS})) ELSE jsonb_build_array('tag-' || (g % {TAGS}))
                  END,
                  CASE WHEN g % 10 = 0 THEN 10 + g % 40 ELSE 0 END,
                  jsonb_build_array(({WH_SQL})[1 + g % {len(WAREHOUSES)}]),
                  (g % 500) + 9.99, 'USD', g % 97 = 0,
                  jsonb_build_object('lines', jsonb_build_array(
                    jsonb_build_object('sku', 'SKU-' || lpad((g % {SKUS})::text, 5, '0'),
                      'quantity', 1 + g % 3, 'unit_price', '9.99'),
                    jsonb_build_object('sku', 'SKU-' || lpad(((g * 7) % {SKUS})::text, 5, '0'),
                      'quantity', 1, 'unit_price', '4.99')),
                    'holds', '[]'::jsonb,
                    'stuck_reason', CASE WHEN g % 97 = 0 THEN 'pick: SLA passed' END,
                    'stuck_since', CASE WHEN g % 97 = 0 THEN
                      to_char(now() - g * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SSOF') END),
                  now() - g * interval '1 second', now() - g * interval '1 second',
                  nextval('order_stream_seq')
                FROM generate_series({lo}, {hi - 1}) g
                """
            )
            conn.execute(
                f"""
                INSERT INTO shipments (shipment_id, order_id, version, warehouse, status,
                  priority, lines, carrier, tracking_number, tracking_url, created_at, updated_at)
                SELECT 'b-' || g || '-1', 'b-' || g, 1,
                  ({WH_SQL})[1 + g % {len(WAREHOUSES)}],
                  CASE WHEN g % 10 < 3 THEN 'open' ELSE 'shipped' END, 0,
                  jsonb_build_array(jsonb_build_object('sku', 'SKU-00001', 'quantity', 2,
                    'picked', g % 3)),
                  'sandbox', '1ZB' || lpad(g::text, 12, '0'), 'https://track.example/' || g,
                  now() - g * interval '1 second', now() - g * interval '1 second'
                FROM generate_series({lo}, {hi - 1}) g WHERE g % 5 = 0
                """
            )
            print(f"  seeded {hi:,} orders ({time.perf_counter() - started:.0f} s)", flush=True)
        conn.execute(
            "INSERT INTO order_status_counts (status, shard_no, n) SELECT status,"
            " abs(hashtext(order_id)) % 16, count(*) FROM orders GROUP BY 1, 2"
            " ON CONFLICT (status, shard_no) DO UPDATE SET n = excluded.n"
        )
        conn.execute("ALTER TABLE orders ENABLE TRIGGER USER")
        conn.execute("ALTER TABLE shipments ENABLE TRIGGER USER")
        for name, definition in indexes:
            t = time.perf_counter()
            conn.execute(definition)
            print(f"  index {name}: {time.perf_counter() - t:.1f} s", flush=True)
        # Dropping the index dropped its statistics target (migration 0005): set it again.
        conn.execute("ALTER INDEX ix_orders_search ALTER COLUMN 1 SET STATISTICS 1000")
        conn.execute("VACUUM ANALYZE orders")
        conn.execute("VACUUM ANALYZE shipments")
        conn.execute("CHECKPOINT")
    return time.perf_counter() - started
