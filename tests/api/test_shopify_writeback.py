"""Write-back to Shopify, end to end: orders sold by the sandbox Shopify store, taken in by
the signed webhook, picked, packed and tracked through the API, with a worker whose
Shopify client reaches the same app's sandbox GraphQL Admin API.

Each test has a stack of its own (database, task queue, API app, worker), seeded with the
demo catalog, whose ``shopify`` channel is the sandbox store of ``demo.myshopify.com``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, update
from temporalio.client import Client
from temporalio.worker import Worker

from activities.channel_writeback import ChannelWritebackActivities
from api.app import create_app
from domain import names
from domain.models import LineEdit, Tracking
from domain.writeback import WritebackKind, WritebackLine, WritebackRequest
from integrations.channels import ChannelUnavailable
from integrations.sandbox import SandboxBehaviour
from integrations.shopify import sign
from integrations.shopify_admin import ShopifyAdmin
from oms.seed import DEMO_SHOPIFY_TOKEN, PRODUCTS, seed_catalog
from oms.settings import Settings
from store.keys import create_key
from store.tables import Channel, ChannelWriteback, InventoryLevel, LabelLedger
from tests.api.helpers import SAMPLE, eventually
from tests.api.test_sample_order import carrier_post
from tests.conftest import create_engine, scratch_database, sessionmaker, terminate_running
from workers.worker import build_worker
from workflows.order import OrderWorkflow

SHOP = "demo.myshopify.com"
CODE = "shopify"  # the demo channel: its store is /sandbox/shopify/shopify
BASE = "http://oms.test"
STORE = f"/sandbox/shopify/{CODE}/admin/api/2024-07"
TOKEN = {"X-Shopify-Access-Token": DEMO_SHOPIFY_TOKEN}
TEA, COFFEE = "TEA-SEN-100", "COF-FIL-500"  # neither fragile: no packaging step
BARCODE = {p.sku: p.barcode for p in PRODUCTS}
GRAMS = {p.sku: p.weight_grams for p in PRODUCTS}
T0 = datetime.now(UTC).replace(microsecond=0)


@dataclass
class WritebackStack:
    settings: Settings
    sessions: Any
    app: Any
    client: Client
    worker_http: httpx.AsyncClient
    http: httpx.AsyncClient
    worker: Worker | None = None
    keys: dict[str, dict[str, str]] = field(default_factory=dict)

    async def start_worker(self) -> None:
        self.worker = build_worker(
            self.client,
            self.sessions,
            self.settings,
            behaviour=SandboxBehaviour(latency_ms=(1, 3), failure_rate=0),
            http=self.worker_http,
        )
        await self.worker.__aenter__()

    async def stop_worker(self) -> None:
        if self.worker is not None:
            await self.worker.__aexit__(None, None, None)
            self.worker = None

    async def key(self, role: str, warehouse: str | None = None) -> dict[str, str]:
        name = f"{role}:{warehouse}"
        if name not in self.keys:
            async with self.sessions.begin() as s:
                key, _ = await create_key(s, role, warehouse, name=f"test {name}")
            self.keys[name] = {"Authorization": f"Bearer {key}"}
        return self.keys[name]


@pytest.fixture
def store_config() -> dict[str, Any]:
    """Extra config of the sandbox store's channel (throttling, lost answers...)."""
    return {}


@pytest.fixture
async def stack(
    database_url: str, client: Client, settings: Settings, store_config: dict[str, Any]
) -> AsyncIterator[WritebackStack]:
    with scratch_database(database_url, "oms_writeback") as url:
        engine = create_engine(url, pool_size=10)
        own = settings.model_copy(
            update={"database_url": url, "task_queue": f"oms-wb-{uuid.uuid4().hex[:8]}"}
        )
        sessions = sessionmaker(engine)
        async with sessions.begin() as s:
            await seed_catalog(s, api_url=BASE)
        async with sessions.begin() as s:
            channel = await s.get(Channel, CODE)
            assert channel is not None
            channel.config = {**channel.config, "shop_domain": SHOP, **store_config}
            # Split stock: the tea only in Portland, the coffee only in Newark.
            for sku, keep in ((TEA, "WH-PDX"), (COFFEE, "WH-NJ")):
                await s.execute(
                    update(InventoryLevel)
                    .where(InventoryLevel.sku == sku, InventoryLevel.warehouse != keep)
                    .values(on_hand=0)
                )
        app = create_app(own, client=client, engine=engine)
        try:
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with (
                    httpx.AsyncClient(transport=transport, base_url=BASE) as worker_http,
                    httpx.AsyncClient(transport=transport, base_url=BASE) as http,
                ):
                    st = WritebackStack(own, sessions, app, client, worker_http, http)
                    await st.start_worker()
                    try:
                        yield st
                    finally:
                        await st.stop_worker()
        finally:
            await terminate_running(client, own.task_queue)
            await engine.dispose()


# --- helpers ------------------------------------------------------------------------------


async def sell(
    st: WritebackStack, lines: dict[str, int], *, webhook: dict[str, int] | None = None
) -> tuple[str, dict[str, Any]]:
    """An order sold by the sandbox store for ``lines``, posted to us as ``orders/create``
    (with ``webhook``'s quantities instead, when given); returns (our order id, Shopify's)."""
    order = await sandbox_order(st, lines)
    posted = dict(order)
    if webhook is not None:
        items = order["line_items"]
        posted["line_items"] = [{**li, "quantity": webhook[li["sku"]]} for li in items]
    return await post_order(st, posted), order


async def sandbox_order(st: WritebackStack, lines: dict[str, int]) -> dict[str, Any]:
    """An order sold by the sandbox store (its ``orders/create`` body)."""
    sample = json.loads(SAMPLE.read_text())
    body = {
        "order": {
            "email": sample["email"],
            "financial_status": "paid",
            "shipping_address": sample["shipping_address"],
            "customer": sample["customer"],
            "line_items": [{"sku": s, "quantity": q, "price": "10.00"} for s, q in lines.items()],
        }
    }
    r = await st.http.post(f"{STORE}/orders.json", json=body, headers=TOKEN)
    assert r.status_code == 201, r.text
    return dict(r.json()["order"])


async def post_order(st: WritebackStack, posted: dict[str, Any]) -> str:
    """Post Shopify's ``orders/create`` for ``posted``; our order id."""
    raw = json.dumps(posted).encode()
    r = await st.http.post(
        "/webhooks/shopify",
        content=raw,
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Webhook-Id": f"wh-{uuid.uuid4()}",
            "X-Shopify-Hmac-Sha256": sign(raw, st.settings.shopify_webhook_secret),
        },
    )
    assert r.status_code == 202, r.text
    return str(r.json()["order_id"])


async def in_shopify(st: WritebackStack, shopify_id: int) -> dict[str, Any]:
    r = await st.http.get(f"{STORE}/orders/{shopify_id}.json", headers=TOKEN)
    assert r.status_code == 200, r.text
    return dict(r.json()["graphql"])


async def detail(st: WritebackStack, order_id: str) -> dict[str, Any]:
    r = await st.http.get(f"/api/v1/orders/{order_id}", headers=await st.key("admin"))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def shipments_ready(st: WritebackStack, order_id: str, n: int) -> list[dict[str, Any]]:
    async def ready() -> list[dict[str, Any]] | None:
        d = await detail(st, order_id)
        if d["status"] == "ready_to_pick" and len(d["shipments"]) == n:
            return list(d["shipments"])
        return None

    return await eventually(ready, attempts=400)


async def on_work_list(st: WritebackStack, shipment: dict[str, Any]) -> dict[str, str]:
    """Wait until the shipment is on its warehouse's work list; a staff key there."""
    staff = await st.key("staff", shipment["warehouse"])

    async def listed() -> bool:
        work = (await st.http.get("/api/v1/shipments", headers=staff)).json()
        return any(w["shipment_id"] == shipment["shipment_id"] for w in work)

    await eventually(listed)
    return staff


async def ship(st: WritebackStack, shipment: dict[str, Any]) -> str:
    """Scan every unit, pack; the tracking number."""
    sid = shipment["shipment_id"]
    staff = await on_work_list(st, shipment)
    weight = 80
    for line in shipment["lines"]:
        for i in range(line["quantity"]):
            r = await st.http.post(
                f"/api/v1/shipments/{sid}/scans",
                headers=staff,
                json={"barcode": BARCODE[line["sku"]], "scan_id": f"{sid}-{line['sku']}-{i}"},
            )
            assert r.status_code == 200, r.text
            weight += GRAMS[line["sku"]]
    r = await st.http.post(
        f"/api/v1/shipments/{sid}/pack", headers=staff, json={"weight_grams": weight}
    )
    assert r.status_code == 200, r.text
    number = r.json()["tracking"]["number"]
    assert number
    return str(number)


async def track(st: WritebackStack, number: str, status: str, at: datetime) -> None:
    body = {"tracking_number": number, "status": status, "occurred_at": at.isoformat()}
    r = await carrier_post(st.http, st.settings, body)
    assert r.status_code == 202, r.text


async def ledger(st: WritebackStack, order_id: str) -> list[ChannelWriteback]:
    async with st.sessions() as s:
        return list(
            (
                await s.scalars(
                    select(ChannelWriteback)
                    .where(ChannelWriteback.order_id == order_id)
                    .order_by(ChannelWriteback.created_at)
                )
            ).all()
        )


def fulfilled_lines(f: dict[str, Any]) -> dict[str, int]:
    return {n["lineItem"]["sku"]: n["quantity"] for n in f["fulfillmentLineItems"]["nodes"]}


# --- tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("store_config", [{"sandbox_throttle_first": 1, "sandbox_lose_first": 1}])
async def test_a_split_order_becomes_two_fulfillments_with_their_tracking_once(
    stack: WritebackStack,
) -> None:
    """The store throttles our first call and loses the answer to our first mutation (it
    created the fulfillment; we never heard): still exactly one fulfillment per shipment,
    also across a worker restart, each with its lines, carrier, number and URL; carrier
    milestones become fulfillment events."""
    st = stack
    order_id, shopify = await sell(st, {TEA: 2, COFFEE: 1})
    shipments = await shipments_ready(st, order_id, 2)
    by_wh = {s["warehouse"]: s for s in shipments}
    assert set(by_wh) == {"WH-PDX", "WH-NJ"}

    tea_number = await ship(st, by_wh["WH-PDX"])

    async def fulfilled(n: int) -> list[dict[str, Any]] | None:
        got = (await in_shopify(st, shopify["id"]))["fulfillments"]
        return got if len(got) >= n else None

    await eventually(lambda: fulfilled(1), attempts=400)
    # The worker goes away and another takes over: replays write nothing twice.
    await st.stop_worker()
    await st.start_worker()
    coffee_number = await ship(st, by_wh["WH-NJ"])

    async def both_recorded() -> list[ChannelWriteback] | None:
        rows = [r for r in await ledger(st, order_id) if r.kind == "fulfillment"]
        return rows if len(rows) == 2 and all(r.status == "done" for r in rows) else None

    rows = await eventually(both_recorded, attempts=400)
    fulfillments = (await in_shopify(st, shopify["id"]))["fulfillments"]
    assert len(fulfillments) == 2
    by_number = {f["trackingInfo"][0]["number"]: f for f in fulfillments}
    assert set(by_number) == {tea_number, coffee_number}
    assert fulfilled_lines(by_number[tea_number]) == {TEA: 2}
    assert fulfilled_lines(by_number[coffee_number]) == {COFFEE: 1}
    for f in fulfillments:
        info = f["trackingInfo"][0]
        assert info["company"] and info["url"].startswith("http")
    # The first answer was lost after Shopify acted: the retry found it instead of making
    # a second (the ledger says so).
    assert sorted(r.existing for r in rows) == [False, True]
    assert {r.remote_id for r in rows} == {f["id"] for f in fulfillments}
    shopify_fo = (await in_shopify(st, shopify["id"]))["fulfillmentOrders"]["nodes"]
    assert [fo["status"] for fo in shopify_fo] == ["CLOSED"]

    # Milestones of the tea parcel → events on its fulfillment, in order.
    await track(st, tea_number, "in_transit", T0 + timedelta(hours=1))
    await track(st, tea_number, "out_for_delivery", T0 + timedelta(hours=20))
    await track(st, tea_number, "delivered", T0 + timedelta(hours=22))

    async def events() -> list[str] | None:
        f = {x["trackingInfo"][0]["number"]: x for x in await fulfilled(2) or []}[tea_number]
        got = [e["status"] for e in f["events"]["nodes"]]
        return got if len(got) == 3 else None

    assert await eventually(events, attempts=400) == ["IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"]
    timeline = [e["type"] for e in (await detail(st, order_id))["events"]]
    assert "channel_written" in timeline


@pytest.mark.parametrize("store_config", [{"sandbox_throttle_first": 2}])
async def test_a_throttled_call_is_retried_after_the_wait_shopify_names(
    stack: WritebackStack,
) -> None:
    st = stack
    shopify = await sandbox_order(st, {TEA: 1})
    async with st.sessions() as s:
        channel = await s.get(Channel, CODE)
        assert channel is not None
        admin = ShopifyAdmin(CODE, dict(channel.config), st.worker_http)
    with pytest.raises(ChannelUnavailable) as throttled:
        await admin.order(str(shopify["id"]))
    # extensions.cost: 10 requested, 0 available, restored at 50/s → 0.2 s.
    assert throttled.value.retry_after == timedelta(seconds=0.2)
    # Through the workflow: its first call is throttled too, its retry goes through.
    order_id = await post_order(st, shopify)
    [shipment] = await shipments_ready(st, order_id, 1)
    number = await ship(st, shipment)

    async def fulfilled() -> list[dict[str, Any]] | None:
        got = (await in_shopify(st, shopify["id"]))["fulfillments"]
        return got or None

    [f] = await eventually(fulfilled, attempts=400)
    assert f["trackingInfo"][0]["number"] == number
    assert st.app.state.sandbox_shopify.calls[CODE] > 2  # throttled ones included


async def test_a_user_error_marks_the_order_stuck_with_the_reason_and_nothing_waits(
    stack: WritebackStack,
) -> None:
    """Shopify's order has one tea left to fulfil where ours ships two (edited there):
    ``fulfillmentCreate`` answers a user error; the order is stuck
    (``channel_writeback_failed``) with Shopify's message, and the parcel still goes."""
    st = stack
    order_id, shopify = await sell(st, {TEA: 1}, webhook={TEA: 2})
    [shipment] = await shipments_ready(st, order_id, 1)
    number = await ship(st, shipment)

    async def stuck() -> dict[str, Any] | None:
        d = await detail(st, order_id)
        return d if d.get("stuck") else None

    d = await eventually(stuck, attempts=400)
    assert d["stuck"]["reason"] == "channel_writeback_failed"
    assert "Invalid fulfillment order line item quantity requested" in d["stuck"]["detail"]
    [row] = await ledger(st, order_id)
    assert (row.kind, row.status) == ("fulfillment", "failed")
    assert (await in_shopify(st, shopify["id"]))["fulfillments"] == []
    # Nothing waited on it: the parcel travels and is delivered; its events are not sent
    # (there is no fulfillment to put them on) and the order stays stuck for ops.
    await track(st, number, "delivered", T0 + timedelta(hours=5))

    async def delivered() -> dict[str, Any] | None:
        got = await detail(st, order_id)
        return got if got["status"] == "delivered" else None

    d = await eventually(delivered, attempts=400)
    assert d["stuck"]["reason"] == "channel_writeback_failed"
    assert [r.kind for r in await ledger(st, order_id)] == ["fulfillment"]
    # Ops see it in their stuck list, with the reason.
    r = await st.http.get("/api/v1/ops/stuck", headers=await st.key("admin"))
    [listed] = [o for o in r.json() if o["order_id"] == order_id]
    assert listed["reason"].startswith("channel_writeback_failed: fulfillment")


async def test_holds_releases_and_the_cancellation_are_mirrored(stack: WritebackStack) -> None:
    st = stack
    admin = await st.key("admin")
    order_id, shopify = await sell(st, {TEA: 1})
    await shipments_ready(st, order_id, 1)
    r = await st.http.post(
        f"/api/v1/orders/{order_id}/holds",
        headers=admin,
        json={"reason": "HIGH_RISK_OF_FRAUD", "note": "card country differs"},
    )
    assert r.status_code == 201, r.text
    hold_id = r.json()["hold_id"]

    async def fo(status: str) -> dict[str, Any] | None:
        [x] = (await in_shopify(st, shopify["id"]))["fulfillmentOrders"]["nodes"]
        return x if x["status"] == status else None

    held = await eventually(lambda: fo("ON_HOLD"), attempts=400)
    [hold] = held["fulfillmentHolds"]
    assert (hold["reason"], hold["handle"], hold["reasonNotes"]) == (
        "HIGH_RISK_OF_FRAUD",
        hold_id,
        "card country differs",
    )
    r = await st.http.post(f"/api/v1/orders/{order_id}/holds/{hold_id}/release", headers=admin)
    assert r.status_code == 200, r.text
    released = await eventually(lambda: fo("OPEN"), attempts=400)
    assert released["fulfillmentHolds"] == []

    r = await st.http.post(
        f"/api/v1/orders/{order_id}/cancel",
        headers=admin,
        json={"reason": "customer changed their mind", "restock": True, "refund": False},
    )
    assert r.status_code == 200, r.text

    async def cancelled() -> dict[str, Any] | None:
        got = await in_shopify(st, shopify["id"])
        return got if got["cancelledAt"] else None

    got = await eventually(cancelled, attempts=400)
    assert got["cancelReason"] == "CUSTOMER"

    async def recorded() -> ChannelWriteback | None:  # written just after Shopify answers
        async with st.sessions() as s:
            row = await s.get(ChannelWriteback, f"{order_id}:cancel")
        return row if row is not None and row.status == "done" else None

    row = await eventually(recorded)
    assert row.request["restock"] is True and row.request["refund"] is False
    kinds = [r.kind for r in await ledger(st, order_id)]
    assert kinds == ["hold", "release", "cancel"]


async def test_a_cancellation_from_shopify_is_not_sent_back(stack: WritebackStack) -> None:
    st = stack
    order_id, shopify = await sell(st, {TEA: 1})
    await shipments_ready(st, order_id, 1)
    raw = json.dumps({"id": shopify["id"], "cancel_reason": "customer"}).encode()
    r = await st.http.post(
        "/webhooks/shopify",
        content=raw,
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/cancelled",
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Webhook-Id": f"wh-{uuid.uuid4()}",
            "X-Shopify-Hmac-Sha256": sign(raw, st.settings.shopify_webhook_secret),
        },
    )
    assert r.status_code == 202, r.text

    async def cancelled() -> dict[str, Any] | None:
        d = await detail(st, order_id)
        return d if d["status"] == "cancelled" else None

    await eventually(cancelled, attempts=400)
    # The workflow has finished (compensation included) and wrote nothing back.
    await st.client.get_workflow_handle(f"order-{order_id}").result()
    assert await ledger(st, order_id) == []
    assert (await in_shopify(st, shopify["id"]))["cancelledAt"] is None


async def test_a_write_made_before_a_crash_is_found_not_made_again(
    stack: WritebackStack,
) -> None:
    """The crash window itself: Shopify made the fulfillment, the ledger row was never
    written. The activity run again asks Shopify first and adopts it."""
    st = stack
    order_id, shopify = await sell(st, {TEA: 2})
    activities = ChannelWritebackActivities(st.sessions, st.worker_http)
    request = WritebackRequest(
        key=f"{order_id}:fulfillment:manual",
        kind=WritebackKind.FULFILLMENT,
        channel=CODE,
        order_id=order_id,
        external_id=str(shopify["id"]),
        lines=[WritebackLine(sku=TEA, quantity=2)],
        tracking=Tracking(carrier="sandbox", number="1Z999", url="https://track.example/1Z999"),
    )
    first = await activities.write_back(request)
    assert not first.existing and first.remote_id
    async with st.sessions.begin() as s:  # the crash: the ledger row never made it
        await s.execute(delete(ChannelWriteback).where(ChannelWriteback.key == request.key))
    again = await activities.write_back(request)
    assert (again.existing, again.remote_id) == (True, first.remote_id)
    assert len((await in_shopify(st, shopify["id"]))["fulfillments"]) == 1
    # A milestone twice (a replayed signal, a retried activity): one event.
    event = request.model_copy(
        update={
            "key": f"{order_id}:event:manual",
            "kind": WritebackKind.FULFILLMENT_EVENT,
            "fulfillment_key": request.key,
            "event_status": "IN_TRANSIT",
            "happened_at": T0,
        }
    )
    await activities.write_back(event)
    async with st.sessions.begin() as s:
        await s.execute(delete(ChannelWriteback).where(ChannelWriteback.key == event.key))
    assert (await activities.write_back(event)).existing
    [f] = (await in_shopify(st, shopify["id"]))["fulfillments"]
    assert [e["status"] for e in f["events"]["nodes"]] == ["IN_TRANSIT"]


# --- Shopify's edits: orders/updated ------------------------------------------------------

ESPRESSO = "COF-ESP-1KG"  # stocked in every warehouse
NEWARK = {
    "name": "Mara Lindqvist",
    "address1": "1 Gateway Center",
    "city": "Newark",
    "province_code": "NJ",
    "zip": "07102",
    "country_code": "US",
    "latitude": 40.7357,
    "longitude": -74.1724,
}


async def post_update(st: WritebackStack, order: dict[str, Any], address: dict[str, Any]) -> None:
    raw = json.dumps({**order, "shipping_address": address}).encode()
    r = await st.http.post(
        "/webhooks/shopify",
        content=raw,
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/updated",
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Webhook-Id": f"wh-{uuid.uuid4()}",
            "X-Shopify-Hmac-Sha256": sign(raw, st.settings.shopify_webhook_secret),
        },
    )
    assert r.status_code == 202, r.text


async def reserved(st: WritebackStack, sku: str) -> dict[str, int]:
    async with st.sessions() as s:
        rows = await s.execute(
            select(InventoryLevel.warehouse, InventoryLevel.reserved).where(
                InventoryLevel.sku == sku
            )
        )
        return {wh: n for wh, n in rows.all()}


async def test_an_address_corrected_before_picking_reroutes_and_moves_the_stock(
    stack: WritebackStack,
) -> None:
    st = stack
    order_id, shopify = await sell(st, {ESPRESSO: 2})
    [shipment] = await shipments_ready(st, order_id, 1)
    assert shipment["warehouse"] == "WH-PDX"  # Portland ships from Portland
    before = await reserved(st, ESPRESSO)

    await post_update(st, shopify, NEWARK)

    async def moved() -> dict[str, Any] | None:
        d = await detail(st, order_id)
        written = "shipment_moved" in [e["type"] for e in d["events"]]  # with the next write
        return d if d["shipments"][0]["warehouse"] == "WH-NJ" and written else None

    d = await eventually(moved, attempts=400)
    after = await reserved(st, ESPRESSO)
    assert after["WH-PDX"] == before["WH-PDX"] - 2
    assert after["WH-NJ"] == before["WH-NJ"] + 2
    types = [e["type"] for e in d["events"]]
    assert "address_changed" in types and "shipment_moved" in types
    assert d["stuck"] is None
    # The parcel goes to Newark: the label's ship-to is the new address.
    number = await ship(st, d["shipments"][0])
    assert number
    async with st.sessions() as s:
        label = await s.scalar(
            select(LabelLedger).where(LabelLedger.shipment_id == shipment["shipment_id"])
        )
    assert label is not None and label.ship_to["city"] == "Newark"


async def sold_and_picking(st: WritebackStack) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Two espressos sold in the store, and the first of them picked: picking has started.
    Returns the order id, Shopify's order and the shipment."""
    order_id, shopify = await sell(st, {ESPRESSO: 2})
    [shipment] = await shipments_ready(st, order_id, 1)
    staff = await on_work_list(st, shipment)
    r = await st.http.post(
        f"/api/v1/shipments/{shipment['shipment_id']}/scans",
        headers=staff,
        json={"barcode": BARCODE[ESPRESSO], "scan_id": "first"},
    )
    assert r.status_code == 200, r.text
    return order_id, shopify, shipment


async def test_an_address_corrected_after_picking_started_is_only_flagged(
    stack: WritebackStack,
) -> None:
    st = stack
    order_id, shopify, shipment = await sold_and_picking(st)
    before = await reserved(st, ESPRESSO)

    await post_update(st, shopify, NEWARK)

    async def flagged() -> dict[str, Any] | None:
        d = await detail(st, order_id)
        written = "address_change_flagged" in [e["type"] for e in d["events"]]
        return d if d.get("stuck") and written else None

    d = await eventually(flagged, attempts=400)
    assert d["stuck"]["reason"] == "address_changed_after_pick"
    assert "Portland" in d["stuck"]["detail"] and "Newark" in d["stuck"]["detail"]
    assert d["shipments"][0]["warehouse"] == "WH-PDX"
    assert await reserved(st, ESPRESSO) == before
    assert "address_change_flagged" in [e["type"] for e in d["events"]]


# --- Shopify's edits: orders/edited -------------------------------------------------------


async def edit_in_shopify(
    st: WritebackStack,
    shopify: dict[str, Any],
    *,
    add: dict[str, int] | None = None,
    remove: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Staff edit the order in the sandbox store (``remove``: SKU → units of its line);
    the answer is the ``orders/edited`` body Shopify posts."""
    item = {li["sku"]: li["id"] for li in shopify["line_items"]}
    body = {
        "edit": {
            "add": [{"sku": s, "quantity": q} for s, q in (add or {}).items()],
            "remove": [{"line_item_id": item[s], "quantity": q} for s, q in (remove or {}).items()],
        }
    }
    r = await st.http.post(f"{STORE}/orders/{shopify['id']}/edits.json", json=body, headers=TOKEN)
    assert r.status_code == 200, r.text
    return dict(r.json())


def edited_headers(st: WritebackStack, raw: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/edited",
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Webhook-Id": f"wh-{uuid.uuid4()}",
        "X-Shopify-Hmac-Sha256": sign(raw, st.settings.shopify_webhook_secret),
    }


async def post_edit(st: WritebackStack, edit: dict[str, Any]) -> None:
    raw = json.dumps(edit).encode()
    r = await st.http.post("/webhooks/shopify", content=raw, headers=edited_headers(st, raw))
    assert r.status_code == 202, r.text


async def stock(st: WritebackStack, sku: str, warehouse: str) -> tuple[int, int]:
    """(reserved, available) of ``sku`` at ``warehouse``."""
    async with st.sessions() as s:
        level = await s.get(InventoryLevel, (sku, warehouse))
        assert level is not None
        return level.reserved, level.on_hand - level.reserved


async def shipment_detail(st: WritebackStack, shipment_id: str) -> dict[str, Any]:
    r = await st.http.get(f"/api/v1/shipments/{shipment_id}", headers=await st.key("admin"))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def work_item(st: WritebackStack, shipment: dict[str, Any]) -> dict[str, Any] | None:
    staff = await st.key("staff", shipment["warehouse"])
    work = (await st.http.get("/api/v1/shipments", headers=staff)).json()
    return next((w for w in work if w["shipment_id"] == shipment["shipment_id"]), None)


def units(lines: list[dict[str, Any]]) -> dict[str, int]:
    return {ln["sku"]: ln["quantity"] for ln in lines}


async def applied(st: WritebackStack, order_id: str, n: int = 1) -> dict[str, Any]:
    """The order once ``n`` edits were applied and written to its timeline."""

    async def probe() -> dict[str, Any] | None:
        d = await detail(st, order_id)
        done = [e for e in d["events"] if e["type"] == "order_edit_applied"]
        return d if len(done) >= n else None

    return await eventually(probe, attempts=400)


async def test_a_line_removed_before_pick_releases_its_stock_and_leaves_the_shipment(
    stack: WritebackStack,
) -> None:
    """The issue's test: a removed line's units go back to available stock, the shipment
    (work list, detail) no longer carries it, the edit is on the timeline; the same edit
    again changes nothing."""
    st = stack
    order_id, shopify = await sell(st, {TEA: 2, ESPRESSO: 1})
    [shipment] = await shipments_ready(st, order_id, 1)
    assert shipment["warehouse"] == "WH-PDX"
    await on_work_list(st, shipment)
    tea_before, esp_before = await stock(st, TEA, "WH-PDX"), await stock(st, ESPRESSO, "WH-PDX")

    edit = await edit_in_shopify(st, shopify, remove={TEA: 2})
    raw = json.dumps(edit).encode()
    headers = edited_headers(st, raw)
    r = await st.http.post("/webhooks/shopify", content=raw, headers=headers)
    assert r.status_code == 202, r.text
    again = await st.http.post("/webhooks/shopify", content=raw, headers=headers)
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    forged = await st.http.post(
        "/webhooks/shopify", content=raw, headers={**headers, "X-Shopify-Hmac-Sha256": "x"}
    )
    assert forged.status_code == 401

    async def shrunk() -> dict[str, Any] | None:
        d = await shipment_detail(st, shipment["shipment_id"])
        return d if units(d["lines"]) == {ESPRESSO: 1} else None

    await eventually(shrunk, attempts=400)
    d = await applied(st, order_id)
    assert await stock(st, TEA, "WH-PDX") == (tea_before[0] - 2, tea_before[1] + 2)
    assert await stock(st, ESPRESSO, "WH-PDX") == esp_before
    item = await work_item(st, shipment)
    assert item is not None and units(item["lines"]) == {ESPRESSO: 1}
    assert d["stuck"] is None and d["status"] == "ready_to_pick"
    [event] = [e for e in d["events"] if e["type"] == "order_edited"]
    assert event["detail"]["removed"] == {TEA: 2} and event["detail"]["applied"] is True
    assert event["detail"]["edit_id"] == str(edit["order_edit"]["id"])
    [removal] = [e for e in d["events"] if e["type"] == "lines_removed"]
    assert removal["detail"]["released"] == 2

    # Shopify delivers the same edit again under another webhook id: nothing moves twice.
    await post_edit(st, edit)
    handle = st.client.get_workflow_handle(names.order_workflow_id(order_id))
    repeat = await handle.execute_update(
        OrderWorkflow.note_edit, LineEdit(edit_id=str(edit["order_edit"]["id"]))
    )
    assert repeat.outcome == "duplicate"
    d = await detail(st, order_id)
    assert len([e for e in d["events"] if e["type"] == "order_edited"]) == 1
    assert await stock(st, TEA, "WH-PDX") == (tea_before[0] - 2, tea_before[1] + 2)
    # The rest ships: the floor picks what is left, Shopify fulfils it.
    number = await ship(st, {**shipment, "lines": [{"sku": ESPRESSO, "quantity": 1}]})
    assert number


async def test_a_lowered_quantity_releases_exactly_the_difference(stack: WritebackStack) -> None:
    st = stack
    order_id, shopify = await sell(st, {ESPRESSO: 3})
    [shipment] = await shipments_ready(st, order_id, 1)
    await on_work_list(st, shipment)
    before = await stock(st, ESPRESSO, shipment["warehouse"])

    await post_edit(st, await edit_in_shopify(st, shopify, remove={ESPRESSO: 1}))

    d = await applied(st, order_id)
    assert await stock(st, ESPRESSO, shipment["warehouse"]) == (before[0] - 1, before[1] + 1)

    async def listed() -> dict[str, Any] | None:
        item = await work_item(st, shipment)
        return item if item and units(item["lines"]) == {ESPRESSO: 2} else None

    await eventually(listed, attempts=400)
    assert units((await shipment_detail(st, shipment["shipment_id"]))["lines"]) == {ESPRESSO: 2}
    [event] = [e for e in d["events"] if e["type"] == "order_edited"]
    assert event["detail"]["removed"] == {ESPRESSO: 1}


async def test_an_added_line_is_found_in_shopify_reserved_and_on_a_shipment(
    stack: WritebackStack,
) -> None:
    """Shopify's edit names the added line only by its line item id: the order asks
    Shopify's order query which SKU it is, reserves it (the coffee: only Newark has it)
    and ships it as a shipment of its own."""
    st = stack
    order_id, shopify = await sell(st, {ESPRESSO: 1})
    [first] = await shipments_ready(st, order_id, 1)
    await on_work_list(st, first)
    before = await stock(st, COFFEE, "WH-NJ")

    edit = await edit_in_shopify(st, shopify, add={COFFEE: 2})
    assert "sku" not in edit["order_edit"]["line_items"]["additions"][0]
    await post_edit(st, edit)

    shipments = await shipments_ready(st, order_id, 2)
    [added] = [s for s in shipments if s["shipment_id"] != first["shipment_id"]]
    assert added["warehouse"] == "WH-NJ" and units(added["lines"]) == {COFFEE: 2}
    assert await stock(st, COFFEE, "WH-NJ") == (before[0] + 2, before[1] - 2)
    await on_work_list(st, added)
    d = await applied(st, order_id)
    [event] = [e for e in d["events"] if e["type"] == "order_edited"]
    assert event["detail"]["added"] == {COFFEE: 2}
    assert d["stuck"] is None
    assert await ship(st, added)


async def test_an_emptied_shipment_is_cancelled_and_the_rest_goes_on(
    stack: WritebackStack,
) -> None:
    """A split order (tea from Portland, coffee from Newark) loses its tea: the Portland
    shipment is cancelled with its stock released and no label; the order ships the rest."""
    st = stack
    order_id, shopify = await sell(st, {TEA: 1, COFFEE: 1})
    shipments = await shipments_ready(st, order_id, 2)
    [pdx] = [s for s in shipments if s["warehouse"] == "WH-PDX"]
    [nj] = [s for s in shipments if s["warehouse"] == "WH-NJ"]
    await on_work_list(st, pdx)
    before = await stock(st, TEA, "WH-PDX")

    await post_edit(st, await edit_in_shopify(st, shopify, remove={TEA: 1}))

    async def cancelled() -> dict[str, Any] | None:
        d = await shipment_detail(st, pdx["shipment_id"])
        return d if d["status"] == "cancelled" else None

    gone = await eventually(cancelled, attempts=400)
    assert gone["tracking"] is None and gone["label_status"] is None
    assert await stock(st, TEA, "WH-PDX") == (before[0] - 1, before[1] + 1)
    assert await work_item(st, pdx) is None
    number = await ship(st, nj)
    await track(st, number, "delivered", T0 + timedelta(hours=5))

    async def delivered() -> dict[str, Any] | None:
        d = await detail(st, order_id)
        return d if d["status"] == "delivered" else None

    d = await eventually(delivered, attempts=400)
    assert "shipment_emptied" in [e["type"] for e in d["events"]]


async def test_an_order_with_every_line_removed_is_cancelled(stack: WritebackStack) -> None:
    st = stack
    order_id, shopify = await sell(st, {ESPRESSO: 2})
    [shipment] = await shipments_ready(st, order_id, 1)
    before = await stock(st, ESPRESSO, shipment["warehouse"])

    await post_edit(st, await edit_in_shopify(st, shopify, remove={ESPRESSO: 2}))

    async def cancelled() -> dict[str, Any] | None:
        d = await detail(st, order_id)
        return d if d["status"] == "cancelled" else None

    d = await eventually(cancelled, attempts=400)
    assert await stock(st, ESPRESSO, shipment["warehouse"]) == (before[0] - 2, before[1] + 2)
    assert d["shipments"][0]["status"] == "cancelled"
    assert "order_edit_applied" in [e["type"] for e in d["events"]]
    # Shopify made the change: no cancellation is written back to it.
    assert [w.kind for w in await ledger(st, order_id)].count(WritebackKind.CANCEL.value) == 0


async def test_an_edit_after_picking_started_is_not_applied_and_shown_to_ops(
    stack: WritebackStack,
) -> None:
    st = stack
    order_id, shopify, shipment = await sold_and_picking(st)
    before = await stock(st, ESPRESSO, shipment["warehouse"])

    await post_edit(st, await edit_in_shopify(st, shopify, remove={ESPRESSO: 1}))

    async def flagged() -> dict[str, Any] | None:
        d = await detail(st, order_id)
        written = "order_edited" in [e["type"] for e in d["events"]]
        return d if d.get("stuck") and written else None

    d = await eventually(flagged, attempts=400)
    assert d["stuck"]["reason"] == "order_edited_in_channel"
    assert f"-1 {ESPRESSO}" in d["stuck"]["detail"]
    assert "picking had started" in d["stuck"]["detail"]
    [event] = [e for e in d["events"] if e["type"] == "order_edited"]
    assert event["detail"]["applied"] is False and event["detail"]["picking_started"] is True
    assert await stock(st, ESPRESSO, shipment["warehouse"]) == before
    assert units((await shipment_detail(st, shipment["shipment_id"]))["lines"]) == {ESPRESSO: 2}
