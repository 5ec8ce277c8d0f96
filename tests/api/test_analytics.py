"""``/api/v1/analytics/{accuracy,errors,delays,throughput}`` over real orders: two orders of
the test's own catalog are picked (one with a wrong item), packed (one first refused for its
weight), shipped, and one delivered; the answers count exactly those, and the CSV carries
the same rows as the JSON.

The window starts when the test does, so the rows of earlier tests stay out of it.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.tables import OrderRow, ShipmentRow
from tests.api.conftest import KeyMaker, OpenShipment
from tests.api.helpers import eventually
from tests.conftest import Catalog

BASE = "/api/v1/analytics"


async def db_now(sessions: async_sessionmaker[AsyncSession]) -> datetime:
    async with sessions() as s:
        now = await s.scalar(select(func.now()))
    assert now is not None
    return now


async def shipped_row(sessions: async_sessionmaker[AsyncSession], shipment_id: str) -> ShipmentRow:
    async def probe() -> ShipmentRow | None:
        async with sessions() as s:
            row = await s.get(ShipmentRow, shipment_id)
            return row if row is not None and row.status == "shipped" else None

    return await eventually(probe, attempts=600)


async def pick_and_pack(
    http: httpx.AsyncClient,
    cat: Catalog,
    ship: OpenShipment,
    *,
    wrong_item: bool,
    bad_weight: bool,
) -> None:
    async def scan(sku: str, scan_id: str, ok: bool) -> None:
        body = {"barcode": cat.barcodes[sku], "scan_id": scan_id, "station": f"S-{cat.prefix}"}
        r = await http.post(ship.scans_url, headers=ship.staff, json=body)
        assert r.status_code == (200 if ok else 422), r.text

    sku0, sku1, sku2 = cat.skus
    await scan(sku0, "1", ok=True)
    if wrong_item:
        await scan(sku2, "2", ok=False)
    await scan(sku1, "3", ok=True)
    weight = cat.weights[sku0] + cat.weights[sku1]
    if bad_weight:
        r = await http.post(
            ship.pack_url,
            headers=ship.staff,
            json={"weight_grams": weight * 3, "station": f"P-{cat.prefix}"},
        )
        assert r.status_code == 422 and r.json()["reason"] == "weight_mismatch", r.text
    r = await http.post(ship.pack_url, headers=ship.staff, json={"weight_grams": weight})
    assert r.status_code in (200, 202), r.text


def csv_rows(r: httpx.Response) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.text)))


async def test_analytics_count_what_happened_on_the_floor(
    http: httpx.AsyncClient,
    make_catalog: Any,
    open_shipment: Any,
    make_key: KeyMaker,
    sessions: async_sessionmaker[AsyncSession],
    carrier_post: Callable[..., Awaitable[httpx.Response]],
) -> None:
    start = await db_now(sessions)
    cat: Catalog = await make_catalog({"PDX": {"0": 5, "1": 5, "2": 5}}, n_products=3)
    sku0, sku1, sku2 = cat.skus
    ops = await make_key("ops")
    messy: OpenShipment = await open_shipment([sku0, sku1], [1, 1])
    clean: OpenShipment = await open_shipment([sku0, sku1], [1, 1])
    wh = messy.warehouse
    await pick_and_pack(http, cat, messy, wrong_item=True, bad_weight=True)
    await pick_and_pack(http, cat, clean, wrong_item=False, bad_weight=False)
    delivered = await shipped_row(sessions, messy.shipment_id)
    await shipped_row(sessions, clean.shipment_id)
    assert delivered.carrier and delivered.tracking_number
    for status in ("in_transit", "delivered"):
        r = await carrier_post(
            delivered.carrier,
            {
                "tracking_number": delivered.tracking_number,
                "status": status,
                "occurred_at": datetime.now(UTC).isoformat(),
            },
        )
        assert r.status_code == 202, r.text

    async def deliver_recorded() -> list[dict[str, Any]] | None:
        r = await http.get(
            f"{BASE}/delays",
            headers=ops,
            params={"step": "deliver", "since": start.isoformat()},
        )
        rows = [row for row in r.json()["rows"] if row["group"] == wh]
        return rows or None

    assert [(r["step"], r["count"]) for r in await eventually(deliver_recorded, attempts=600)] == [
        ("deliver", 1)
    ]
    window = {"since": start.isoformat(), "until": (await db_now(sessions)).isoformat()}

    # Accuracy: 5 scans, 1 refused; 2 shipped, 1 of them clean (the other had a refused
    # scan and a weight mismatch).
    r = await http.get(f"{BASE}/accuracy", headers=ops, params={"group_by": "warehouse", **window})
    assert r.status_code == 200, r.text
    mine = [row for row in r.json() if row["group"] == wh]
    assert mine == [
        {
            "group": wh,
            "scans": 5,
            "rejected": 1,
            "accuracy": 0.8,
            "shipped": 2,
            "shipped_clean": 1,
            "fulfillment_accuracy": 0.5,
        }
    ]
    r = await http.get(f"{BASE}/accuracy", headers=ops, params={"group_by": "sku", **window})
    by_sku = {row["group"]: row for row in r.json() if row["group"] in cat.skus}
    assert {k: (v["scans"], v["rejected"], v["shipped"]) for k, v in by_sku.items()} == {
        sku0: (2, 0, 2),
        sku1: (2, 0, 2),
        sku2: (1, 1, 0),
    }
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    async with sessions() as s:
        order = await s.get(OrderRow, messy.order_id)
    assert order is not None
    template = "+".join(order.summary["template"]) or "default"  # the templates applied
    for group_by, group in (("template", template), ("day", today)):
        r = await http.get(f"{BASE}/accuracy", headers=ops, params={"group_by": group_by, **window})
        rows = {row["group"]: row for row in r.json()}
        assert rows[group]["shipped"] == 2 and rows[group]["shipped_clean"] == 1, rows
    # One warehouse's accuracy per day: the dashboard's fulfillment chart.
    r = await http.get(
        f"{BASE}/accuracy", headers=ops, params={"group_by": "day", "warehouse": wh, **window}
    )
    assert [(x["group"], x["scans"], x["shipped"], x["shipped_clean"]) for x in r.json()] == [
        (today, 5, 2, 1)
    ]
    r = await http.get(f"{BASE}/accuracy", headers=ops, params={"group_by": "station", **window})
    station = next(row for row in r.json() if row["group"] == f"S-{cat.prefix}")
    assert (station["scans"], station["rejected"], station["shipped"]) == (5, 1, None)

    # Errors: the refused scan and the refused pack, by reason and warehouse.
    r = await http.get(
        f"{BASE}/errors", headers=ops, params={"group_by": "warehouse,reason", **window}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["since"].startswith(start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M"))
    ours = sorted((row["reason"], row["refused"]) for row in body["rows"] if row["warehouse"] == wh)
    assert ours == [("weight_mismatch", 1), ("wrong_item", 1)]
    assert all(list(row) == ["reason", "warehouse", "refused", "share"] for row in body["rows"])
    assert abs(sum(row["share"] for row in body["rows"]) - 1) < 0.01
    refused = [row["refused"] for row in body["rows"]]
    assert refused == sorted(refused, reverse=True)
    r = await http.get(
        f"{BASE}/errors",
        headers=ops,
        params={"group_by": "reason,warehouse,sku,station", "format": "csv", **window},
    )
    lines = [row for row in csv_rows(r) if row["warehouse"] == wh]
    assert sorted((row["reason"], row["sku"], row["station"]) for row in lines) == [
        ("weight_mismatch", "", f"P-{cat.prefix}"),
        ("wrong_item", sku2, f"S-{cat.prefix}"),
    ]

    # Delays: each step of both orders, the same seconds as the orders' own step views.
    seen: dict[str, list[float]] = {}
    for o in (messy, clean):
        detail = (await http.get(f"/api/v1/orders/{o.order_id}", headers=ops)).json()
        for step in detail["steps"]:
            if step["completed_at"]:
                took = datetime.fromisoformat(step["completed_at"]) - datetime.fromisoformat(
                    step["started_at"]
                )
                seen.setdefault(step["step"], []).append(took.total_seconds())
    r = await http.get(f"{BASE}/delays", headers=ops, params={"group_by": "warehouse", **window})
    assert r.status_code == 200, r.text
    got = {row["step"]: row for row in r.json()["rows"] if row["group"] == wh}
    assert set(got) == set(seen) | {"deliver"}
    for step, secs in seen.items():
        assert got[step]["count"] == len(secs) == 2, (step, got[step])
        assert abs(got[step]["p50_s"] - statistics.median(secs)) < 0.002, (step, got[step])
        assert got[step]["p50_s"] <= got[step]["p90_s"] <= got[step]["p99_s"]
        assert got[step]["sla_breaches"] == 0
    r = await http.get(f"{BASE}/delays", headers=ops, params={"group_by": "all", **window})
    overall = {row["step"]: row for row in r.json()["rows"]}
    assert all(row["group"] == "all" for row in overall.values())
    assert overall["pick"]["count"] == got["pick"]["count"]  # only this test's orders
    r = await http.get(
        f"{BASE}/delays", headers=ops, params={"group_by": "sku", "step": "pick", **window}
    )
    assert {
        (row["group"], row["count"]) for row in r.json()["rows"] if row["group"] in cat.skus
    } == {
        (sku0, 2),
        (sku1, 2),
    }
    r = await http.get(
        f"{BASE}/delays", headers=ops, params={"group_by": "carrier", "format": "csv", **window}
    )
    assert any(
        row["group"] == delivered.carrier and row["step"] == "deliver" for row in csv_rows(r)
    )

    # Throughput: two received, two shipped, one delivered, none cancelled.
    r = await http.get(f"{BASE}/throughput", headers=ops, params={"bucket": "hour", **window})
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    totals = {k: sum(row[k] for row in rows) for k in ("received", "shipped", "delivered")}
    assert totals == {"received": 2, "shipped": 2, "delivered": 1}
    assert sum(row["cancelled"] for row in rows) == 0
    buckets = [datetime.fromisoformat(row["bucket"]) for row in rows]
    assert buckets == sorted(buckets) and all(b.minute == 0 for b in buckets)
    r = await http.get(
        f"{BASE}/throughput", headers=ops, params={"bucket": "day", "format": "csv", **window}
    )
    assert sum(int(row["received"]) for row in csv_rows(r)) == 2


async def test_analytics_check_roles_and_parameters(
    http: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    ops = await make_key("ops")
    staff = await make_key("staff", "WH-AN")
    for path in ("accuracy", "errors", "delays", "throughput"):
        assert (await http.get(f"{BASE}/{path}")).status_code == 401
        assert (await http.get(f"{BASE}/{path}", headers=staff)).status_code == 403
        r = await http.get(f"{BASE}/{path}", headers=ops)
        assert r.status_code == 200, (path, r.text)
        later = datetime.now(UTC)
        bad = {"since": later.isoformat(), "until": (later - timedelta(hours=1)).isoformat()}
        r = await http.get(f"{BASE}/{path}", headers=ops, params=bad)
        assert r.status_code == 422 and r.json()["reason"] == "invalid_window", r.text
        r = await http.get(f"{BASE}/{path}", headers=ops, params={"since": "yesterday"})
        assert r.status_code == 422
        r = await http.get(f"{BASE}/{path}", headers=ops, params={"format": "xml"})
        assert r.status_code == 422
    for group_by in ("colour", "reason,reason", ""):
        r = await http.get(f"{BASE}/errors", headers=ops, params={"group_by": group_by})
        assert r.status_code == 422 and r.json()["reason"] == "invalid_group_by", group_by
    r = await http.get(f"{BASE}/delays", headers=ops, params={"step": "teleport"})
    assert r.status_code == 422
    r = await http.get(
        f"{BASE}/throughput",
        headers=ops,
        params={"bucket": "hour", "since": "2020-01-01T00:00:00Z"},
    )
    assert r.status_code == 422 and r.json()["reason"] == "window_too_large"
    # The default window is the last 7 days.
    body = (await http.get(f"{BASE}/throughput", headers=ops, params={"bucket": "day"})).json()
    span = datetime.fromisoformat(body["until"]) - datetime.fromisoformat(body["since"])
    assert span == timedelta(days=7)
    assert len(body["rows"]) in (7, 8)
