"""What a person reads after a floor action's 200 is already true: each scan, the packaging
check and the pack advance the shipment's row and the order's floor status before the
answer leaves (no polling), and the order workflow is not told about any of it."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from domain import names
from store.tables import OrderEventRow, OrderRow
from tests.api.conftest import OpenShipment
from tests.conftest import Catalog


async def _read_both(
    http: httpx.AsyncClient, ship: OpenShipment
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The order detail and this shipment's entry in its warehouse's work list."""
    detail = await http.get(f"/api/v1/orders/{ship.order_id}", headers=ship.staff)
    assert detail.status_code == 200, detail.text
    work = await http.get("/api/v1/shipments", headers=ship.staff)
    assert work.status_code == 200, work.text
    mine = [w for w in work.json() if w["shipment_id"] == ship.shipment_id]
    assert len(mine) == 1
    return detail.json(), mine[0]


async def test_each_scan_is_read_back_at_once_by_the_order_and_the_work_list(
    http: httpx.AsyncClient,
    open_shipment: Any,
    make_catalog: Any,
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
) -> None:
    cat: Catalog = await make_catalog()
    sku = cat.skus[0]
    ship: OpenShipment = await open_shipment([sku], [3])
    detail, item = await _read_both(http, ship)
    assert (detail["status"], item["status"]) == ("ready_to_pick", "open")

    for n in (1, 2, 3):
        body = {"barcode": cat.barcodes[sku], "scan_id": f"scan-{n}", "station": "S1"}
        r = await http.post(ship.scans_url, headers=ship.staff, json=body)
        assert r.status_code == 200, r.text
        assert r.json()["picked"] == n
        detail, item = await _read_both(http, ship)
        # Right after the answer, no polling: both views show this scan.
        assert [ln["picked"] for s in detail["shipments"] for ln in s["lines"]] == [n]
        assert [ln["picked"] for ln in item["lines"]] == [n]
        assert detail["shipments"][0]["status"] == item["status"] == "picking"
        assert detail["status"] == ("packing" if n == 3 else "picking")
        async with sessions() as s:
            row = await s.get(OrderRow, ship.order_id)
            assert row is not None
            assert row.status == detail["status"]  # the list and the counts read this

    # The pick step is done in the order's step view, from the shipment's own row.
    steps = {v["step"]: v for v in detail["steps"]}
    assert steps["pick"]["state"] == "done"
    assert steps["pack"]["state"] == "active"
    async with sessions() as s:
        types = (
            await s.scalars(
                select(OrderEventRow.type).where(OrderEventRow.order_id == ship.order_id)
            )
        ).all()
    assert "picked" in types  # written with the last scan's own record

    # The order workflow heard none of the three scans (no signal per floor move).
    history = await client.get_workflow_handle(
        names.order_workflow_id(ship.order_id)
    ).fetch_history()
    signals = [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in history.events
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert "shipment_changed" not in signals

    # A retried scan (same scan_id) gets its first answer and moves nothing.
    again = await http.post(
        ship.scans_url,
        headers=ship.staff,
        json={"barcode": cat.barcodes[sku], "scan_id": "scan-2", "station": "S1"},
    )
    assert again.status_code == 200 and again.json()["picked"] == 2
    detail, item = await _read_both(http, ship)
    assert [ln["picked"] for ln in item["lines"]] == [3]
    assert detail["status"] == "packing"


async def test_pack_is_read_back_as_shipped_and_the_order_hears_it(
    http: httpx.AsyncClient, open_shipment: Any, make_catalog: Any
) -> None:
    cat: Catalog = await make_catalog()
    sku = cat.skus[0]
    ship: OpenShipment = await open_shipment([sku], [1])
    body = {"barcode": cat.barcodes[sku], "scan_id": "only", "station": "S1"}
    assert (await http.post(ship.scans_url, headers=ship.staff, json=body)).status_code == 200
    detail, item = await _read_both(http, ship)
    assert (detail["status"], item["status"]) == ("packing", "picking")

    packed = await http.post(
        ship.pack_url, headers=ship.staff, json={"weight_grams": cat.weights[sku] + 50}
    )
    assert packed.status_code == 200, packed.text
    detail = (await http.get(f"/api/v1/orders/{ship.order_id}", headers=ship.staff)).json()
    assert detail["shipments"][0]["status"] == "shipped"
    assert detail["shipments"][0]["tracking"]["number"] == packed.json()["tracking"]["number"]
    work = await http.get("/api/v1/shipments", headers=ship.staff)
    assert ship.shipment_id not in {w["shipment_id"] for w in work.json()}  # off the list
