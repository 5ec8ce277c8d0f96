"""A handheld that retries (or double-fires) a scan gets one answer and counts once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.scans import APPLICATION_NAME
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
