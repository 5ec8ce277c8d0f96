"""End to end through the HTTP API with a real worker: intake → pick → pack → track."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.worker import Worker

from store.tables import ScanEvent, ShipmentRow
from tests.api.helpers import eventually, shopify_order
from tests.conftest import Catalog, make_gtin13


@pytest.fixture
async def shipped_order(
    worker: Worker,
    shopify_post,
    make_catalog,  # type: ignore[no-untyped-def]
    sessions: async_sessionmaker[AsyncSession],
) -> dict[str, Any]:
    cat: Catalog = await make_catalog()
    payload = shopify_order(cat.skus, [2, 1])
    r = await shopify_post(payload, webhook_id=f"wh-{uuid.uuid4()}")
    assert r.status_code == 202, r.text
    order_id = r.json()["order_id"]
    shipment_id = f"{order_id}-1"

    async def shipment() -> ShipmentRow | None:
        async with sessions() as s:
            return await s.get(ShipmentRow, shipment_id)

    row = await eventually(shipment)
    return {
        "cat": cat,
        "order_id": order_id,
        "shipment_id": shipment_id,
        "warehouse": row.warehouse,
    }


async def test_pick_pack_track(
    http: httpx.AsyncClient,
    make_key,
    admin: dict[str, str],
    shipped_order: dict[str, Any],  # type: ignore[no-untyped-def]
    carrier_post,
    sessions: async_sessionmaker[AsyncSession],  # type: ignore[no-untyped-def]
) -> None:
    cat: Catalog = shipped_order["cat"]
    order_id, shipment_id, wh = (shipped_order[k] for k in ("order_id", "shipment_id", "warehouse"))
    staff = await make_key("staff", wh)
    other_wh = next(w for w in cat.warehouses if w != wh)
    stranger = await make_key("staff", other_wh)

    work = await http.get("/api/v1/shipments", headers=staff)
    assert work.status_code == 200
    assert shipment_id in [w["shipment_id"] for w in work.json()]
    assert (
        await http.get("/api/v1/shipments", headers=stranger, params={"warehouse": wh})
    ).status_code == 403

    url = f"/api/v1/shipments/{shipment_id}/scans"
    sku0, sku1 = cat.skus
    assert (
        await http.post(
            url, headers=stranger, json={"barcode": cat.barcodes[sku0], "scan_id": "s0"}
        )
    ).status_code == 403
    bad = cat.barcodes[sku0][:-1] + str((int(cat.barcodes[sku0][-1]) + 1) % 10)
    r = await http.post(url, headers=staff, json={"barcode": bad, "scan_id": "s1"})
    assert r.status_code == 422 and r.json()["reason"] == "invalid_barcode"
    assert r.json()["accepted"] is False
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await http.post(
        url, headers=staff, json={"barcode": make_gtin13(99_999_999), "scan_id": "s2"}
    )
    assert r.json()["reason"] == "unknown_barcode"
    # a real product that is not in this order
    other_sku = f"OTHER-{uuid.uuid4().hex[:6]}"
    other_code = make_gtin13(98_000_000 + uuid.uuid4().int % 1_000_000)
    assert (
        await http.post(
            "/api/v1/products",
            headers=admin,
            json={"sku": other_sku, "name": "o", "barcodes": [other_code], "weight_grams": 5},
        )
    ).status_code == 201
    r = await http.post(url, headers=staff, json={"barcode": other_code, "scan_id": "s3"})
    assert r.status_code == 422 and r.json()["reason"] == "wrong_item"

    r = await http.post(
        url, headers=staff, json={"barcode": cat.barcodes[sku0], "scan_id": "s4", "station": "A1"}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "accepted": True,
        "sku": sku0,
        "picked": 1,
        "remaining": 1,
        "shipment_remaining": 2,
        "stage": "pick",
    }
    retry = await http.post(
        url, headers=staff, json={"barcode": cat.barcodes[sku0], "scan_id": "s4"}
    )
    assert retry.status_code == 200 and retry.json() == r.json()  # counted once
    r = await http.post(
        url, headers=staff, json={"barcode": cat.barcodes[sku0], "scan_id": "s5", "quantity": 2}
    )
    assert r.status_code == 422 and r.json()["reason"] == "over_scan"

    pack_url = f"/api/v1/shipments/{shipment_id}/pack"
    r = await http.post(pack_url, headers=staff, json={"weight_grams": 500})
    assert r.status_code == 422 and r.json()["reason"] == "items_missing"

    for scan_id, sku in (("s6", sku0), ("s7", sku1)):
        r = await http.post(
            url, headers=staff, json={"barcode": cat.barcodes[sku], "scan_id": scan_id}
        )
        assert r.status_code == 200, r.text
    assert r.json()["shipment_remaining"] == 0

    expected = 2 * cat.weights[sku0] + cat.weights[sku1]
    r = await http.post(pack_url, headers=staff, json={"weight_grams": expected * 3})
    assert r.status_code == 422 and r.json()["reason"] == "weight_mismatch"
    r = await http.post(pack_url, headers=staff, json={"weight_grams": expected})
    assert r.status_code == 200, r.text
    tracking = r.json()["tracking"]
    assert tracking["number"] and r.json()["label_url"]

    async with sessions() as s:
        events = (
            await s.scalars(
                select(ScanEvent).where(ScanEvent.shipment_id == shipment_id).order_by(ScanEvent.id)
            )
        ).all()
    assert [(e.scan_id, e.accepted, e.reason) for e in events] == [
        ("s1", False, "invalid_barcode"),
        ("s2", False, "unknown_barcode"),
        ("s3", False, "wrong_item"),
        ("s4", True, None),
        ("s5", False, "over_scan"),
        ("s6", True, None),
        ("s7", True, None),
    ]

    # carrier events
    now = datetime.now(UTC).isoformat()
    r = await carrier_post(
        tracking["carrier"],
        {"tracking_number": tracking["number"], "status": "in_transit", "occurred_at": now},
        signature="00",
    )
    assert r.status_code == 401
    r = await carrier_post(
        tracking["carrier"], {"tracking_number": "NOPE", "status": "in_transit", "occurred_at": now}
    )
    assert r.status_code == 404
    for status in ("in_transit", "out_for_delivery", "delivered"):
        r = await carrier_post(
            tracking["carrier"],
            {"tracking_number": tracking["number"], "status": status, "occurred_at": now},
        )
        assert r.status_code == 202, r.text

    async def delivered() -> dict[str, Any] | None:
        d = (await http.get(f"/api/v1/orders/{order_id}", headers=admin)).json()
        return d if d["status"] == "delivered" else None

    detail = await eventually(delivered)
    assert detail["shipments"][0]["tracking"]["number"] == tracking["number"]
    assert [ln["sku"] for ln in detail["lines"]] == [sku0, sku1]
    types = [e["type"] for e in detail["events"]]
    assert "received" in types and "shipped" in types

    cancel = await http.post(
        f"/api/v1/orders/{order_id}/cancel", headers=admin, json={"reason": "too late"}
    )
    assert cancel.status_code == 409 and cancel.json()["reason"] == "already_shipped"

    hist = await http.get(f"/api/v1/orders/{order_id}/history", headers=admin)
    assert hist.status_code == 200
    assert hist.json()["shipments"] is None
    summaries = " ".join(e["summary"] for e in hist.json()["events"])
    assert "local activity allocate_stock" in summaries
    assert "signal shipment_changed" in summaries  # shipped: the one floor move it hears
    assert "patch generation-10" in summaries

    whole = await http.get(
        f"/api/v1/orders/{order_id}/history", headers=admin, params={"include": "shipments"}
    )
    assert whole.status_code == 200
    story = whole.json()
    assert [e["summary"] for e in story["events"]] == [e["summary"] for e in hist.json()["events"]]
    (child,) = story["shipments"]
    assert child["shipment_id"] == f"{order_id}-1"
    assert child["workflow_id"] == f"ful-{order_id}-1" and child["run_id"]
    child_summaries = " ".join(e["summary"] for e in child["events"])
    assert "update scan accepted" in child_summaries and "activity buy_label" in child_summaries
    assert child["events"][-1]["type"] == "workflow_execution_completed"
    unknown = await http.get(
        f"/api/v1/orders/{order_id}/history", headers=admin, params={"include": "everything"}
    )
    assert unknown.status_code == 422

    listed = await http.get("/api/v1/orders", headers=admin, params={"q": order_id})
    assert [o["order_id"] for o in listed.json()["items"]] == [order_id]
    acc = await http.get(
        "/api/v1/analytics/accuracy", headers=admin, params={"group_by": "station"}
    )
    assert acc.status_code == 200 and any(row["group"] == "A1" for row in acc.json())


async def test_hold_release_and_cancel(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    worker: Worker,
    shopify_post,  # type: ignore[no-untyped-def]
    make_catalog,
    sessions: async_sessionmaker[AsyncSession],  # type: ignore[no-untyped-def]
) -> None:
    cat: Catalog = await make_catalog()
    payload = shopify_order(cat.skus)
    payload["financial_status"] = "pending"  # waits for orders/paid: a stable point to act on
    r = await shopify_post(payload, webhook_id=f"wh-{uuid.uuid4()}")
    order_id = r.json()["order_id"]

    async def awaiting() -> dict[str, Any] | None:
        d = await http.get(f"/api/v1/orders/{order_id}", headers=admin)
        return (
            d.json() if d.status_code == 200 and d.json()["status"] == "awaiting_payment" else None
        )

    await eventually(awaiting)
    base = f"/api/v1/orders/{order_id}"
    r = await http.post(f"{base}/holds", headers=admin, json={"reason": "NOT_A_REASON"})
    assert r.status_code == 422
    r = await http.post(
        f"{base}/holds", headers=admin, json={"reason": "INCORRECT_ADDRESS", "note": "check zip"}
    )
    assert r.status_code == 201, r.text
    hold_id = r.json()["hold_id"]
    detail = (await http.get(base, headers=admin)).json()
    assert [h["hold_id"] for h in detail["holds"]] == [hold_id]
    r = await http.post(f"{base}/holds/{uuid.uuid4()}/release", headers=admin)
    assert r.status_code == 404
    r = await http.post(f"{base}/holds/{hold_id}/release", headers=admin)
    assert r.status_code == 200 and r.json()["holds"] == []

    r = await http.post(f"{base}/cancel", headers=admin, json={"reason": "customer asked"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    again = await http.post(f"{base}/cancel", headers=admin, json={"reason": "again"})
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    assert (await http.get("/api/v1/orders/nope-404", headers=admin)).status_code == 404

    # The list files it under cancelled, and only there (exact counts: test_order_list.py).
    async def listed_under(status: str) -> list[str]:
        r = await http.get(
            "/api/v1/orders", headers=admin, params={"status": status, "q": order_id}
        )
        return [o["order_id"] for o in r.json()["items"]]

    assert await eventually(lambda: listed_under("cancelled")) == [order_id]
    assert await listed_under("awaiting_payment") == []
    counts = (await http.get("/api/v1/orders/counts", headers=admin)).json()
    assert set(counts) >= {"cancelled", "awaiting_payment"} and counts["cancelled"] >= 1


async def test_adjustment_wakes_backorder(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    worker: Worker,
    shopify_post,  # type: ignore[no-untyped-def]
    make_catalog,  # type: ignore[no-untyped-def]
) -> None:
    cat: Catalog = await make_catalog(stock={}, n_products=1)
    r = await shopify_post(shopify_order(cat.skus), webhook_id=f"wh-{uuid.uuid4()}")
    order_id = r.json()["order_id"]

    async def status_is(wanted: str) -> bool:
        d = await http.get(f"/api/v1/orders/{order_id}", headers=admin)
        return d.status_code == 200 and d.json()["status"] == wanted

    await eventually(lambda: status_is("backordered"))
    r = await http.post(
        "/api/v1/inventory/adjustments",
        headers=admin,
        json={
            "sku": cat.skus[0],
            "warehouse": cat.warehouses[0],
            "delta": 3,
            "reason": "receiving",
        },
    )
    assert r.status_code == 200
    await eventually(lambda: status_is("ready_to_pick"))
    level = (await http.get("/api/v1/inventory", headers=admin, params={"sku": cat.skus[0]})).json()
    assert level[0]["reserved"] == 1 and level[0]["available"] == 2
