"""Carrier webhooks: each event stored once, applied in order of occurrence; a failure
marks the shipment and its order stuck (``carrier_exception``) until the parcel moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from store.tables import CarrierEvent
from tests.api.helpers import eventually
from tests.api.test_pack_label import WEIGHT, carrier, http, picked_shipment, stack
from tests.api.test_sample_order import carrier_post
from tests.conftest import Stack

__all__ = ["carrier", "http", "stack"]  # fixtures shared with the pack tests

T0 = datetime.now(UTC).replace(microsecond=0)
H = timedelta(hours=1)


async def shipped(stack: Stack, http: httpx.AsyncClient) -> dict[str, Any]:
    o = await picked_shipment(stack, http)
    r = await http.post(
        f"/api/v1/shipments/{o['shipment_id']}/pack",
        headers=o["staff"],
        json={"weight_grams": WEIGHT},
    )
    assert r.status_code == 200, r.text
    return {**o, "number": r.json()["tracking"]["number"]}


async def post(stack: Stack, http: httpx.AsyncClient, number: str, **event: Any) -> dict[str, Any]:
    body = {"tracking_number": number, **event}
    body["occurred_at"] = body["occurred_at"].isoformat()
    r = await carrier_post(http, stack.settings, body)
    assert r.status_code == 202, r.text
    return dict(r.json())


async def shipment(http: httpx.AsyncClient, o: dict[str, Any]) -> dict[str, Any]:
    r = await http.get(f"/api/v1/shipments/{o['shipment_id']}", headers=o["staff"])
    return dict(r.json())


async def test_duplicates_are_stored_once_and_late_events_move_nothing(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    o = await shipped(stack, http)
    n = o["number"]
    first = await post(stack, http, n, status="in_transit", occurred_at=T0, event_id="e1")
    again = await post(stack, http, n, status="in_transit", occurred_at=T0, event_id="e1")
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    # Without an event id: the same number, status and time is the same event.
    await post(stack, http, n, status="out_for_delivery", occurred_at=T0 + 2 * H)
    dup = await post(stack, http, n, status="out_for_delivery", occurred_at=T0 + 2 * H)
    assert dup["duplicate"] is True
    # A late in_transit (older than out_for_delivery) is recorded but moves nothing.
    await post(stack, http, n, status="in_transit", occurred_at=T0 + H, event_id="e2")

    async def out() -> bool:
        return (await shipment(http, o))["status"] == "out_for_delivery"

    await eventually(out)
    await post(stack, http, n, status="delivered", occurred_at=T0 + 3 * H, event_id="e3")
    # After delivery, a newer in_transit still moves nothing.
    await post(stack, http, n, status="in_transit", occurred_at=T0 + 4 * H, event_id="e4")

    async def delivered() -> dict[str, Any] | None:
        d = (await http.get(f"/api/v1/orders/{o['order_id']}", headers=o["admin"])).json()
        return d if d["status"] == "delivered" else None

    order = await eventually(delivered)
    assert order["shipments"][0]["status"] == "delivered"
    async with stack.sessions() as s:
        stored = await s.scalar(select(func.count()).where(CarrierEvent.tracking_number == n))
    assert stored == 5  # e1, out_for_delivery, e2, delivered, e4: duplicates not stored


async def test_a_carrier_failure_marks_the_order_stuck_until_the_parcel_moves(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    o = await shipped(stack, http)
    n = o["number"]
    await post(stack, http, n, status="failure", occurred_at=T0, detail="address not found")

    async def stuck() -> list[dict[str, Any]]:
        rows = (await http.get("/api/v1/ops/stuck", headers=o["admin"])).json()
        return [r for r in rows if r["order_id"] == o["order_id"]]

    [row] = await eventually(stuck)
    assert row["reason"].startswith("carrier_exception")
    detail = await shipment(http, o)
    assert detail["status"] == "exception" and detail["stuck"]["reason"] == "carrier_exception"
    await post(stack, http, n, status="in_transit", occurred_at=T0 + H, event_id="x2")

    async def moving() -> bool:
        d = await shipment(http, o)
        return d["status"] == "in_transit" and d["stuck"] is None and not await stuck()

    await eventually(moving)
