"""A handheld that retries (or double-fires) a scan gets one answer and counts once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.scans import APPLICATION_NAME, ScanStore
from store.tables import ScanEvent
from tests.api.conftest import OpenShipment
from tests.conftest import Catalog


async def test_concurrent_repeats_of_one_scan_id_count_once(
    http: httpx.AsyncClient,
    make_catalog: Any,
    open_shipment: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat: Catalog = await make_catalog(n_products=1)
    (sku,) = cat.skus
    ship: OpenShipment = await open_shipment([sku], [3])
    body = {"barcode": cat.barcodes[sku], "scan_id": "burst", "station": "S1"}

    answers = await asyncio.gather(
        *(http.post(ship.scans_url, headers=ship.staff, json=body) for _ in range(10))
    )
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["picked"] for a in answers} == {1}
    # A refused scan repeated gets the same refusal back, even once it would be accepted.
    wrong = {"barcode": "4006381333931", "scan_id": "oops"}  # not this order's item
    first = await http.post(ship.scans_url, headers=ship.staff, json=wrong)
    again = await http.post(ship.scans_url, headers=ship.staff, json=wrong)
    assert first.status_code == again.status_code == 422
    assert first.json() == again.json()

    nxt = await http.post(ship.scans_url, headers=ship.staff, json={**body, "scan_id": "next"})
    assert nxt.json()["picked"] == 2  # the burst counted once
    async with sessions() as s:
        rows = await s.scalar(
            select(func.count())
            .select_from(ScanEvent)
            .where(ScanEvent.shipment_id == ship.shipment_id)
        )
    assert rows == 3  # burst, oops, next: one row per scan_id


async def test_a_scan_survives_postgres_dropping_the_pools_connections(
    http: httpx.AsyncClient,
    make_catalog: Any,
    open_shipment: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The scan pool pings nothing before use: a connection Postgres has dropped (restart,
    failover, idle timeout) is found by the statement itself, and the scan still gets its
    answer and its row."""
    cat: Catalog = await make_catalog(n_products=1)
    (sku,) = cat.skus
    ship: OpenShipment = await open_shipment([sku], [3])
    body = {"barcode": cat.barcodes[sku], "scan_id": "before", "station": "S1"}
    assert (await http.post(ship.scans_url, headers=ship.staff, json=body)).status_code == 200

    async with sessions() as s:
        dropped = await s.scalar(
            select(func.count()).select_from(
                select(func.pg_terminate_backend(text("pid")))
                .select_from(text("pg_stat_activity"))
                .where(
                    text("application_name = :name AND datname = current_database()").bindparams(
                        name=APPLICATION_NAME
                    )
                )
                .subquery()
            )
        )
    assert dropped and dropped >= 1

    after = await http.post(ship.scans_url, headers=ship.staff, json={**body, "scan_id": "after"})
    assert after.status_code == 200, after.text
    assert after.json()["picked"] == 2
    async with sessions() as s:
        ids = set(
            await s.scalars(
                select(ScanEvent.scan_id).where(ScanEvent.shipment_id == ship.shipment_id)
            )
        )
    assert ids == {"before", "after"}


class _WritesGoNowhere(ScanStore):
    """Reads from the live pool, writes to one where no Postgres answers: the database
    goes away between the read and the write, while the workflow counts the scan."""

    def __init__(self, live: ScanStore, dead: ScanStore) -> None:
        super().__init__(live.pool)
        self.dead = dead

    async def record(self, **scan: Any) -> dict[str, Any] | None:
        return await self.dead.record(**scan)


async def test_without_postgres_a_scan_is_answered_503_and_counted_once_on_retry(
    http: httpx.AsyncClient,
    make_catalog: Any,
    open_shipment: Any,
    sessions: async_sessionmaker[AsyncSession],
    api_app: FastAPI,
) -> None:
    """No database: the handheld hears "retry" (problem+json 503, quickly), not a hang or a
    500; the same scan retried once Postgres is back is counted once and recorded."""
    cat: Catalog = await make_catalog(n_products=1)
    (sku,) = cat.skus
    ship: OpenShipment = await open_shipment([sku], [3])
    body = {"barcode": cat.barcodes[sku], "scan_id": "in-the-dark", "station": "S1"}
    live: ScanStore = api_app.state.scans
    pool = AsyncConnectionPool(
        "postgresql://postgres@127.0.0.1:1/test", open=False, timeout=0.5, min_size=1
    )
    await pool.open(wait=False)
    dead = ScanStore(pool)
    answers = []
    try:
        for store in (dead, _WritesGoNowhere(live, dead)):  # gone before, then after, the Update
            api_app.state.scans = store
            answers.append(await http.post(ship.scans_url, headers=ship.staff, json=body))
    finally:
        api_app.state.scans = live
        await pool.close()
    for down in answers:
        assert down.status_code == 503
        assert down.headers["content-type"].startswith("application/problem+json")
        assert down.json()["reason"] == "database_unavailable"
        assert down.headers["retry-after"] == "2"

    again = await http.post(ship.scans_url, headers=ship.staff, json=body)
    assert again.status_code == 200, again.text
    assert again.json()["picked"] == 1  # the workflow's first answer to this scan_id
    nxt = await http.post(ship.scans_url, headers=ship.staff, json={**body, "scan_id": "next"})
    assert nxt.json()["picked"] == 2  # counted once
    async with sessions() as s:
        ids = list(
            await s.scalars(
                select(ScanEvent.scan_id).where(ScanEvent.shipment_id == ship.shipment_id)
            )
        )
    assert sorted(ids) == ["in-the-dark", "next"]


def _timing(response: httpx.Response) -> dict[str, float]:
    """``Server-Timing: read;dur=1.20, update;dur=8.40`` → ``{"read": 1.2, "update": 8.4}``."""
    stages = {}
    for part in response.headers["server-timing"].split(","):
        name, _, dur = part.strip().partition(";dur=")
        stages[name] = float(dur)
    return stages


def _stage_count(metrics: str, stage: str) -> float:
    line = f'oms_scan_stage_seconds_count{{stage="{stage}"}} '
    return next((float(ln[len(line) :]) for ln in metrics.splitlines() if ln.startswith(line)), 0)


async def test_each_scan_says_where_its_time_went(
    http: httpx.AsyncClient, make_catalog: Any, open_shipment: Any
) -> None:
    """``Server-Timing`` on every answer and ``oms_scan_stage_seconds`` on /metrics: the
    read before the workflow, the Update (only when the workflow is asked), the write."""
    cat: Catalog = await make_catalog(n_products=1)
    (sku,) = cat.skus
    ship: OpenShipment = await open_shipment([sku], [2])
    before = (await http.get("/metrics")).text

    ok = await http.post(
        ship.scans_url, headers=ship.staff, json={"barcode": cat.barcodes[sku], "scan_id": "t1"}
    )
    unreadable = await http.post(
        ship.scans_url, headers=ship.staff, json={"barcode": "no-such-code", "scan_id": "t2"}
    )
    repeat = await http.post(
        ship.scans_url, headers=ship.staff, json={"barcode": cat.barcodes[sku], "scan_id": "t1"}
    )

    assert ok.status_code == 200 and repeat.status_code == 200
    assert set(_timing(ok)) == {"read", "update", "write"}
    assert all(ms >= 0 for ms in _timing(ok).values())
    assert _timing(ok)["update"] > 0
    assert unreadable.status_code == 422
    assert set(_timing(unreadable)) == {"read", "write"}  # refused without the workflow
    assert set(_timing(repeat)) == {"read"}  # the stored first answer
    after = (await http.get("/metrics")).text
    grew = {
        s: _stage_count(after, s) - _stage_count(before, s) for s in ("read", "update", "write")
    }
    assert grew == {"read": 3, "update": 1, "write": 2}
