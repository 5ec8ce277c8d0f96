"""GS1 element strings at the scanner: lot, expiry and serial are read and enforced."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.worker import Worker

from store.tables import ScanEvent, ShipmentRow
from tests.api.helpers import eventually, shopify_order
from tests.conftest import Catalog

GS = "\x1d"


def yymmdd(days_from_today: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days_from_today)).strftime("%y%m%d")


async def test_gs1_lot_expiry_and_serial(
    worker: Worker,
    http: httpx.AsyncClient,
    make_key: Any,
    make_catalog: Any,
    shopify_post: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat: Catalog = await make_catalog(n_products=1)
    sku = cat.skus[0]
    gtin14 = cat.barcodes[sku].zfill(14)
    r = await shopify_post(shopify_order([sku], [3]), webhook_id=f"wh-{uuid.uuid4()}")
    assert r.status_code == 202, r.text
    shipment_id = f"{r.json()['order_id']}-1"

    async def shipment() -> ShipmentRow | None:
        async with sessions() as s:
            return await s.get(ShipmentRow, shipment_id)

    row = await eventually(shipment)
    staff = await make_key("staff", row.warehouse)
    url = f"/api/v1/shipments/{shipment_id}/scans"

    async def scan(barcode: str, scan_id: str) -> httpx.Response:
        return await http.post(url, headers=staff, json={"barcode": barcode, "scan_id": scan_id})

    # An expired lot is refused before it reaches the shipment.
    r = await scan(f"(01){gtin14}(17){yymmdd(-1)}(10)OLD-LOT", "g1")
    assert r.status_code == 422 and r.json()["reason"] == "expired"

    # The raw form (FNC1 as group separator, symbology id) and a serial: accepted once.
    fresh = f"]d201{gtin14}17{yymmdd(90)}10LOT-7{GS}21SN-0001"
    r = await scan(fresh, "g2")
    assert r.status_code == 200, r.text
    assert r.json()["picked"] == 1
    r = await scan(f"(01){gtin14}(17){yymmdd(90)}(10)LOT-7(21)SN-0001", "g3")
    assert r.status_code == 422 and r.json()["reason"] == "duplicate_serial"

    # A malformed element string is an invalid barcode, with the reason a person can act on.
    r = await scan(f"(01){gtin14[:-1]}0(10)X", "g4")
    assert r.status_code == 422 and r.json()["reason"] == "invalid_barcode"

    # The plain GTIN still works, and every attempt is on record with what it carried.
    r = await scan(cat.barcodes[sku], "g5")
    assert r.status_code == 200 and r.json()["picked"] == 2
    async with sessions() as s:
        events = (
            await s.execute(
                select(
                    ScanEvent.scan_id,
                    ScanEvent.accepted,
                    ScanEvent.reason,
                    ScanEvent.lot,
                    ScanEvent.serial,
                )
                .where(ScanEvent.shipment_id == shipment_id)
                .order_by(ScanEvent.id)
            )
        ).all()
    assert [tuple(e) for e in events] == [
        ("g1", False, "expired", "OLD-LOT", None),
        ("g2", True, None, "LOT-7", "SN-0001"),
        ("g3", False, "duplicate_serial", "LOT-7", "SN-0001"),
        ("g4", False, "invalid_barcode", None, None),
        ("g5", True, None, None, None),
    ]
