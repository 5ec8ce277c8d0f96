"""GS1 element strings at the scanner: lot, expiry and serial are read and enforced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.tables import ScanEvent
from tests.api.conftest import OpenShipment
from tests.conftest import Catalog

GS = "\x1d"


def yymmdd(days_from_today: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days_from_today)).strftime("%y%m%d")


async def test_gs1_lot_expiry_and_serial(
    http: httpx.AsyncClient,
    make_catalog: Any,
    open_shipment: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat: Catalog = await make_catalog(n_products=1)
    sku = cat.skus[0]
    gtin14 = cat.barcodes[sku].zfill(14)
    ship: OpenShipment = await open_shipment([sku], [3])

    async def scan(barcode: str, scan_id: str) -> httpx.Response:
        body = {"barcode": barcode, "scan_id": scan_id}
        return await http.post(ship.scans_url, headers=ship.staff, json=body)

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
    wrong_check = (int(gtin14[-1]) + 1) % 10  # not "0": that is some GTINs' right digit
    r = await scan(f"(01){gtin14[:-1]}{wrong_check}(10)X", "g4")
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
                .where(ScanEvent.shipment_id == ship.shipment_id)
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
