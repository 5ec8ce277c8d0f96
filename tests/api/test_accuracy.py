"""``/api/v1/analytics/accuracy``: the numbers (scans, rejected, accuracy) of real scans, for
each ``group_by`` and with ``since``.

The warehouse, stations and SKUs are the test's own, so its rows are exactly these scans.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.conftest import KeyMaker, OpenShipment
from tests.conftest import Catalog

URL = "/api/v1/analytics/accuracy"


async def rows(
    http: httpx.AsyncClient, headers: dict[str, str], group_by: str, since: datetime | None = None
) -> dict[str | None, tuple[int, int, float]]:
    params: dict[str, str] = {"group_by": group_by}
    if since is not None:
        params["since"] = since.isoformat()
    r = await http.get(URL, headers=headers, params=params)
    assert r.status_code == 200, r.text
    return {row["group"]: (row["scans"], row["rejected"], row["accuracy"]) for row in r.json()}


def mine(found: dict[str | None, Any], groups: set[str]) -> dict[str | None, Any]:
    return {g: v for g, v in found.items() if g in groups}


async def test_accuracy_counts_every_scan_by_group_and_since(
    http: httpx.AsyncClient,
    make_catalog: Any,
    open_shipment: Any,
    make_key: KeyMaker,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat: Catalog = await make_catalog({"PDX": {"0": 5, "1": 5, "2": 5}}, n_products=3)
    sku0, sku1, sku2 = cat.skus  # sku2 is in the catalog but not in the order
    ship: OpenShipment = await open_shipment([sku0, sku1], [2, 1])
    first, second = f"A-{cat.prefix}", f"B-{cat.prefix}"
    ops = await make_key("ops")

    async def scan(sku: str, scan_id: str, station: str, ok: bool) -> None:
        body = {"barcode": cat.barcodes[sku], "scan_id": scan_id, "station": station}
        r = await http.post(ship.scans_url, headers=ship.staff, json=body)
        assert r.status_code == (200 if ok else 422), r.text

    await scan(sku0, "1", first, ok=True)
    await scan(sku2, "2", first, ok=False)  # wrong item
    await asyncio.sleep(0.05)
    async with sessions() as s:  # the database's clock: the one scan rows are stamped with
        mid = await s.scalar(select(func.now()))
    assert mid is not None
    await asyncio.sleep(0.05)
    await scan(sku0, "3", second, ok=True)
    await scan(sku0, "4", second, ok=False)  # one more than ordered
    await scan(sku1, "5", second, ok=True)

    assert mine(await rows(http, ops, "warehouse"), {ship.warehouse}) == {
        ship.warehouse: (5, 2, 0.6)
    }
    assert mine(await rows(http, ops, "station"), {first, second}) == {
        first: (2, 1, 0.5),
        second: (3, 1, 0.6667),
    }
    assert mine(await rows(http, ops, "sku"), set(cat.skus)) == {
        sku0: (3, 1, 0.6667),
        sku1: (1, 0, 1.0),
        sku2: (1, 1, 0.0),
    }

    # since: only what was scanned from then on.
    assert mine(await rows(http, ops, "warehouse", mid), {ship.warehouse}) == {
        ship.warehouse: (3, 1, 0.6667)
    }
    assert mine(await rows(http, ops, "station", mid), {first, second}) == {second: (3, 1, 0.6667)}
    assert mine(await rows(http, ops, "sku", mid), set(cat.skus)) == {
        sku0: (2, 1, 0.5),
        sku1: (1, 0, 1.0),
    }
    async with sessions() as s:
        later = await s.scalar(select(func.now()))
    assert later is not None
    assert mine(await rows(http, ops, "warehouse", later), {ship.warehouse}) == {}

    # Most rejections first.
    listed = (await http.get(URL, headers=ops, params={"group_by": "sku"})).json()
    rejected = [row["rejected"] for row in listed]
    assert rejected == sorted(rejected, reverse=True)


async def test_accuracy_is_for_ops_and_checks_its_parameters(
    http: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    staff = await make_key("staff", "WH-ACC")
    ops = await make_key("ops")
    assert (await http.get(URL)).status_code == 401
    assert (await http.get(URL, headers=staff)).status_code == 403
    assert (await http.get(URL, headers=ops, params={"group_by": "colour"})).status_code == 422
    assert (await http.get(URL, headers=ops, params={"since": "yesterday"})).status_code == 422
