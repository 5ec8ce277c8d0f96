"""Catalog and stock through the API: barcode checks, duplicates, adjustments."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.tables import ProductBarcode
from tests.conftest import Catalog, make_gtin13


def _sku() -> str:
    return f"API-{uuid.uuid4().hex[:8]}"


async def test_warehouse_create_and_list(http: httpx.AsyncClient, admin: dict[str, str]) -> None:
    code = f"W{uuid.uuid4().hex[:6]}"
    body = {
        "code": code,
        "name": "Reno",
        "country_code": "US",
        "latitude": 39.5,
        "longitude": -119.8,
        "priority": 50,
    }
    r = await http.post("/api/v1/warehouses", headers=admin, json=body)
    assert r.status_code == 201, r.text
    assert (await http.post("/api/v1/warehouses", headers=admin, json=body)).status_code == 409
    listed = (await http.get("/api/v1/warehouses", headers=admin)).json()
    assert any(w["code"] == code and w["priority"] == 50 for w in listed)


async def test_product_stored_with_normalised_barcode(
    http: httpx.AsyncClient, admin: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    sku, ean = _sku(), make_gtin13(90_000_000 + uuid.uuid4().int % 1_000_000)
    r = await http.post(
        "/api/v1/products",
        headers=admin,
        json={"sku": sku, "name": "Mug", "barcodes": [ean], "weight_grams": 420},
    )
    assert r.status_code == 201, r.text
    assert r.json()["barcodes"] == [ean.zfill(14)]
    async with sessions() as s:
        rows = (await s.scalars(select(ProductBarcode).where(ProductBarcode.sku == sku))).all()
        assert [b.gtin for b in rows] == [ean.zfill(14)]
    got = await http.get(f"/api/v1/products/{sku}", headers=admin)
    assert got.status_code == 200 and got.json()["weight_grams"] == 420
    assert (await http.get(f"/api/v1/products/{_sku()}", headers=admin)).status_code == 404


async def test_invalid_barcode_is_422(http: httpx.AsyncClient, admin: dict[str, str]) -> None:
    good = make_gtin13(91_000_000 + uuid.uuid4().int % 1_000_000)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    sku = _sku()
    r = await http.post(
        "/api/v1/products",
        headers=admin,
        json={"sku": sku, "name": "X", "barcodes": [bad], "weight_grams": 1},
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["reason"] == "invalid_barcode"
    assert (await http.get(f"/api/v1/products/{sku}", headers=admin)).status_code == 404


async def test_duplicate_barcode_is_409(http: httpx.AsyncClient, admin: dict[str, str]) -> None:
    ean = make_gtin13(92_000_000 + uuid.uuid4().int % 1_000_000)
    first = await http.post(
        "/api/v1/products",
        headers=admin,
        json={"sku": _sku(), "name": "A", "barcodes": [ean], "weight_grams": 5},
    )
    assert first.status_code == 201
    # the same item as a GTIN-14: still the same barcode
    second_sku = _sku()
    r = await http.post(
        "/api/v1/products",
        headers=admin,
        json={"sku": second_sku, "name": "B", "barcodes": [ean.zfill(14)], "weight_grams": 5},
    )
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert (await http.get(f"/api/v1/products/{second_sku}", headers=admin)).status_code == 404


async def test_adjustments_and_levels(
    http: httpx.AsyncClient, admin: dict[str, str], make_catalog
) -> None:  # type: ignore[no-untyped-def]
    cat: Catalog = await make_catalog(stock={})
    sku, wh = cat.skus[0], cat.warehouses[0]
    r = await http.post(
        "/api/v1/inventory/adjustments",
        headers=admin,
        json={"sku": sku, "warehouse": wh, "delta": 5, "reason": "receiving"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"sku": sku, "warehouse": wh, "on_hand": 5, "reserved": 0, "available": 5}
    r = await http.post(
        "/api/v1/inventory/adjustments",
        headers=admin,
        json={"sku": sku, "warehouse": wh, "on_hand": 3, "reason": "count"},
    )
    assert r.json()["on_hand"] == 3


async def test_adjustment_below_zero_is_409_and_level_unchanged(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_catalog,  # type: ignore[no-untyped-def]
) -> None:
    cat: Catalog = await make_catalog(stock={"PDX": {"0": 2}})
    sku, wh = cat.skus[0], cat.warehouses[0]
    r = await http.post(
        "/api/v1/inventory/adjustments",
        headers=admin,
        json={"sku": sku, "warehouse": wh, "delta": -3, "reason": "damaged"},
    )
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["reason"] == "insufficient_stock"
    levels = (
        await http.get("/api/v1/inventory", headers=admin, params={"sku": sku, "warehouse": wh})
    ).json()
    assert levels == [{"sku": sku, "warehouse": wh, "on_hand": 2, "reserved": 0, "available": 2}]


async def test_adjustment_unknown_sku_is_404(
    http: httpx.AsyncClient, admin: dict[str, str], make_catalog
) -> None:  # type: ignore[no-untyped-def]
    cat: Catalog = await make_catalog(stock={})
    r = await http.post(
        "/api/v1/inventory/adjustments",
        headers=admin,
        json={"sku": _sku(), "warehouse": cat.warehouses[0], "delta": 1, "reason": "x"},
    )
    assert r.status_code == 404
    r = await http.post(
        "/api/v1/inventory/adjustments",
        headers=admin,
        json={"sku": cat.skus[0], "warehouse": cat.warehouses[0], "reason": "x"},
    )
    assert r.status_code == 422  # neither delta nor on_hand
