"""Order routing through the HTTP API, with the real worker, Temporal and Postgres.

Each rule decides a real allocation (closest, market, priority, fewest shipments, capacity,
carrier cut-off); splits ship as several parcels; ops move shipments and warehouses hand
them back (re-routed automatically); backorders wake in arrival order; the rules are
versioned and validated; the preview reserves nothing.

Routing rules are global in the test database: only ``test_routing_rules_api`` changes
them, and it restores the rules it found in a ``finally``. Everything else reads the
current version instead of assuming the defaults' ``0``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from domain.models import Address, OrderInput, OrderState
from domain.names import fulfillment_workflow_id
from domain.routing import DEFAULT_RULES
from domain.status import OrderStatus, ShippingMethod
from store.tables import Backorder, OrderRow, Reservation, ShipmentRow
from tests.api.conftest import KeyMaker
from tests.conftest import TEST_TASK_QUEUE, Catalog, PinnableClock
from tests.workflows.helpers import PORTLAND, eventually, order_input, start_order
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.usefixtures("worker")

Sessions = async_sessionmaker[AsyncSession]
MakeCatalog = Callable[..., Awaitable[Catalog]]
Post = Callable[..., Awaitable[httpx.Response]]
Handle = WorkflowHandle[OrderWorkflow, OrderState]

NEWARK = Address(
    name="Dev Okafor",
    address1="1 Broad Street",
    city="Newark",
    province_code="NJ",
    zip="07102",
    country_code="US",
    latitude=40.7357,
    longitude=-74.1724,
)
DEFAULT_TYPES = [
    "daily_capacity",
    "shipping_method_cutoff",
    "minimize_shipments",
    "stay_in_market",
    "closest",
    "priority_rank",
]
RULE_VERDICTS = {
    "daily_capacity",
    "shipping_method_cutoff",
    "stay_in_market",
    "closest",
    "priority_rank",
    "stock",
}


def site(cat: Catalog) -> dict[str, str]:
    """Suffix → this test's warehouse code."""
    return {code.rsplit("-", 1)[1]: code for code in cat.warehouses}


def address_json(a: Address) -> dict[str, Any]:
    return a.model_dump(mode="json", exclude_none=True)


async def place(
    client: Client,
    lines: list[tuple[str, int]],
    handles: list[Handle],
    *,
    address: Address = PORTLAND,
    method: ShippingMethod = ShippingMethod.STANDARD,
    order_id: str | None = None,
) -> OrderInput:
    order = order_input(lines, address=address)
    update: dict[str, Any] = {"shipping_method": method}
    if order_id is not None:
        update |= {"order_id": order_id, "external_id": order_id, "name": f"#{order_id}"}
    order = order.model_copy(update=update)
    handles.append(await start_order(client, order, TEST_TASK_QUEUE))
    return order


async def stop_all(handles: list[Handle]) -> None:
    """Leave no order running for the next test (children close with their parent)."""
    for h in handles:
        with contextlib.suppress(RPCError):
            await h.terminate("test cleanup")


async def detail(http: httpx.AsyncClient, admin: dict[str, str], order_id: str) -> dict[str, Any]:
    r = await http.get(f"/api/v1/orders/{order_id}", headers=admin)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def open_rows(sessions: Sessions, order_id: str, n: int) -> list[ShipmentRow]:
    """Wait until the order has ``n`` shipments that are not cancelled (their workflows run)."""

    async def probe() -> list[ShipmentRow] | None:
        async with sessions() as s:
            rows = (
                await s.scalars(
                    select(ShipmentRow)
                    .where(ShipmentRow.order_id == order_id, ShipmentRow.status != "cancelled")
                    .order_by(ShipmentRow.shipment_id)
                )
            ).all()
        return list(rows) if len(rows) == n else None

    found: list[ShipmentRow] = await eventually(probe, within=30)
    return found


async def shipment_row(sessions: Sessions, shipment_id: str) -> ShipmentRow:
    """Wait for a shipment's row in the work list (written once its workflow runs)."""

    async def probe() -> ShipmentRow | None:
        async with sessions() as s:
            return await s.get(ShipmentRow, shipment_id)

    found: ShipmentRow = await eventually(probe, within=30)
    return found


async def allocated(
    http: httpx.AsyncClient, admin: dict[str, str], sessions: Sessions, order_id: str, n: int = 1
) -> dict[str, Any]:
    """The order's detail once it holds ``n`` live shipments, each on its work list."""
    await open_rows(sessions, order_id, n)
    d = await detail(http, admin, order_id)
    assert d["routing"] is not None and d["routing"]["decision"] != "backordered"
    return d


def live(d: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Warehouse → the order's non-cancelled shipment there."""
    found = {s["warehouse"]: s for s in d["shipments"] if s["status"] != "cancelled"}
    assert len(found) == len([s for s in d["shipments"] if s["status"] != "cancelled"])
    return found


def units(shipment: dict[str, Any]) -> dict[str, int]:
    return {ln["sku"]: ln["quantity"] for ln in shipment["lines"]}


def candidate(d: dict[str, Any], warehouse: str) -> dict[str, Any]:
    found = [c for c in d["candidates"] if c["warehouse"] == warehouse]
    assert len(found) == 1, f"{warehouse} not among the candidates"
    return found[0]


async def levels(
    http: httpx.AsyncClient, admin: dict[str, str], sku: str
) -> dict[str, tuple[int, int]]:
    r = await http.get("/api/v1/inventory", headers=admin, params={"sku": sku})
    assert r.status_code == 200, r.text
    return {lv["warehouse"]: (lv["on_hand"], lv["reserved"]) for lv in r.json()}


async def reservations(sessions: Sessions, order_id: str) -> set[tuple[str, str, str, int, str]]:
    """(shipment_id, sku, warehouse, quantity, status) of every reservation row of the order."""
    async with sessions() as s:
        rows = (await s.scalars(select(Reservation).where(Reservation.order_id == order_id))).all()
    return {(r.shipment_id, r.sku, r.warehouse, r.quantity, r.status) for r in rows}


async def rules_version(http: httpx.AsyncClient, admin: dict[str, str]) -> int:
    r = await http.get("/api/v1/rules/routing", headers=admin)
    assert r.status_code == 200, r.text
    return int(r.json()["version"])


async def adjust(
    http: httpx.AsyncClient, admin: dict[str, str], sku: str, warehouse: str, delta: int
) -> dict[str, Any]:
    r = await http.post(
        "/api/v1/inventory/adjustments",
        headers=admin,
        json={"sku": sku, "warehouse": warehouse, "delta": delta, "reason": "test"},
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def pick_and_pack(
    http: httpx.AsyncClient,
    cat: Catalog,
    shipment: dict[str, Any],
    staff: dict[str, str],
) -> dict[str, Any]:
    """Scan every unit of the shipment and pack it at the expected weight."""
    sid = shipment["shipment_id"]
    weight = 0
    for ln in shipment["lines"]:
        for i in range(ln["quantity"]):
            r = await http.post(
                f"/api/v1/shipments/{sid}/scans",
                headers=staff,
                json={"barcode": cat.barcodes[ln["sku"]], "scan_id": f"{sid}-{ln['sku']}-{i}"},
            )
            assert r.status_code == 200, r.text
            weight += cat.weights[ln["sku"]]
    r = await http.post(
        f"/api/v1/shipments/{sid}/pack", headers=staff, json={"weight_grams": weight}
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def noon_today(zone: str) -> datetime:
    """Today's noon in ``zone`` (as UTC): a "now" far from the warehouse's midnight, where its
    daily counters reset and yesterday's cut-off would count."""
    local = datetime.now(ZoneInfo(zone)).replace(hour=12, minute=0, second=0, microsecond=0)
    return local.astimezone(UTC)


async def wait_status(
    http: httpx.AsyncClient, admin: dict[str, str], order_id: str, status: str
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        d = await detail(http, admin, order_id)
        return d if d["status"] == status else None

    found: dict[str, Any] = await eventually(probe, within=30)
    return found


# --- splits ------------------------------------------------------------------------------


async def test_split_order_ships_as_two_parcels_and_delivers(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_key: KeyMaker,
    client: Client,
    sessions: Sessions,
    make_catalog: MakeCatalog,
    carrier_post: Post,
) -> None:
    cat = await make_catalog({"PDX": {"0": 4}, "NJ": {"1": 4}})
    sku0, sku1 = cat.skus
    wh = site(cat)
    handles: list[Handle] = []
    try:
        order = await place(client, [(sku0, 2), (sku1, 1)], handles)
        d = await allocated(http, admin, sessions, order.order_id, n=2)
        by_wh = live(d)
        assert set(by_wh) == {wh["PDX"], wh["NJ"]}
        assert units(by_wh[wh["PDX"]]) == {sku0: 2}
        assert units(by_wh[wh["NJ"]]) == {sku1: 1}
        assert {s["shipment_id"] for s in d["shipments"]} == {
            f"{order.order_id}-1",
            f"{order.order_id}-2",
        }
        assert set(d["routing"]["decision"].split(" + ")) == {wh["PDX"], wh["NJ"]}
        assert any("2 shipments" in r for r in d["routing"]["reasons"]), d["routing"]["reasons"]
        assert d["status"] == "ready_to_pick"
        for s in d["shipments"]:  # one FulfillmentWorkflow per parcel
            info = await client.get_workflow_handle(
                fulfillment_workflow_id(s["shipment_id"])
            ).describe()
            assert info.parent_id == f"order-{order.order_id}"
        assert await levels(http, admin, sku0) == {wh["PDX"]: (4, 2)}
        assert await levels(http, admin, sku1) == {wh["NJ"]: (4, 1)}

        # Each warehouse's staff sees and works only its own parcel.
        pdx_staff = await make_key("staff", wh["PDX"])
        nj_staff = await make_key("staff", wh["NJ"])
        work = await http.get("/api/v1/shipments", headers=nj_staff)
        assert [w["shipment_id"] for w in work.json()] == [by_wh[wh["NJ"]]["shipment_id"]]
        r = await http.post(
            f"/api/v1/shipments/{by_wh[wh['NJ']]['shipment_id']}/scans",
            headers=pdx_staff,
            json={"barcode": cat.barcodes[sku1], "scan_id": "wrong-site"},
        )
        assert r.status_code == 403

        first = await pick_and_pack(http, cat, by_wh[wh["PDX"]], pdx_staff)
        await wait_status(http, admin, order.order_id, "partially_shipped")
        second = await pick_and_pack(http, cat, by_wh[wh["NJ"]], nj_staff)
        shipped = await wait_status(http, admin, order.order_id, "shipped")
        assert {s["status"] for s in shipped["shipments"]} == {"shipped"}
        # Stock left each building it was reserved in.
        assert await levels(http, admin, sku0) == {wh["PDX"]: (2, 0)}
        assert await levels(http, admin, sku1) == {wh["NJ"]: (3, 0)}

        now = datetime.now(UTC).isoformat()
        for packed in (first, second):
            r = await carrier_post(
                packed["tracking"]["carrier"],
                {
                    "tracking_number": packed["tracking"]["number"],
                    "status": "delivered",
                    "occurred_at": now,
                },
            )
            assert r.status_code == 202, r.text
        done = await handles[0].result()
        assert done.status == OrderStatus.DELIVERED
        final = await wait_status(http, admin, order.order_id, "delivered")
        assert {s["status"] for s in final["shipments"]} == {"delivered"}
    finally:
        await stop_all(handles)


async def test_one_line_splits_by_quantity_when_no_site_has_it_all(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    client: Client,
    sessions: Sessions,
    make_catalog: MakeCatalog,
) -> None:
    cat = await make_catalog({"PDX": {"0": 5}, "NJ": {"0": 5}}, n_products=1)
    sku = cat.skus[0]
    wh = site(cat)
    handles: list[Handle] = []
    try:
        order = await place(client, [(sku, 8)], handles)
        d = await allocated(http, admin, sessions, order.order_id, n=2)
        by_wh = live(d)
        # Nearest first takes what it has; the rest comes from the next.
        assert {w: units(s) for w, s in by_wh.items()} == {wh["PDX"]: {sku: 5}, wh["NJ"]: {sku: 3}}
        assert await levels(http, admin, sku) == {wh["PDX"]: (5, 5), wh["NJ"]: (5, 3)}
        assert await reservations(sessions, order.order_id) == {
            (by_wh[wh["PDX"]]["shipment_id"], sku, wh["PDX"], 5, "reserved"),
            (by_wh[wh["NJ"]]["shipment_id"], sku, wh["NJ"], 3, "reserved"),
        }
    finally:
        await stop_all(handles)


# --- each rule through a real allocation -------------------------------------------------


async def test_closest_warehouse_wins_and_every_candidate_is_explained(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    client: Client,
    sessions: Sessions,
    make_catalog: MakeCatalog,
) -> None:
    stock = {"0": 5}
    cat = await make_catalog({"PDX": stock, "NJ": stock, "DAL": stock}, n_products=1)
    sku = cat.skus[0]
    wh = site(cat)
    version = await rules_version(http, admin)
    handles: list[Handle] = []
    try:
        east = await place(client, [(sku, 1)], handles, address=NEWARK)
        west = await place(client, [(sku, 1)], handles, address=PORTLAND)
        d_east = await allocated(http, admin, sessions, east.order_id)
        d_west = await allocated(http, admin, sessions, west.order_id)
        assert list(live(d_east)) == [wh["NJ"]]
        assert list(live(d_west)) == [wh["PDX"]]
        routing = d_east["routing"]
        assert routing["decision"] == wh["NJ"]
        assert routing["rules_version"] == version
        assert any("decided by closest" in r for r in routing["reasons"]), routing["reasons"]
        # Every warehouse of the catalog is listed, eligible, with a verdict from every rule.
        for code in cat.warehouses:
            c = candidate(routing, code)
            assert c["eligible"] is True
            assert set(c["verdicts"]) >= RULE_VERDICTS, c["verdicts"]
            assert c["verdicts"]["stock"] == "every line in stock"
            assert c["distance_km"] is not None
        assert candidate(routing, wh["NJ"])["distance_km"] < 50
        assert candidate(routing, wh["PDX"])["distance_km"] > 3000
        assert routing["runners_up"], "the beaten plans are kept for the explanation"
        allocated_events = [e for e in d_east["events"] if e["type"] == "allocated"]
        assert allocated_events and allocated_events[-1]["detail"]["rules_version"] == version
        assert await levels(http, admin, sku) == {
            wh["PDX"]: (5, 1),
            wh["NJ"]: (5, 1),
            wh["DAL"]: (5, 0),
        }
    finally:
        await stop_all(handles)


async def test_one_parcel_from_afar_beats_a_nearer_split(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    client: Client,
    sessions: Sessions,
    make_catalog: MakeCatalog,
) -> None:
    """minimize_shipments ranks above closest by default: NJ ships both, not PDX + DAL."""
    cat = await make_catalog({"PDX": {"0": 5}, "NJ": {"0": 5, "1": 5}, "DAL": {"1": 5}})
    sku0, sku1 = cat.skus
    wh = site(cat)
    handles: list[Handle] = []
    try:
        order = await place(client, [(sku0, 1), (sku1, 1)], handles)
        d = await allocated(http, admin, sessions, order.order_id)
        assert list(live(d)) == [wh["NJ"]]
        assert units(live(d)[wh["NJ"]]) == {sku0: 1, sku1: 1}
        assert candidate(d["routing"], wh["PDX"])["verdicts"]["stock"] == f"short of {sku1}"
    finally:
        await stop_all(handles)


async def test_stay_in_market_beats_a_closer_foreign_warehouse(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    client: Client,
    sessions: Sessions,
    make_catalog: MakeCatalog,
) -> None:
    cat = await make_catalog({"NJ": {"0": 5}}, n_products=1)
    sku = cat.skus[0]
    wh = site(cat)
    vancouver = f"{cat.prefix}-YVR"
    r = await http.post(
        "/api/v1/warehouses",
        headers=admin,
        json={
            "code": vancouver,
            "name": "Vancouver",
            "country_code": "CA",
            "latitude": 49.28,
            "longitude": -123.12,
        },
    )
    assert r.status_code == 201, r.text
    handles: list[Handle] = []
    try:
        await adjust(http, admin, sku, vancouver, 5)
        order = await place(client, [(sku, 1)], handles)  # Portland: Vancouver is ~400 km
        d = await allocated(http, admin, sessions, order.order_id)
        assert list(live(d)) == [wh["NJ"]]
        foreign = candidate(d["routing"], vancouver)
        assert foreign["verdicts"]["stay_in_market"] == "outside US"
        assert foreign["distance_km"] < candidate(d["routing"], wh["NJ"])["distance_km"]
        assert any("outside the destination market" in x for x in d["routing"]["reasons"])
        assert await levels(http, admin, sku) == {wh["NJ"]: (5, 1), vancouver: (5, 0)}
    finally:
        await stop_all(handles)
        r = await http.patch(
            f"/api/v1/warehouses/{vancouver}", headers=admin, json={"active": False}
        )
        assert r.status_code == 200, r.text


async def test_priority_rank_breaks_a_distance_tie_and_inactive_sites_are_skipped(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_key: KeyMaker,
    client: Client,
    sessions: Sessions,
    make_catalog: MakeCatalog,
) -> None:
    cat = await make_catalog({"PDX": {"0": 5}}, n_products=1)
    sku = cat.skus[0]
    wh = site(cat)
    twin = f"{cat.prefix}-PDX2"  # same building coordinates as PDX
    ops = await make_key("ops")
    r = await http.post(
        "/api/v1/warehouses",
        headers=ops,
        json={
            "code": twin,
            "name": "twin",
            "country_code": "US",
            "latitude": 45.52,
            "longitude": -122.68,
            "priority": 5,
        },
    )
    assert r.status_code == 201, r.text
    handles: list[Handle] = []
    try:
        await adjust(http, admin, sku, twin, 5)
        first = await place(client, [(sku, 1)], handles)
        d = await allocated(http, admin, sessions, first.order_id)
        assert list(live(d)) == [twin]
        assert any("decided by best priority rank" in x for x in d["routing"]["reasons"])
        assert candidate(d["routing"], twin)["verdicts"]["priority_rank"] == "priority 5"

        r = await http.patch(f"/api/v1/warehouses/{wh['PDX']}", headers=ops, json={"priority": 1})
        assert r.status_code == 200 and r.json()["priority"] == 1
        second = await place(client, [(sku, 1)], handles)
        d = await allocated(http, admin, sessions, second.order_id)
        assert list(live(d)) == [wh["PDX"]]

        r = await http.patch(f"/api/v1/warehouses/{wh['PDX']}", headers=ops, json={"active": False})
        assert r.status_code == 200 and r.json()["active"] is False
        third = await place(client, [(sku, 1)], handles)
        d = await allocated(http, admin, sessions, third.order_id)
        assert list(live(d)) == [twin]
        assert wh["PDX"] not in {c["warehouse"] for c in d["routing"]["candidates"]}
        assert await levels(http, admin, sku) == {wh["PDX"]: (5, 1), twin: (5, 2)}
    finally:
        await stop_all(handles)
        r = await http.patch(f"/api/v1/warehouses/{twin}", headers=admin, json={"active": False})
        assert r.status_code == 200, r.text


async def test_daily_capacity_sends_orders_to_the_next_best_warehouse(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_key: KeyMaker,
    client: Client,
    sessions: Sessions,
    make_catalog: MakeCatalog,
    clock: PinnableClock,
) -> None:
    with clock.pin(noon_today("UTC")):  # the warehouses' day (UTC) cannot end mid-test
        await _daily_capacity(http, admin, make_key, client, sessions, make_catalog)


async def _daily_capacity(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_key: KeyMaker,
    client: Client,
    sessions: Sessions,
    make_catalog: MakeCatalog,
) -> None:
    stock = {"0": 10}
    cat = await make_catalog({"PDX": stock, "NJ": stock, "DAL": stock}, n_products=1)
    sku = cat.skus[0]
    wh = site(cat)
    ops = await make_key("ops")
    staff = await make_key("staff", wh["PDX"])
    url = f"/api/v1/warehouses/{wh['PDX']}"
    assert (await http.patch(url, headers=staff, json={"daily_capacity": 1})).status_code == 403
    bad = await http.patch(url, headers=ops, json={"daily_capacity": -1})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert (await http.patch(url, headers=ops, json={"capacity": 1})).status_code == 422
    missing = await http.patch(f"/api/v1/warehouses/NOPE-{cat.prefix}", headers=ops, json={})
    assert missing.status_code == 404
    r = await http.patch(url, headers=ops, json={"daily_capacity": 1})
    assert r.status_code == 200 and r.json()["daily_capacity"] == 1

    handles: list[Handle] = []
    try:
        first = await place(client, [(sku, 1)], handles)
        d = await allocated(http, admin, sessions, first.order_id)
        assert list(live(d)) == [wh["PDX"]]
        assert (
            candidate(d["routing"], wh["PDX"])["verdicts"]["daily_capacity"] == "ok: 0 today of 1"
        )

        second = await place(client, [(sku, 1)], handles)
        d = await allocated(http, admin, sessions, second.order_id)
        assert list(live(d)) == [wh["DAL"]]  # next nearest to Portland
        full = candidate(d["routing"], wh["PDX"])
        assert full["eligible"] is False
        assert full["verdicts"]["daily_capacity"] == "skipped: at daily capacity (1/1)"

        r = await http.patch(
            f"/api/v1/warehouses/{wh['DAL']}", headers=ops, json={"daily_capacity": 0}
        )
        assert r.status_code == 200
        third = await place(client, [(sku, 1)], handles)
        d = await allocated(http, admin, sessions, third.order_id)
        assert list(live(d)) == [wh["NJ"]]
        closed = candidate(d["routing"], wh["DAL"])
        # DAL's earlier shipment came while it had no limit, so it was not counted.
        assert closed["verdicts"]["daily_capacity"] == "skipped: at daily capacity (0/0)"
        assert await levels(http, admin, sku) == {
            wh["PDX"]: (10, 1),
            wh["NJ"]: (10, 1),
            wh["DAL"]: (10, 1),
        }

        # null lifts the limit again.
        r = await http.patch(url, headers=ops, json={"daily_capacity": None})
        assert r.status_code == 200 and r.json()["daily_capacity"] is None
        fourth = await place(client, [(sku, 1)], handles)
        d = await allocated(http, admin, sessions, fourth.order_id)
        assert list(live(d)) == [wh["PDX"]]
    finally:
        await stop_all(handles)


async def test_overnight_orders_skip_a_warehouse_past_its_carrier_cutoff(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    client: Client,
    sessions: Sessions,
    make_catalog: MakeCatalog,
    clock: PinnableClock,
) -> None:
    zone = "America/Los_Angeles"
    now = noon_today(zone)  # a cut-off a minute before is today's in Portland
    with clock.pin(now):
        await _cutoff(http, admin, client, sessions, make_catalog, zone, now, clock)


async def _cutoff(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    client: Client,
    sessions: Sessions,
    make_catalog: MakeCatalog,
    zone: str,
    now: datetime,
    clock: PinnableClock,
) -> None:
    cutoff = (now.astimezone(ZoneInfo(zone)) - timedelta(minutes=1)).strftime("%H:%M")
    assert cutoff == "11:59"
    stock = {"0": 5}
    cat = await make_catalog({"PDX": {"0": 5, "1": 5}, "NJ": stock, "DAL": stock})
    sku0, sku1 = cat.skus  # sku1 only at PDX
    wh = site(cat)
    url = f"/api/v1/warehouses/{wh['PDX']}"
    assert (
        await http.patch(url, headers=admin, json={"carrier_cutoff": "25:00"})
    ).status_code == 422
    assert (
        await http.patch(url, headers=admin, json={"timezone": "Mars/Olympus"})
    ).status_code == 422
    r = await http.patch(url, headers=admin, json={"timezone": zone, "carrier_cutoff": cutoff})
    assert r.status_code == 200, r.text
    assert (r.json()["timezone"], r.json()["carrier_cutoff"]) == (zone, cutoff)

    handles: list[Handle] = []
    try:
        # Two minutes earlier the cut-off is still ahead: PDX, the nearest, takes the parcel.
        # (With this and the check at noon, a worker reading the real time instead of the
        # clock fails one of the two, whatever the time of day.)
        with clock.pin(now - timedelta(minutes=2)):
            early = await place(client, [(sku0, 1)], handles, method=ShippingMethod.OVERNIGHT)
            d_early = await allocated(http, admin, sessions, early.order_id)
        assert list(live(d_early)) == [wh["PDX"]]
        overnight = await place(client, [(sku0, 1)], handles, method=ShippingMethod.OVERNIGHT)
        standard = await place(client, [(sku0, 1)], handles)
        d_night = await allocated(http, admin, sessions, overnight.order_id)
        d_std = await allocated(http, admin, sessions, standard.order_id)
        assert list(live(d_night)) == [wh["DAL"]]  # the nearest that still makes its pickup
        late = candidate(d_night["routing"], wh["PDX"])
        assert late["eligible"] is False
        assert late["verdicts"]["shipping_method_cutoff"] == f"skipped: cut-off {cutoff} passed"
        assert list(live(d_std)) == [wh["PDX"]]  # standard parcels ignore the cut-off
        assert (
            candidate(d_std["routing"], wh["PDX"])["verdicts"]["shipping_method_cutoff"]
            == "not applied to standard"
        )

        # Only PDX has sku1: shipping tomorrow beats not shipping (the relaxation is said).
        only_here = await place(client, [(sku1, 1)], handles, method=ShippingMethod.OVERNIGHT)
        d = await allocated(http, admin, sessions, only_here.order_id)
        assert list(live(d)) == [wh["PDX"]]
        assert any("ships with the next pickup" in x for x in d["routing"]["reasons"])

        # Clearing the cut-off makes PDX eligible for overnight again.
        r = await http.patch(url, headers=admin, json={"carrier_cutoff": None})
        assert r.status_code == 200 and r.json()["carrier_cutoff"] is None
        again = await place(client, [(sku0, 1)], handles, method=ShippingMethod.OVERNIGHT)
        d = await allocated(http, admin, sessions, again.order_id)
        assert list(live(d)) == [wh["PDX"]]
    finally:
        await stop_all(handles)


# --- the rules API (the only test that changes the global rules) -------------------------


async def test_routing_rules_api(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_key: KeyMaker,
    client: Client,
    sessions: Sessions,
    make_catalog: MakeCatalog,
) -> None:
    url = "/api/v1/rules/routing"
    start = await http.get(url, headers=admin)
    assert start.status_code == 200, start.text
    original = start.json()

    cat = await make_catalog({"PDX": {"0": 5}, "NJ": {"0": 5, "1": 5}, "DAL": {"1": 5}})
    sku0, sku1 = cat.skus
    wh = site(cat)
    ops = await make_key("ops")
    staff = await make_key("staff", wh["PDX"])
    preview_body: dict[str, Any] = {
        "shipping_address": address_json(PORTLAND),
        "lines": [
            {"sku": sku0, "quantity": 1, "unit_price": "1.00"},
            {"sku": sku1, "quantity": 1, "unit_price": "1.00"},
        ],
    }
    closest_first: list[dict[str, Any]] = [
        {"type": "daily_capacity"},
        {"type": "shipping_method_cutoff", "methods": ["overnight"]},
        {"type": "closest"},
        {"type": "stay_in_market"},
        {"type": "minimize_shipments"},
        {"type": "priority_rank"},
    ]
    handles: list[Handle] = []
    try:
        # The defaults in force, whatever an earlier test saved: set what is asserted on.
        defaults = DEFAULT_RULES.model_dump(mode="json")["rules"]
        r = await http.put(url, headers=admin, json={"rules": defaults})
        assert r.status_code == 200, r.text
        v0 = r.json()["version"]
        current = (await http.get(url, headers=ops)).json()
        assert current["version"] == v0
        assert [r["type"] for r in current["rules"]] == DEFAULT_TYPES
        assert all(r["enabled"] for r in current["rules"])
        r = await http.post("/api/v1/routing/preview", headers=ops, json=preview_body)
        assert r.status_code == 200, r.text
        assert r.json()["decision"] == wh["NJ"]  # the defaults: one parcel from NJ
        assert r.json()["rules_version"] == v0

        assert (await http.get(url, headers=staff)).status_code == 403
        assert (await http.get(url, headers=ops)).status_code == 200
        for who in (staff, ops):  # only admins change the rules
            r = await http.put(url, headers=who, json={"rules": closest_first})
            assert r.status_code == 403, r.text

        dup = await http.put(
            url, headers=admin, json={"rules": [{"type": "closest"}, {"type": "closest"}]}
        )
        assert dup.status_code == 422, dup.text
        assert dup.headers["content-type"].startswith("application/problem+json")
        assert dup.json()["reason"] == "invalid_rules"
        assert "closest" in dup.json()["detail"]
        unknown = await http.put(url, headers=admin, json={"rules": [{"type": "cheapest"}]})
        assert unknown.status_code == 422
        assert unknown.headers["content-type"].startswith("application/problem+json")
        empty = await http.put(url, headers=admin, json={"rules": []})
        assert empty.status_code == 422
        extra = await http.put(url, headers=admin, json={"rules": [{"type": "closest", "x": 1}]})
        assert extra.status_code == 422
        assert await rules_version(http, admin) == v0  # nothing refused was saved

        saved = await http.put(
            url, headers=admin, json={"rules": closest_first, "expected_version": v0}
        )
        assert saved.status_code == 200, saved.text
        v1 = saved.json()["version"]
        assert v1 == v0 + 1
        now = (await http.get(url, headers=ops)).json()
        assert now["version"] == v1
        assert [r["type"] for r in now["rules"]] == [r["type"] for r in closest_first]
        assert now["actor"] and now["created_at"]

        stale = await http.put(
            url, headers=admin, json={"rules": closest_first, "expected_version": v0}
        )
        assert stale.status_code == 409, stale.text
        assert stale.json()["reason"] == "version_conflict"
        assert stale.json()["current_version"] == v1
        assert await rules_version(http, admin) == v1

        # Closest first: a split from the two nearer sites beats NJ's single parcel.
        r = await http.post("/api/v1/routing/preview", headers=ops, json=preview_body)
        assert r.json()["rules_version"] == v1
        assert set(r.json()["decision"].split(" + ")) == {wh["PDX"], wh["DAL"]}
        order = await place(client, [(sku0, 1), (sku1, 1)], handles)
        d = await allocated(http, admin, sessions, order.order_id, n=2)
        assert {w: units(s) for w, s in live(d).items()} == {
            wh["PDX"]: {sku0: 1},
            wh["DAL"]: {sku1: 1},
        }
        assert d["routing"]["rules_version"] == v1
        assert any("decided by closest" in x for x in d["routing"]["reasons"])

        # most_stock first: the fullest shelf wins whatever the distance.
        r = await http.put(
            url, headers=admin, json={"rules": [{"type": "most_stock"}, {"type": "closest"}]}
        )
        assert r.status_code == 200 and r.json()["version"] == v1 + 1
        single = {**preview_body, "lines": preview_body["lines"][:1]}
        await adjust(http, admin, sku0, wh["NJ"], 20)
        r = await http.post("/api/v1/routing/preview", headers=ops, json=single)
        assert r.json()["decision"] == wh["NJ"] and r.json()["rules_version"] == v1 + 1
        assert any("most stock left" in x for x in r.json()["reasons"])

        # priority_rank first (closest disabled): the best-ranked site wins.
        await http.patch(f"/api/v1/warehouses/{wh['DAL']}", headers=admin, json={"priority": 1})
        await adjust(http, admin, sku0, wh["DAL"], 1)
        r = await http.put(
            url,
            headers=admin,
            json={"rules": [{"type": "closest", "enabled": False}, {"type": "priority_rank"}]},
        )
        assert r.status_code == 200
        r = await http.post("/api/v1/routing/preview", headers=ops, json=single)
        assert r.json()["decision"] == wh["DAL"], r.json()
    finally:
        await stop_all(handles)
        restore = await http.put(url, headers=admin, json={"rules": original["rules"]})
        assert restore.status_code == 200, restore.text
    back = (await http.get(url, headers=admin)).json()
    assert back["rules"] == original["rules"]


# --- preview -----------------------------------------------------------------------------


async def test_preview_reserves_nothing(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_key: KeyMaker,
    sessions: Sessions,
    make_catalog: MakeCatalog,
) -> None:
    cat = await make_catalog({"PDX": {"0": 3}, "NJ": {"0": 3, "1": 2}})
    sku0, sku1 = cat.skus
    wh = site(cat)
    ops = await make_key("ops")
    version = await rules_version(http, admin)
    before = {sku: await levels(http, admin, sku) for sku in cat.skus}

    def body(*lines: tuple[str, int]) -> dict[str, Any]:
        return {
            "shipping_address": address_json(PORTLAND),
            "shipping_method": "standard",
            "lines": [{"sku": s, "quantity": q, "unit_price": "2.50"} for s, q in lines],
        }

    url = "/api/v1/routing/preview"
    r = await http.post(url, headers=ops, json=body((sku0, 2)))
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["routed"] is True and p["decision"] == wh["PDX"]
    assert p["shipments"] == [{"warehouse": wh["PDX"], "lines": {sku0: 2}}]
    assert p["short"] == {} and p["reasons"] and p["rules_version"] == version
    assert {c["warehouse"] for c in p["candidates"]} >= set(cat.warehouses)

    r = await http.post(url, headers=ops, json=body((sku0, 5)))
    split = r.json()
    assert {s["warehouse"]: s["lines"] for s in split["shipments"]} == {
        wh["PDX"]: {sku0: 3},
        wh["NJ"]: {sku0: 2},
    }

    r = await http.post(url, headers=ops, json=body((sku0, 1), (sku1, 5)))
    short = r.json()
    assert r.status_code == 200
    assert (short["routed"], short["decision"], short["shipments"]) == (False, "backordered", [])
    assert short["short"] == {sku1: 3}
    assert any(sku1 in x for x in short["reasons"])

    # Nothing was reserved by any of it.
    assert {sku: await levels(http, admin, sku) for sku in cat.skus} == before
    async with sessions() as s:
        rows = (await s.scalars(select(Reservation).where(Reservation.sku.in_(cat.skus)))).all()
    assert rows == []

    for bad in (
        {"shipping_address": address_json(PORTLAND), "lines": []},
        {"lines": [{"sku": sku0, "quantity": 1, "unit_price": "1"}]},
        body((sku0, 0)),
        {**body((sku0, 1)), "shipping_method": "teleport"},
    ):
        r = await http.post(url, headers=ops, json=bad)
        assert r.status_code == 422, bad
        assert r.headers["content-type"].startswith("application/problem+json")
    staff = await make_key("staff", wh["PDX"])
    assert (await http.post(url, headers=staff, json=body((sku0, 1)))).status_code == 403
    assert (await http.post(url, json=body((sku0, 1)))).status_code == 401


# --- move --------------------------------------------------------------------------------


async def test_ops_moves_an_open_shipment_with_its_reservations(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_key: KeyMaker,
    client: Client,
    sessions: Sessions,
    make_catalog: MakeCatalog,
) -> None:
    cat = await make_catalog({"PDX": {"0": 5}, "NJ": {"0": 5}}, n_products=1)
    sku = cat.skus[0]
    wh = site(cat)
    ops = await make_key("ops")
    pdx_staff = await make_key("staff", wh["PDX"])
    nj_staff = await make_key("staff", wh["NJ"])
    handles: list[Handle] = []
    try:
        order = await place(client, [(sku, 2)], handles)
        d = await allocated(http, admin, sessions, order.order_id)
        sid = live(d)[wh["PDX"]]["shipment_id"]
        url = f"/api/v1/shipments/{sid}/move"
        assert await levels(http, admin, sku) == {wh["PDX"]: (5, 2), wh["NJ"]: (5, 0)}

        r = await http.post(url, headers=pdx_staff, json={"warehouse": wh["NJ"]})
        assert r.status_code == 403
        r = await http.post(url, headers=ops, json={"warehouse": f"NOPE-{cat.prefix}"})
        assert r.status_code == 404 and r.json()["reason"] == "unknown_warehouse"
        r = await http.post(url, headers=ops, json={"warehouse": wh["PDX"]})
        assert r.status_code == 409 and r.json()["reason"] == "same_warehouse"
        r = await http.post(url, headers=ops, json={"warehouse": wh["DAL"]})  # no stock there
        assert r.status_code == 409, r.text
        assert r.json()["reason"] == "cannot_move"
        assert r.headers["content-type"].startswith("application/problem+json")
        r = await http.post(
            "/api/v1/shipments/nope-1/move", headers=ops, json={"warehouse": wh["NJ"]}
        )
        assert r.status_code == 404
        # NJ at capacity: refused as well, and nothing changed.
        await http.patch(f"/api/v1/warehouses/{wh['NJ']}", headers=ops, json={"daily_capacity": 0})
        r = await http.post(url, headers=ops, json={"warehouse": wh["NJ"]})
        assert r.status_code == 409 and r.json()["reason"] == "cannot_move"
        assert "capacity" in r.json()["detail"]
        assert await levels(http, admin, sku) == {wh["PDX"]: (5, 2), wh["NJ"]: (5, 0)}
        assert await reservations(sessions, order.order_id) == {
            (sid, sku, wh["PDX"], 2, "reserved")
        }
        await http.patch(
            f"/api/v1/warehouses/{wh['NJ']}", headers=ops, json={"daily_capacity": None}
        )

        r = await http.post(url, headers=ops, json={"warehouse": wh["NJ"], "reason": "PDX flooded"})
        assert r.status_code == 200, r.text
        assert r.json()["warehouse"] == wh["NJ"] and r.json()["status"] == "open"
        assert await levels(http, admin, sku) == {wh["PDX"]: (5, 0), wh["NJ"]: (5, 2)}
        assert await reservations(sessions, order.order_id) == {(sid, sku, wh["NJ"], 2, "reserved")}
        nj_work = (await http.get("/api/v1/shipments", headers=nj_staff)).json()
        assert [w["shipment_id"] for w in nj_work] == [sid]
        pdx_work = (await http.get("/api/v1/shipments", headers=pdx_staff)).json()
        assert pdx_work == []

        async def moved() -> dict[str, Any] | None:
            d = await detail(http, admin, order.order_id)
            types = [e["type"] for e in d["events"]]
            return d if "shipment_moved" in types else None

        d = await eventually(moved)
        assert [s["warehouse"] for s in d["shipments"]] == [wh["NJ"]]
        event = next(e for e in d["events"] if e["type"] == "shipment_moved")
        assert event["detail"]["to"] == wh["NJ"] and event["detail"]["reason"] == "PDX flooded"

        # Picking starts at NJ: the shipment can no longer move; PDX's staff can't touch it.
        r = await http.post(
            f"/api/v1/shipments/{sid}/scans",
            headers=pdx_staff,
            json={"barcode": cat.barcodes[sku], "scan_id": "m0"},
        )
        assert r.status_code == 403
        r = await http.post(
            f"/api/v1/shipments/{sid}/scans",
            headers=nj_staff,
            json={"barcode": cat.barcodes[sku], "scan_id": "m1"},
        )
        assert r.status_code == 200, r.text
        r = await http.post(url, headers=ops, json={"warehouse": wh["PDX"]})
        assert r.status_code == 409 and r.json()["reason"] == "not_movable"
        assert await levels(http, admin, sku) == {wh["PDX"]: (5, 0), wh["NJ"]: (5, 2)}

        # The parcel ships from NJ: stock leaves NJ, PDX is untouched.
        r = await http.post(
            f"/api/v1/shipments/{sid}/scans",
            headers=nj_staff,
            json={"barcode": cat.barcodes[sku], "scan_id": "m2"},
        )
        assert r.status_code == 200, r.text
        r = await http.post(
            f"/api/v1/shipments/{sid}/pack",
            headers=nj_staff,
            json={"weight_grams": 2 * cat.weights[sku]},
        )
        assert r.status_code == 200, r.text
        await wait_status(http, admin, order.order_id, "shipped")
        assert await levels(http, admin, sku) == {wh["PDX"]: (5, 0), wh["NJ"]: (3, 0)}
    finally:
        await stop_all(handles)


# --- reject → reroute --------------------------------------------------------------------


async def test_rejected_shipment_is_rerouted_to_another_warehouse(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_key: KeyMaker,
    client: Client,
    sessions: Sessions,
    make_catalog: MakeCatalog,
) -> None:
    stock = {"0": 3, "1": 3}
    cat = await make_catalog({"PDX": stock, "NJ": stock})
    sku0, sku1 = cat.skus
    wh = site(cat)
    pdx_staff = await make_key("staff", wh["PDX"])
    nj_staff = await make_key("staff", wh["NJ"])
    handles: list[Handle] = []
    try:
        order = await place(client, [(sku0, 1), (sku1, 2)], handles)
        d = await allocated(http, admin, sessions, order.order_id)
        first = f"{order.order_id}-1"
        assert [s["shipment_id"] for s in d["shipments"]] == [first]
        assert d["shipments"][0]["warehouse"] == wh["PDX"]
        url = f"/api/v1/shipments/{first}/reject"

        r = await http.post(url, headers=nj_staff, json={"reason": "not ours"})
        assert r.status_code == 403
        r = await http.post(url, headers=pdx_staff, json={"reason": ""})
        assert r.status_code == 422
        r = await http.post(
            url, headers=pdx_staff, json={"reason": "shelf empty", "sku": f"{sku0}-X"}
        )
        assert r.status_code == 409 and r.json()["reason"] == "wrong_item"

        r = await http.post(url, headers=pdx_staff, json={"reason": "shelf empty", "sku": sku0})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "cancelled"

        second = f"{order.order_id}-2"
        assert (await shipment_row(sessions, second)).warehouse == wh["NJ"]
        assert [row.shipment_id for row in await open_rows(sessions, order.order_id, 1)] == [second]
        d = await detail(http, admin, order.order_id)
        by_id = {s["shipment_id"]: s for s in d["shipments"]}
        assert by_id[first]["status"] == "cancelled"
        assert by_id[second]["warehouse"] == wh["NJ"]
        assert units(by_id[second]) == {sku0: 1, sku1: 2}  # the whole parcel moved on
        assert d["routing"]["decision"] == wh["NJ"]
        # The warehouse that handed it back is not asked again.
        assert wh["PDX"] not in {c["warehouse"] for c in d["routing"]["candidates"]}
        types = [e["type"] for e in d["events"]]
        assert "shipment_rejected" in types and "rerouting" in types

        # PDX's count of the missing SKU is corrected; its other SKU is untouched.
        assert await levels(http, admin, sku0) == {wh["PDX"]: (0, 0), wh["NJ"]: (3, 1)}
        assert await levels(http, admin, sku1) == {wh["PDX"]: (3, 0), wh["NJ"]: (3, 2)}
        assert await reservations(sessions, order.order_id) == {
            (first, sku0, wh["PDX"], 1, "released"),
            (first, sku1, wh["PDX"], 2, "released"),
            (second, sku0, wh["NJ"], 1, "reserved"),
            (second, sku1, wh["NJ"], 2, "reserved"),
        }
        assert (await http.get("/api/v1/shipments", headers=pdx_staff)).json() == []

        await pick_and_pack(http, cat, by_id[second], nj_staff)
        shipped = await wait_status(http, admin, order.order_id, "shipped")
        assert {s["shipment_id"]: s["status"] for s in shipped["shipments"]} == {
            first: "cancelled",
            second: "shipped",
        }
        assert await levels(http, admin, sku1) == {wh["PDX"]: (3, 0), wh["NJ"]: (1, 0)}
    finally:
        await stop_all(handles)


async def test_rejected_shipment_waits_as_a_backorder_until_stock_arrives(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_key: KeyMaker,
    client: Client,
    sessions: Sessions,
    make_catalog: MakeCatalog,
) -> None:
    cat = await make_catalog({"PDX": {"0": 2}}, n_products=1)
    sku = cat.skus[0]
    wh = site(cat)
    pdx_staff = await make_key("staff", wh["PDX"])
    nj_staff = await make_key("staff", wh["NJ"])
    handles: list[Handle] = []
    try:
        order = await place(client, [(sku, 1)], handles)
        await allocated(http, admin, sessions, order.order_id)
        first = f"{order.order_id}-1"
        r = await http.post(
            f"/api/v1/shipments/{first}/reject",
            headers=pdx_staff,
            json={"reason": "shelf empty", "sku": sku},
        )
        assert r.status_code == 200, r.text

        async def waiting() -> dict[str, Any] | None:
            d = await detail(http, admin, order.order_id)
            return d if "backordered" in [e["type"] for e in d["events"]] else None

        d = await eventually(waiting, within=30)
        backordered = [e for e in d["events"] if e["type"] == "backordered"][-1]
        assert backordered["detail"]["short_skus"] == [sku]
        assert d["routing"]["decision"] == "backordered"
        assert [s["status"] for s in d["shipments"]] == ["cancelled"]
        async with sessions() as s:
            row = await s.get(Backorder, order.order_id)
        assert row is not None and row.resolved_at is None and row.quantities == {sku: 1}
        assert await levels(http, admin, sku) == {wh["PDX"]: (0, 0)}

        level = await adjust(http, admin, sku, wh["NJ"], 1)  # wakes the waiting order
        assert level["available"] == 1
        assert (await shipment_row(sessions, f"{order.order_id}-2")).warehouse == wh["NJ"]
        assert await levels(http, admin, sku) == {wh["PDX"]: (0, 0), wh["NJ"]: (1, 1)}
        assert not await _open_backorder(sessions, order.order_id)

        d = await detail(http, admin, order.order_id)
        await pick_and_pack(http, cat, live(d)[wh["NJ"]], nj_staff)
        await wait_status(http, admin, order.order_id, "shipped")
    finally:
        await stop_all(handles)


# --- backorders wake in arrival order ----------------------------------------------------


async def _status(sessions: Sessions, order_id: str) -> str | None:
    async with sessions() as s:
        return await s.scalar(select(OrderRow.status).where(OrderRow.order_id == order_id))


async def _status_is(sessions: Sessions, order_id: str, status: str) -> bool:
    return await _status(sessions, order_id) == status


async def _open_backorder(sessions: Sessions, order_id: str) -> bool:
    async with sessions() as s:
        row = await s.get(Backorder, order_id)
        return row is not None and row.resolved_at is None


@pytest.mark.parametrize("arrival", ["a-then-b", "b-then-a"])
async def test_backorders_are_served_in_arrival_order(
    arrival: str,
    http: httpx.AsyncClient,
    admin: dict[str, str],
    client: Client,
    sessions: Sessions,
    make_catalog: MakeCatalog,
) -> None:
    """Two orders wait for 2 units each; 2 arrive: the one that waited longest gets them.

    Run twice with the ids' sort order against the arrival order, so neither the id nor
    anything but arrival can be what decides.
    """
    cat = await make_catalog({}, n_products=1)
    sku = cat.skus[0]
    wh = site(cat)
    base = f"t-{uuid.uuid4().hex[:8]}"
    ids = [f"{base}-a", f"{base}-b"]
    if arrival == "b-then-a":
        ids.reverse()
    early, late = ids
    handles: list[Handle] = []
    try:
        await place(client, [(sku, 2)], handles, order_id=early)
        await eventually(lambda: _status_is(sessions, early, "backordered"))
        await place(client, [(sku, 2)], handles, order_id=late)
        await eventually(lambda: _status_is(sessions, late, "backordered"))
        assert await _open_backorder(sessions, early) and await _open_backorder(sessions, late)

        await adjust(http, admin, sku, wh["DAL"], 2)  # signals both waiters
        await open_rows(sessions, early, 1)
        assert await _status(sessions, late) == "backordered"
        assert await _open_backorder(sessions, late)
        assert not await _open_backorder(sessions, early)
        assert await levels(http, admin, sku) == {wh["DAL"]: (2, 2)}
        assert {r[0] for r in await reservations(sessions, early)} == {f"{early}-1"}
        assert await reservations(sessions, late) == set()

        await adjust(http, admin, sku, wh["DAL"], 2)
        rows = await open_rows(sessions, late, 1)
        assert rows[0].warehouse == wh["DAL"]
        assert not await _open_backorder(sessions, late)
        assert await levels(http, admin, sku) == {wh["DAL"]: (4, 4)}
    finally:
        await stop_all(handles)
