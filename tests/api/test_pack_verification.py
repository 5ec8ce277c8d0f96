"""High-value orders: every item is scanned again at the pack station before packing."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import inventory
from store.tables import LabelLedger, ScanEvent, ShipmentRow
from tests.api.conftest import OpenShipment
from tests.api.helpers import eventually
from tests.conftest import Catalog


async def labels(sessions: async_sessionmaker[AsyncSession], ship: OpenShipment) -> list[Any]:
    async with sessions() as s:
        rows = await s.execute(
            select(LabelLedger.status, LabelLedger.tracking_number).where(
                LabelLedger.shipment_id == ship.shipment_id
            )
        )
    return [tuple(r) for r in rows.all()]


async def assert_shipped(
    sessions: async_sessionmaker[AsyncSession],
    ship: OpenShipment,
    packed: httpx.Response,
    stock: dict[str, tuple[int, int]],
) -> None:
    """The pack's effect: one label, the one answered; the parcel shipped; stock out."""
    number = packed.json()["tracking"]["number"]
    assert await labels(sessions, ship) == [("purchased", number)]

    async def shipped() -> ShipmentRow | None:
        async with sessions() as s:
            row = await s.get(ShipmentRow, ship.shipment_id)
        return row if row is not None and row.status == "shipped" else None

    row = await eventually(shipped)
    assert row.tracking_number == number
    async with sessions() as s:
        levels = {lv.sku: lv for lv in await inventory.levels(s, warehouse=ship.warehouse)}
    assert {sku: (levels[sku].on_hand, levels[sku].reserved) for sku in stock} == stock


async def test_high_value_needs_a_pack_station_rescan(
    http: httpx.AsyncClient,
    make_catalog: Any,
    open_shipment: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat: Catalog = await make_catalog()
    a, b = cat.skus
    ship: OpenShipment = await open_shipment([a, b], [2, 1], tags="VIP, high-value")

    async def scan(sku: str, scan_id: str, stage: str = "pick") -> httpx.Response:
        body = {"barcode": cat.barcodes[sku], "scan_id": scan_id, "stage": stage}
        return await http.post(ship.scans_url, headers=ship.staff, json=body)

    # Nothing can be verified before it is picked.
    r = await scan(a, "v0", "pack")
    assert r.status_code == 422 and r.json()["reason"] == "not_picked"
    for sku, sid in ((a, "p1"), (a, "p2"), (b, "p3")):
        assert (await scan(sku, sid)).status_code == 200
    weight = 2 * cat.weights[a] + cat.weights[b] + 60
    r = await http.post(ship.pack_url, headers=ship.staff, json={"weight_grams": weight})
    assert r.status_code == 422 and r.json()["reason"] == "items_unverified"
    assert await labels(sessions, ship) == []  # refused: no label bought

    r = await scan(a, "v1", "pack")
    assert r.status_code == 200 and r.json()["stage"] == "pack"
    assert (r.json()["picked"], r.json()["shipment_remaining"]) == (1, 2)
    r = await scan(b, "v2", "pack")
    assert r.status_code == 200
    r = await scan(b, "v3", "pack")  # only one b was picked
    assert r.status_code == 422 and r.json()["reason"] == "not_picked"
    r = await scan(a, "v4", "pack")
    assert r.status_code == 200 and r.json()["shipment_remaining"] == 0

    r = await http.post(ship.pack_url, headers=ship.staff, json={"weight_grams": weight})
    assert r.status_code == 200, r.text
    await assert_shipped(sessions, ship, r, {a: (8, 0), b: (9, 0)})
    async with sessions() as s:
        stages = (
            await s.execute(
                select(ScanEvent.stage, ScanEvent.accepted)
                .where(ScanEvent.shipment_id == ship.shipment_id)
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
    http: httpx.AsyncClient,
    make_catalog: Any,
    open_shipment: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat: Catalog = await make_catalog(n_products=1)
    (a,) = cat.skus
    ship: OpenShipment = await open_shipment([a], [1])
    r = await http.post(
        ship.scans_url, headers=ship.staff, json={"barcode": cat.barcodes[a], "scan_id": "p1"}
    )
    assert r.status_code == 200
    r = await http.post(
        ship.pack_url, headers=ship.staff, json={"weight_grams": cat.weights[a] + 60}
    )
    assert r.status_code == 200, r.text
    await assert_shipped(sessions, ship, r, {a: (9, 0)})
