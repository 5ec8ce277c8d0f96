"""High-value orders: every item is scanned again at the pack station before packing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.worker import Worker

from store.tables import ScanEvent, ShipmentRow
from tests.api.helpers import eventually, shopify_order
from tests.conftest import Catalog


async def test_high_value_needs_a_pack_station_rescan(
    worker: Worker,
    http: httpx.AsyncClient,
    make_key: Any,
    make_catalog: Any,
    shopify_post: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat: Catalog = await make_catalog()
    a, b = cat.skus
    payload = shopify_order([a, b], [2, 1])
    payload["tags"] = "VIP, high-value"
    r = await shopify_post(payload, webhook_id=f"wh-{uuid.uuid4()}")
    assert r.status_code == 202, r.text
    shipment_id = f"{r.json()['order_id']}-1"

    async def shipment() -> ShipmentRow | None:
        async with sessions() as s:
            return await s.get(ShipmentRow, shipment_id)

    row = await eventually(shipment)
    staff = await make_key("staff", row.warehouse)
    url = f"/api/v1/shipments/{shipment_id}/scans"

    async def scan(sku: str, scan_id: str, stage: str = "pick") -> httpx.Response:
        body = {"barcode": cat.barcodes[sku], "scan_id": scan_id, "stage": stage}
        return await http.post(url, headers=staff, json=body)

    # Nothing can be verified before it is picked.
    r = await scan(a, "v0", "pack")
    assert r.status_code == 422 and r.json()["reason"] == "not_picked"
    for sku, sid in ((a, "p1"), (a, "p2"), (b, "p3")):
        assert (await scan(sku, sid)).status_code == 200
    weight = 2 * cat.weights[a] + cat.weights[b] + 60
    pack = f"/api/v1/shipments/{shipment_id}/pack"
    r = await http.post(pack, headers=staff, json={"weight_grams": weight})
    assert r.status_code == 422 and r.json()["reason"] == "items_unverified"

    r = await scan(a, "v1", "pack")
    assert r.status_code == 200 and r.json()["stage"] == "pack"
    assert (r.json()["picked"], r.json()["shipment_remaining"]) == (1, 2)
    r = await scan(b, "v2", "pack")
    assert r.status_code == 200
    r = await scan(b, "v3", "pack")  # only one b was picked
    assert r.status_code == 422 and r.json()["reason"] == "not_picked"
    r = await scan(a, "v4", "pack")
    assert r.status_code == 200 and r.json()["shipment_remaining"] == 0

    r = await http.post(pack, headers=staff, json={"weight_grams": weight})
    assert r.status_code == 200, r.text
    async with sessions() as s:
        stages = (
            await s.execute(
                select(ScanEvent.stage, ScanEvent.accepted)
                .where(ScanEvent.shipment_id == shipment_id)
                .order_by(ScanEvent.id)
            )
        ).all()
    assert [tuple(x) for x in stages] == [
        ("pack", False),
        ("pick", True),
        ("pick", True),
        ("pick", True),
        ("pack", True),
        ("pack", True),
        ("pack", False),
        ("pack", True),
    ]


async def test_other_orders_pack_without_a_rescan(
    worker: Worker,
    http: httpx.AsyncClient,
    make_key: Any,
    make_catalog: Any,
    shopify_post: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat: Catalog = await make_catalog(n_products=1)
    (a,) = cat.skus
    r = await shopify_post(shopify_order([a], [1]), webhook_id=f"wh-{uuid.uuid4()}")
    shipment_id = f"{r.json()['order_id']}-1"

    async def shipment() -> ShipmentRow | None:
        async with sessions() as s:
            return await s.get(ShipmentRow, shipment_id)

    row = await eventually(shipment)
    staff = await make_key("staff", row.warehouse)
    r = await http.post(
        f"/api/v1/shipments/{shipment_id}/scans",
        headers=staff,
        json={"barcode": cat.barcodes[a], "scan_id": "p1"},
    )
    assert r.status_code == 200
    r = await http.post(
        f"/api/v1/shipments/{shipment_id}/pack",
        headers=staff,
        json={"weight_grams": cat.weights[a] + 60},
    )
    assert r.status_code == 200, r.text
