"""Migration 0014 on real Postgres: the order's template kept on its scan rows by
triggers (set when a scan is written, followed when the order's template changes or the
order row arrives after its scans), and the step rows' stored ``seconds``/``over_sla``;
each equal to the raw computation the analytics reads used to do with a join or per row;
and the migration's backfill of rows written before it.

On a database of its own, so every row seen is one of the test's.
"""

from __future__ import annotations

import statistics
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from alembic import command
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import analytics
from store.db import libpq_url
from store.migrate import alembic_config, upgrade
from store.tables import OrderRow, ShipmentRow
from tests.conftest import scratch_database, scratch_sessions
from tests.order_rows import T0, order_row

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Sessions]:
    async with scratch_sessions(database_url, "oms_rollups") as sessions:
        yield sessions


def shipment(order_id: str) -> ShipmentRow:
    return ShipmentRow(
        shipment_id=f"{order_id}-1",
        order_id=order_id,
        version=1,
        warehouse="WH-A",
        status="picking",
        priority=0,
        lines=[{"sku": "S-1", "quantity": 1, "picked": 0}],
        updated_at=T0,
    )


async def scan(db: Sessions, order_id: str, scan_id: str, accepted: bool = True) -> None:
    async with db.begin() as s:
        await s.execute(
            text(
                "INSERT INTO scan_events (shipment_id, order_id, warehouse, scan_id, station,"
                " barcode, sku, quantity, accepted, reason, response, created_at)"
                " VALUES (:sid, :oid, 'WH-A', :scan, 'ST-1', '0', 'S-1', 1, :ok, :reason,"
                " '{}', :at)"
            ),
            {
                "sid": f"{order_id}-1",
                "oid": order_id,
                "scan": scan_id,
                "ok": accepted,
                "reason": None if accepted else "wrong_item",
                "at": T0 + timedelta(minutes=5),
            },
        )


async def templates(db: Sessions) -> dict[tuple[str, str], str]:
    async with db() as s:
        rows = await s.execute(text("SELECT order_id, scan_id, template FROM scan_events"))
        return {(o, sc): t for o, sc, t in rows.all()}


async def joined(db: Sessions) -> dict[tuple[str, str], str]:
    """What migration 0012's accuracy-by-template read computed: a join to ``orders``."""
    async with db() as s:
        rows = await s.execute(
            text(
                "SELECT s.order_id, s.scan_id, coalesce(oms_template_of(o.summary), 'default')"
                " FROM scan_events s LEFT JOIN orders o ON o.order_id = s.order_id"
            )
        )
        return {(o, sc): t for o, sc, t in rows.all()}


async def test_scans_carry_their_orders_template_as_it_changes(db: Sessions) -> None:
    async with db.begin() as s:
        s.add(order_row("o-exp", 0, summary={"template": ["express"]}))
        s.add(order_row("o-plain", 1, summary={"template": []}))
        await s.flush()
        s.add_all([shipment("o-exp"), shipment("o-plain"), shipment("o-late")])
    await scan(db, "o-exp", "a")
    await scan(db, "o-exp", "b", accepted=False)
    await scan(db, "o-plain", "a")
    # A scan whose order row is not there (yet): the join's answer is 'default'.
    await scan(db, "o-late", "a", accepted=False)
    got = await templates(db)
    assert got == {
        ("o-exp", "a"): "express",
        ("o-exp", "b"): "express",
        ("o-plain", "a"): "default",
        ("o-late", "a"): "default",
    }
    assert got == await joined(db)

    # The order's templates change after its scans (a re-route applies another template).
    async with db.begin() as s:
        await s.execute(
            update(OrderRow)
            .where(OrderRow.order_id == "o-plain")
            .values(summary={"template": ["fragile", "gift"]})
        )
        await s.execute(
            update(OrderRow).where(OrderRow.order_id == "o-exp").values(summary={"steps": []})
        )
        s.add(order_row("o-late", 2, summary={"template": ["express"]}))
    got = await templates(db)
    assert got == {
        ("o-exp", "a"): "default",
        ("o-exp", "b"): "default",
        ("o-plain", "a"): "fragile+gift",
        ("o-late", "a"): "express",
    }
    assert got == await joined(db)

    # The read counts per template with no join, and agrees with the scans above.
    async with db() as s:
        counts = await analytics.accuracy(
            s, analytics.AccuracyGroup.TEMPLATE, T0, T0 + timedelta(days=1)
        )
    by = {c.group: (c.scans, c.rejected) for c in counts}
    assert by == {"default": (2, 1), "fragile+gift": (1, 0), "express": (1, 1)}


def interpolated(ordered: list[float], q: float) -> float:
    """``percentile_cont``'s definition: linear between the two nearest ranks."""
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


async def test_step_seconds_and_breaches_are_the_raw_computation(db: Sessions) -> None:
    rows: list[dict[str, Any]] = []
    for i, (secs, sla, breached) in enumerate(
        [(12.5, 60, False), (61.0, 60, False), (30.25, 60, True), (7200.125, None, False)]
        + [(float(n) * 1.5, 3600, False) for n in range(1, 40)]
    ):
        rows.append(
            {
                "oid": f"o-{i}",
                "started": T0,
                "completed": T0 + timedelta(seconds=secs),
                "sla": sla,
                "breached": breached,
            }
        )
    async with db.begin() as s:
        await s.execute(
            text(
                "INSERT INTO order_step_times (order_id, step, started_at, completed_at,"
                " sla_seconds, breached, warehouse, template, skus, carrier)"
                " VALUES (:oid, 'pick', :started, :completed, :sla, :breached, 'WH-A',"
                " 'default', ARRAY['S-1'], 'sandbox')"
            ),
            rows,
        )
    async with db() as s:
        diffs = await s.execute(
            text(
                "SELECT count(*) FROM order_step_times WHERE"
                " seconds IS DISTINCT FROM"
                " extract(epoch FROM completed_at - started_at)::double precision"
                " OR over_sla IS DISTINCT FROM (breached OR (sla_seconds IS NOT NULL AND"
                " completed_at - started_at > sla_seconds * interval '1 second'))"
            )
        )
        assert diffs.scalar_one() == 0
        got = await analytics.delays(s, analytics.DelayGroup.ALL, None, T0, T0 + timedelta(days=1))
    durations = sorted((r["completed"] - r["started"]).total_seconds() for r in rows)
    assert len(got) == 1 and got[0]["count"] == len(durations)
    assert got[0]["p50_s"] == round(statistics.median(durations), 3)
    assert got[0]["p90_s"] == round(interpolated(durations, 0.9), 3)
    assert got[0]["p99_s"] == round(interpolated(durations, 0.99), 3)
    # 61 s over a 60 s SLA, the one the timer marked, 7200 s has no SLA.
    assert got[0]["sla_breaches"] == 2


def test_migration_backfills_rows_written_before_it(database_url: str) -> None:
    """Scans and step rows written under migration 0012 get their template, seconds and
    breach from 0014's upgrade; its downgrade and a second upgrade leave it whole."""
    with scratch_database(database_url, "oms_mig14") as url:
        command.downgrade(alembic_config(url), "0012")
        with psycopg.connect(libpq_url(url), autocommit=True) as c:
            c.execute(
                "INSERT INTO orders (order_id, version, name, channel, external_id, email,"
                " status, tags, priority, warehouses, total, currency, stuck, summary,"
                " created_at, updated_at) VALUES ('o1', 1, '#1', 'web', 'e1', 'a@example.com',"
                " 'picking', '[]', 0, '[]', 1, 'USD', false, '{\"template\": [\"express\"]}',"
                " now(), now())"
            )
            c.execute(
                "INSERT INTO scan_events (shipment_id, order_id, warehouse, scan_id, station,"
                " barcode, sku, quantity, accepted, response, created_at) VALUES"
                " ('o1-1', 'o1', 'WH-A', 'a', 'ST-1', '0', 'S-1', 1, true, '{}', now()),"
                " ('x-1', 'x', 'WH-A', 'a', 'ST-1', '0', 'S-1', 1, false, '{}', now())"
            )
            c.execute(
                "INSERT INTO order_step_times (order_id, step, started_at, completed_at,"
                " sla_seconds, breached) VALUES"
                " ('o1', 'pick', now() - interval '90.5 seconds', now(), 60, false)"
            )
        upgrade(url)
        with psycopg.connect(libpq_url(url)) as c:
            scans = c.execute("SELECT order_id, template FROM scan_events ORDER BY 1").fetchall()
            steps = c.execute("SELECT seconds, over_sla FROM order_step_times").fetchall()
        assert scans == [("o1", "express"), ("x", "default")]
        assert steps == [(90.5, True)]
        command.downgrade(alembic_config(url), "0012")
        upgrade(url)
