"""``/api/v1/webhooks``: admin only, validation as problem+json, 404s, the secret shown
once, deletion, deliveries listed newest first and queued again.

The URLs point at the discard port of 127.0.0.1: no dispatcher runs in these tests, and
none could reach anything if one did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.merchant_webhooks import list_deliveries
from store.tables import OrderRow, WebhookDelivery, WebhookEvent
from tests.api.conftest import KeyMaker, OpenShipment
from tests.api.helpers import eventually
from tests.conftest import Catalog
from tests.order_rows import order_row

URL = "http://127.0.0.1:9/hooks/oms"
BASE = "/api/v1/webhooks"


async def create(http: httpx.AsyncClient, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    r = await http.post(BASE, json={"url": URL, "topics": ["order.created"], **body}, headers=admin)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_only_admins(http: httpx.AsyncClient, make_key: KeyMaker) -> None:
    ops = await make_key("ops")
    body = {"url": URL, "topics": ["order.created"]}
    r = await http.post(BASE, json=body, headers=ops)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert (await http.get(BASE, headers=ops)).status_code == 403
    assert (await http.get(BASE)).status_code == 401


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"url": "ftp://example.com/x", "topics": ["order.created"]}, "url"),
        ({"url": "http:///no-host", "topics": ["order.created"]}, "url"),
        ({"url": "not a url", "topics": ["order.created"]}, "url"),
        ({"url": "http://example.com:99999/", "topics": ["order.created"]}, "url"),
        ({"url": URL, "topics": []}, "topics"),
        ({"url": URL, "topics": ["order.deleted"]}, "topics"),
        ({"url": URL}, "topics"),
        ({"topics": ["order.created"]}, "url"),
    ],
)
async def test_validation(
    http: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any], where: str
) -> None:
    r = await http.post(BASE, json=body, headers=admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["reason"] == "validation_error"
    assert where in r.json()["detail"]


async def test_create_list_delete(http: httpx.AsyncClient, admin: dict[str, str]) -> None:
    made = await create(http, admin, topics=["shipment.shipped", "order.status_changed"])
    assert made["webhook_id"] and len(made["secret"]) >= 32
    assert made["url"] == URL and made["topics"] == ["shipment.shipped", "order.status_changed"]

    listed = (await http.get(BASE, headers=admin)).json()
    mine = [w for w in listed if w["webhook_id"] == made["webhook_id"]]
    assert mine and mine[0]["topics"] == made["topics"]
    assert all("secret" not in w for w in listed)
    assert made["secret"] not in (await http.get(BASE, headers=admin)).text

    r = await http.delete(f"{BASE}/{made['webhook_id']}", headers=admin)
    assert r.status_code == 200 and r.json()["webhook_id"] == made["webhook_id"]
    listed = (await http.get(BASE, headers=admin)).json()
    assert made["webhook_id"] not in {w["webhook_id"] for w in listed}
    # Gone: a second delete, its deliveries and a redeliver are 404s.
    assert (await http.delete(f"{BASE}/{made['webhook_id']}", headers=admin)).status_code == 404
    r = await http.get(f"{BASE}/{made['webhook_id']}/deliveries", headers=admin)
    assert r.status_code == 404 and r.json()["reason"] == "not_found"


async def test_unknown_ids_are_404(http: httpx.AsyncClient, admin: dict[str, str]) -> None:
    assert (await http.delete(f"{BASE}/wh_nope", headers=admin)).status_code == 404
    assert (await http.get(f"{BASE}/wh_nope/deliveries", headers=admin)).status_code == 404
    r = await http.post(f"{BASE}/wh_nope/deliveries/1/redeliver", headers=admin)
    assert r.status_code == 404
    made = await create(http, admin)
    try:
        r = await http.post(
            f"{BASE}/{made['webhook_id']}/deliveries/999999999/redeliver", headers=admin
        )
        assert r.status_code == 404 and r.json()["reason"] == "not_found"
        r = await http.get(f"{BASE}/{made['webhook_id']}/deliveries?limit=0", headers=admin)
        assert r.status_code == 422
    finally:
        await http.delete(f"{BASE}/{made['webhook_id']}", headers=admin)


async def test_deliveries_newest_first_and_redeliver(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    made = await create(http, admin, topics=["order.created", "order.status_changed"])
    hook = made["webhook_id"]
    other = await create(http, admin, topics=["order.created"])
    try:
        order_id = f"hooks-api-{hook}"
        async with sessions.begin() as s:
            s.add(order_row(order_id, 0, status="received"))
        async with sessions.begin() as s:
            await s.execute(
                update(OrderRow)
                .where(OrderRow.order_id == order_id)
                .values(status="awaiting_payment", version=2)
            )
        r = await http.get(f"{BASE}/{hook}/deliveries", headers=admin)
        assert r.status_code == 200
        # Orders of earlier tests may still be moving (the session worker): keep this one's.
        async with sessions() as s:
            ours = {
                str(e)
                for e in await s.scalars(
                    select(WebhookEvent.event_id).where(
                        WebhookEvent.data["order_id"].astext == order_id
                    )
                )
            }
        rows = [d for d in r.json() if d["event_id"] in ours]
        assert [d["topic"] for d in rows] == ["order.status_changed", "order.created"]
        newest, oldest = rows[0], rows[1]
        assert newest["delivery_id"] > oldest["delivery_id"]
        assert oldest["status"] == "pending" and oldest["attempts"] == 0
        assert oldest["next_attempt_at"] and oldest["delivered_at"] is None
        assert len((await http.get(f"{BASE}/{hook}/deliveries?limit=1", headers=admin)).json()) == 1

        # Another subscription's delivery is not this one's to requeue.
        theirs = (await http.get(f"{BASE}/{other['webhook_id']}/deliveries", headers=admin)).json()
        r = await http.post(
            f"{BASE}/{hook}/deliveries/{theirs[0]['delivery_id']}/redeliver", headers=admin
        )
        assert r.status_code == 404

        r = await http.post(
            f"{BASE}/{hook}/deliveries/{oldest['delivery_id']}/redeliver", headers=admin
        )
        assert r.status_code == 202, r.text
        again = r.json()
        assert again["event_id"] == oldest["event_id"] and again["topic"] == "order.created"
        assert again["status"] == "pending" and again["redelivery_of"] == oldest["delivery_id"]
        rows = (await http.get(f"{BASE}/{hook}/deliveries", headers=admin)).json()
        assert again["delivery_id"] in {d["delivery_id"] for d in rows}
        assert max(d["delivery_id"] for d in rows) >= again["delivery_id"] > newest["delivery_id"]

        # Deleting stops what was still pending.
        assert (await http.delete(f"{BASE}/{hook}", headers=admin)).status_code == 200
        async with sessions() as s:
            left = await list_deliveries(s, hook, 10)
        assert left and all(d.status == "failed" for d in left)
        assert all(d.last_error == "subscription deleted" for d in left)
    finally:
        await http.delete(f"{BASE}/{hook}", headers=admin)
        await http.delete(f"{BASE}/{other['webhook_id']}", headers=admin)


async def test_a_real_order_queues_its_story_in_order(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    worker: Any,
    make_catalog: Callable[..., Awaitable[Catalog]],
    open_shipment: Callable[..., Awaitable[OpenShipment]],
    carrier_post: Callable[..., Awaitable[httpx.Response]],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Every writer of the read model (projection activities, the scan path, the stock
    commit at pack, carrier moves) queues its changes: the order's status events chain
    (each ``previous_status`` is the status before it) from created to delivered."""
    made = await create(
        http,
        admin,
        topics=["order.created", "order.status_changed", "shipment.shipped", "shipment.delivered"],
    )
    try:
        cat = await make_catalog(n_products=1)
        sku = cat.skus[0]
        ship = await open_shipment([sku], [1])
        r = await http.post(
            ship.scans_url, headers=ship.staff, json={"barcode": cat.barcodes[sku], "scan_id": "w1"}
        )
        assert r.status_code == 200, r.text
        r = await http.post(
            ship.pack_url, headers=ship.staff, json={"weight_grams": cat.weights[sku]}
        )
        assert r.status_code == 200, r.text
        tracking = r.json()["tracking"]
        r = await carrier_post(
            tracking["carrier"],
            {
                "tracking_number": tracking["number"],
                "status": "delivered",
                "occurred_at": datetime.now(UTC).isoformat(),
            },
        )
        assert r.status_code == 202, r.text

        async def story() -> list[tuple[str, dict[str, Any]]] | None:
            async with sessions() as s:
                rows = await s.execute(
                    select(WebhookEvent.topic, WebhookEvent.data)
                    .join(WebhookDelivery, WebhookDelivery.event_id == WebhookEvent.event_id)
                    .where(
                        WebhookDelivery.webhook_id == made["webhook_id"],
                        WebhookEvent.data["order_id"].astext == ship.order_id,
                    )
                    .order_by(WebhookDelivery.delivery_id)
                )
                got = [(t, d) for t, d in rows.all()]
            done = any(t == "order.status_changed" and d["status"] == "delivered" for t, d in got)
            return got if done else None

        events = await eventually(story, attempts=1200)
        topics = [t for t, _ in events]
        assert topics[0] == "order.created"
        assert topics.count("order.created") == 1
        assert topics.count("shipment.shipped") == 1 and topics.count("shipment.delivered") == 1
        assert topics.index("shipment.shipped") < topics.index("shipment.delivered")
        shipped = next(d for t, d in events if t == "shipment.shipped")
        assert shipped["shipment_id"] == ship.shipment_id
        assert shipped["tracking"]["number"] == tracking["number"]
        statuses = [d for t, d in events if t == "order.status_changed"]
        current = events[0][1]["status"]
        for change in statuses:
            assert change["previous_status"] == current, events
            current = change["status"]
        assert current == "delivered"
        # The scan's roll-up (one line, all picked: packing) is an event like the others.
        assert [d["status"] for d in statuses] == [
            "ready_to_pick",
            "packing",
            "shipped",
            "delivered",
        ]
    finally:
        await http.delete(f"{BASE}/{made['webhook_id']}", headers=admin)
