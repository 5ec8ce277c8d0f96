"""Case / inner-pack barcodes: one scan picks the pack's quantity, never more than is left."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.api.conftest import OpenShipment
from tests.conftest import Catalog, make_gtin13


async def test_packaging_barcode_must_hold_two_or_more(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    r = await http.post(
        "/api/v1/products",
        headers=admin,
        json={
            "sku": f"P-{uuid.uuid4().hex[:6]}",
            "name": "x",
            "weight_grams": 10,
            "barcodes": [make_gtin13(90_000_001)],
            "packaging": [{"barcode": make_gtin13(90_000_002), "quantity": 1}],
        },
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_case_scan_picks_the_case_quantity(
    http: httpx.AsyncClient, admin: dict[str, str], make_catalog: Any, open_shipment: Any
) -> None:
    cat: Catalog = await make_catalog(stock={}, n_products=1)  # warehouses only
    sku = f"CASE-{uuid.uuid4().hex[:6]}"
    n = int(uuid.uuid4().int % 10**5)
    unit, case = make_gtin13(90_000_000 + n), make_gtin13(91_000_000 + n)
    r = await http.post(
        "/api/v1/products",
        headers=admin,
        json={
            "sku": sku,
            "name": "Tea light, case of 6",
            "weight_grams": 20,
            "barcodes": [unit],
            "packaging": [{"barcode": case, "quantity": 6}],
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["packaging"] == [{"barcode": case.zfill(14), "quantity": 6}]
    wh = cat.warehouses[0]
    r = await http.post(
        "/api/v1/inventory/adjustments",
        headers=admin,
        json={"sku": sku, "warehouse": wh, "delta": 20, "reason": "receiving"},
    )
    assert r.status_code == 200, r.text

    ship: OpenShipment = await open_shipment([sku], [8])
    url, staff = ship.scans_url, ship.staff

    r = await http.post(url, headers=staff, json={"barcode": case, "scan_id": "c1"})
    assert r.status_code == 200, r.text
    assert (r.json()["picked"], r.json()["remaining"]) == (6, 2)
    r = await http.post(url, headers=staff, json={"barcode": case, "scan_id": "c2"})
    assert r.status_code == 422 and r.json()["reason"] == "over_scan"
    for n in (1, 2):
        r = await http.post(url, headers=staff, json={"barcode": unit, "scan_id": f"u{n}"})
        assert r.status_code == 200, r.text
    assert (r.json()["picked"], r.json()["remaining"], r.json()["shipment_remaining"]) == (8, 0, 0)
