"""The floor moves of a shipment (first scan → picking, last scan → all picked) reach the
dashboard: the order writes its shipment's row and events with its own projection."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.tables import OrderEventRow, OrderRow, ShipmentRow
from tests.api.conftest import OpenShipment
from tests.api.helpers import eventually
from tests.conftest import Catalog


async def test_first_and_last_scan_move_the_work_list_and_the_order(
    http: httpx.AsyncClient,
    open_shipment: Any,
    make_catalog: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat: Catalog = await make_catalog()
    sku = cat.skus[0]
    ship: OpenShipment = await open_shipment([sku], [2])

    async def rows(status: str, picked: int) -> tuple[ShipmentRow, OrderRow] | None:
        async with sessions() as s:
            shipment = await s.get(ShipmentRow, ship.shipment_id)
            order = await s.get(OrderRow, ship.order_id)
        if shipment is None or order is None or order.status != status:
            return None
        if shipment.status != "picking" or shipment.lines[0]["picked"] != picked:
            return None
        return shipment, order

    body = {"barcode": cat.barcodes[sku], "scan_id": "first", "station": "S1"}
    assert (await http.post(ship.scans_url, headers=ship.staff, json=body)).status_code == 200
    await eventually(lambda: rows("picking", 1))
    work = await http.get("/api/v1/shipments", headers=ship.staff, params={"status": "picking"})
    mine = [w for w in work.json() if w["shipment_id"] == ship.shipment_id]
    assert [(ln["sku"], ln["quantity"], ln["picked"]) for ln in mine[0]["lines"]] == [(sku, 2, 1)]

    body = {**body, "scan_id": "last"}
    assert (await http.post(ship.scans_url, headers=ship.staff, json=body)).status_code == 200
    shipment, _ = await eventually(lambda: rows("packing", 2))

    async with sessions() as s:
        types = (
            await s.scalars(
                select(OrderEventRow.type).where(OrderEventRow.order_id == ship.order_id)
            )
        ).all()
    assert "picked" in types  # the shipment's event, written with the order's projection
    detail = (await http.get(f"/api/v1/orders/{ship.order_id}", headers=ship.staff)).json()
    assert detail["status"] == "packing"
    assert [ln["picked"] for s in detail["shipments"] for ln in s["lines"]] == [2]
