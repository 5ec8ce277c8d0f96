"""GET /api/v1/shipments/{id}/label: the label bought at pack, as PDF or ZPL, for the staff
of that shipment's warehouse, ops and admin."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.shipping import ShippingActivities
from domain.models import VoidLabelRequest
from integrations.carriers import SandboxCarrier
from integrations.sandbox import SandboxBehaviour
from store.tables import LabelLedger
from tests.api.conftest import KeyMaker, OpenShipment
from tests.api.helpers import eventually
from tests.conftest import Catalog
from tests.integrations.label_reader import barcodes, text


def problem(r: httpx.Response, status: int, reason: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["reason"] == reason


async def pack(http: httpx.AsyncClient, cat: Catalog, ship: OpenShipment) -> dict[str, Any]:
    """Pick every line and pack at the expected weight; the pack answer once a label exists
    (a 202 "label pending" answer is followed until the label is there)."""
    for i, sku in enumerate(cat.skus):
        r = await http.post(
            ship.scans_url,
            headers=ship.staff,
            json={"barcode": cat.barcodes[sku], "scan_id": f"{ship.shipment_id}-{i}"},
        )
        assert r.status_code == 200, r.text
    weight = sum(cat.weights.values())
    r = await http.post(ship.pack_url, headers=ship.staff, json={"weight_grams": weight})
    assert r.status_code in (200, 202), r.text
    answer: dict[str, Any] = r.json()
    return answer


async def test_label_before_and_after_pack(
    http: httpx.AsyncClient,
    make_catalog: Any,
    open_shipment: Any,
    make_key: KeyMaker,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat: Catalog = await make_catalog()
    ship: OpenShipment = await open_shipment(cat.skus, [1, 1])
    url = f"/api/v1/shipments/{ship.shipment_id}/label"
    stranger = await make_key("staff", next(w for w in cat.warehouses if w != ship.warehouse))
    ops = await make_key("ops")

    problem(await http.get(url, params={"format": "pdf"}), 401, "unauthenticated")
    problem(await http.get(url, headers=stranger), 403, "other_warehouse")
    problem(await http.get(url, headers=ship.staff), 404, "label_not_ready")
    problem(
        await http.get(url, headers=ship.staff, params={"format": "png"}), 422, "validation_error"
    )
    problem(await http.get("/api/v1/shipments/nope-1/label", headers=admin), 404, "not_found")

    answer = await pack(http, cat, ship)
    label_url = f"/api/v1/shipments/{ship.shipment_id}/label?format=pdf"
    if "label_url" in answer:
        assert answer["label_url"] == label_url

    async def served() -> httpx.Response | None:
        r = await http.get(label_url, headers=ship.staff)
        return r if r.status_code == 200 else None

    pdf = await eventually(served)
    number = await tracking_number(sessions, ship.shipment_id)
    if "tracking" in answer:
        assert answer["tracking"]["number"] == number
    assert pdf.headers["content-type"] == "application/pdf"
    assert re.fullmatch(
        rf'inline; filename="label-{number}\.pdf"', pdf.headers["content-disposition"]
    )
    # A scanner reads the tracking number back from the printed barcode.
    assert barcodes(pdf.content) == [("Code128", number)]
    printed = text(pdf.content)
    # Ship-from is the warehouse; ship-to the order's address; the order's service.
    for expected in (
        ship.warehouse,
        "Mara Lindqvist",
        "418 Alder Street",
        "Portland OR 97205",
        "EXPRESS",
        ship.shipment_id,
    ):
        assert expected in printed, (expected, printed)

    zpl = await http.get(url, headers=ship.staff, params={"format": "zpl"})
    assert zpl.status_code == 200
    assert zpl.headers["content-type"].startswith("application/zpl")
    assert f'filename="label-{number}.zpl"' in zpl.headers["content-disposition"]
    assert zpl.text.startswith("^XA") and zpl.text.rstrip().endswith("^XZ")
    assert re.search(rf"\^BC[^\^]*\^FH\^FD{number}\^FS", zpl.text)

    for who in (ops, admin):
        r = await http.get(label_url, headers=who)
        assert r.status_code == 200 and r.content == pdf.content
    problem(await http.get(label_url, headers=stranger), 403, "other_warehouse")


async def tracking_number(sessions: async_sessionmaker[AsyncSession], shipment_id: str) -> str:
    async with sessions() as s:
        number = await s.scalar(
            select(LabelLedger.tracking_number).where(LabelLedger.shipment_id == shipment_id)
        )
    assert number is not None
    return number


async def test_a_voided_label_is_gone(
    http: httpx.AsyncClient,
    make_catalog: Any,
    open_shipment: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat: Catalog = await make_catalog()
    ship: OpenShipment = await open_shipment(cat.skus, [1, 1])
    await pack(http, cat, ship)
    url = f"/api/v1/shipments/{ship.shipment_id}/label?format=zpl"

    async def served() -> httpx.Response | None:
        r = await http.get(url, headers=ship.staff)
        return r if r.status_code == 200 else None

    await eventually(served)
    # The compensation a cancelled shipment runs: the carrier voids the label.
    carrier = SandboxCarrier(sessions, SandboxBehaviour(latency_ms=(0, 1), failure_rate=0))
    await ShippingActivities(sessions, carrier).void_label(
        VoidLabelRequest(shipment_id=ship.shipment_id)
    )
    problem(await http.get(url, headers=ship.staff), 410, "label_voided")


async def test_openapi_declares_both_label_media_types(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    responses = spec["paths"]["/api/v1/shipments/{shipment_id}/label"]["get"]["responses"]
    assert set(responses["200"]["content"]) == {"application/pdf", "application/zpl"}
    for code in ("401", "403", "404", "410", "422"):
        assert "application/problem+json" in responses[code]["content"], code
