"""A handheld that retries (or double-fires) a scan gets one answer and counts once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.worker import Worker

from store.tables import ScanEvent, ShipmentRow
from tests.api.helpers import eventually, shopify_order
from tests.conftest import Catalog


async def test_concurrent_repeats_of_one_scan_id_count_once(
    worker: Worker,
    http: httpx.AsyncClient,
    make_key: Any,
    make_catalog: Any,
    shopify_post: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat: Catalog = await make_catalog(n_products=1)
    (sku,) = cat.skus
    r = await shopify_post(shopify_order([sku], [3]), webhook_id=f"wh-{uuid.uuid4()}")
    shipment_id = f"{r.json()['order_id']}-1"

    async def shipment() -> ShipmentRow | None:
        async with sessions() as s:
            return await s.get(ShipmentRow, shipment_id)

    row = await eventually(shipment)
    staff = await make_key("staff", row.warehouse)
    url = f"/api/v1/shipments/{shipment_id}/scans"
    body = {"barcode": cat.barcodes[sku], "scan_id": "burst", "station": "S1"}

    answers = await asyncio.gather(*(http.post(url, headers=staff, json=body) for _ in range(10)))
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["picked"] for a in answers} == {1}
    # A refused scan repeated gets the same refusal back, even once it would be accepted.
    wrong = {"barcode": "4006381333931", "scan_id": "oops"}  # not this order's item
    first = await http.post(url, headers=staff, json=wrong)
    again = await http.post(url, headers=staff, json=wrong)
    assert first.status_code == again.status_code == 422
    assert first.json() == again.json()

    nxt = await http.post(url, headers=staff, json={**body, "scan_id": "next"})
    assert nxt.json()["picked"] == 2  # the burst counted once
    async with sessions() as s:
        rows = await s.scalar(
            select(func.count()).select_from(ScanEvent).where(ScanEvent.shipment_id == shipment_id)
        )
    assert rows == 3  # burst, oops, next: one row per scan_id
