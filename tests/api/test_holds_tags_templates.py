"""Tagging through HTTP: rule tags at intake, the tag filter, staff tag edits, holds that
stop the floor, template steps the workflow enforces, and the ops view of stuck orders.

Everything runs against the session's real Postgres, Temporal dev server and worker. The
templates and tag rules in force are the defaults (``test_templates_api.py`` restores
whatever it changes); no test here writes them.
"""

from __future__ import annotations

import itertools
import random
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from domain.names import fulfillment_workflow_id
from domain.templates import DEFAULT_TEMPLATES, Step, TemplateSet
from store.tables import ScanEvent, ShipmentRow
from tests.api.conftest import KeyMaker
from tests.api.helpers import eventually, shopify_order
from tests.conftest import TEST_TASK_QUEUE, Catalog, make_gtin13
from tests.workflows.helpers import order_input, start_order
from workflows.fulfillment import FulfillmentWorkflow

Sessions = async_sessionmaker[AsyncSession]
MakeCatalog = Callable[..., Awaitable[Catalog]]
ShopifyPost = Callable[..., Awaitable[httpx.Response]]

ORDERS = "/api/v1/orders"
PORTLAND = {
    "name": "Mara Lindqvist",
    "address1": "418 Alder Street",
    "city": "Portland",
    "province_code": "OR",
    "zip": "97205",
    "country_code": "US",
}
TORONTO = {
    "name": "Jonas Berg",
    "address1": "100 King Street West",
    "city": "Toronto",
    "province_code": "ON",
    "zip": "M5H 1J9",
    "country_code": "CA",
}
FULL_PLAN = [
    "verify",
    "pay",
    "allocate",
    "pick",
    "packaging_check",
    "pack_verification",
    "pack",
    "ship",
]
DEFAULT_PLAN = ["verify", "pay", "allocate", "pick", "pack", "ship"]

#: GTINs for the products these tests create through the API (a range no other test uses).
_gtins = itertools.count(93_000_000 + random.randrange(0, 900_000, 1000))


# --- helpers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    sku: str
    barcode: str
    weight: int


@dataclass(frozen=True)
class Shipment:
    order_id: str
    shipment_id: str
    warehouse: str
    staff: dict[str, str]

    @property
    def url(self) -> str:
        return f"/api/v1/shipments/{self.shipment_id}"


async def new_product(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    warehouse: str,
    *,
    tags: list[str] | None = None,
    weight: int = 300,
    stock: int = 20,
) -> Item:
    """A product made through ``POST /api/v1/products`` with ``tags``, stocked at one site."""
    sku = f"HT-{uuid.uuid4().hex[:8].upper()}"
    barcode = make_gtin13(next(_gtins))
    r = await http.post(
        "/api/v1/products",
        headers=admin,
        json={
            "sku": sku,
            "name": f"Product {sku}",
            "barcodes": [barcode],
            "weight_grams": weight,
            "tags": tags or [],
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["tags"] == (tags or [])
    r = await http.post(
        "/api/v1/inventory/adjustments",
        headers=admin,
        json={"sku": sku, "warehouse": warehouse, "delta": stock, "reason": "test stock"},
    )
    assert r.status_code == 200, r.text
    return Item(sku, barcode, weight)


async def post_order(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    lines: list[tuple[Item, int, str]],
    *,
    shipping_method: str = "standard",
    address: dict[str, str] | None = None,
    tags: list[str] | None = None,
    financial_status: str = "paid",
) -> str:
    """``POST /api/v1/orders`` with ``(item, quantity, unit_price)`` lines; the order id."""
    body = {
        "external_id": uuid.uuid4().hex[:12],
        "channel": "web",
        "email": "mara@example.com",
        "shipping_address": address or PORTLAND,
        "shipping_method": shipping_method,
        "lines": [{"sku": i.sku, "quantity": q, "unit_price": p} for i, q, p in lines],
        "financial_status": financial_status,
        "tags": tags or [],
    }
    r = await http.post(
        ORDERS, json=body, headers={**admin, "Idempotency-Key": f"ht-{uuid.uuid4()}"}
    )
    assert r.status_code == 202, r.text
    return str(r.json()["order_id"])


async def detail(http: httpx.AsyncClient, headers: dict[str, str], order_id: str) -> dict[str, Any]:
    """The order detail once the workflow answers (the detail is read live)."""

    async def probe() -> dict[str, Any] | None:
        r = await http.get(f"{ORDERS}/{order_id}", headers=headers)
        if r.status_code != 200:
            return None
        body: dict[str, Any] = r.json()
        return body if body["live"] and body["steps"] else None

    return await eventually(probe)


async def status_becomes(
    http: httpx.AsyncClient, headers: dict[str, str], order_id: str, wanted: str
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        r = await http.get(f"{ORDERS}/{order_id}", headers=headers)
        return r.json() if r.status_code == 200 and r.json()["status"] == wanted else None

    return await eventually(probe)


async def listed(http: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[str]:
    r = await http.get(ORDERS, headers=headers, params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    return [o["order_id"] for o in r.json()["items"]]


async def shipment_of(sessions: Sessions, make_key: KeyMaker, order_id: str) -> Shipment:
    """The order's first shipment once it is on the work list, and a picker there."""
    shipment_id = f"{order_id}-1"

    async def row() -> ShipmentRow | None:
        async with sessions() as s:
            return await s.get(ShipmentRow, shipment_id)

    found = await eventually(row)
    staff = await make_key("staff", found.warehouse)
    return Shipment(order_id, shipment_id, found.warehouse, staff)


async def scan(
    http: httpx.AsyncClient, ship: Shipment, item: Item, scan_id: str, stage: str = "pick"
) -> httpx.Response:
    return await http.post(
        f"{ship.url}/scans",
        headers=ship.staff,
        json={"barcode": item.barcode, "scan_id": scan_id, "stage": stage},
    )


async def pick_all(http: httpx.AsyncClient, ship: Shipment, item: Item, units: int) -> None:
    for n in range(units):
        r = await scan(http, ship, item, f"pick-{uuid.uuid4().hex[:8]}-{n}")
        assert r.status_code == 200, r.text


async def pack(http: httpx.AsyncClient, ship: Shipment, grams: int) -> httpx.Response:
    return await http.post(f"{ship.url}/pack", headers=ship.staff, json={"weight_grams": grams})


async def packaging_check(http: httpx.AsyncClient, ship: Shipment) -> httpx.Response:
    return await http.post(
        f"{ship.url}/packaging-check", headers=ship.staff, json={"note": "bubble wrap"}
    )


def problem(r: httpx.Response, status: int, reason: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    assert r.json()["reason"] == reason, r.text


async def shipment_held(client: Client, shipment_id: str, held: bool) -> None:
    """Wait until the shipment's workflow has heard of the hold (or its release)."""
    handle = client.get_workflow_handle(fulfillment_workflow_id(shipment_id))

    async def probe() -> bool:
        return (await handle.query(FulfillmentWorkflow.details)).on_hold is held

    await eventually(probe)


# --- 1. tags at intake --------------------------------------------------------------------


async def test_rule_tags_priority_and_template_of_an_api_order(
    http: httpx.AsyncClient, admin: dict[str, str], worker: Worker, make_catalog: MakeCatalog
) -> None:
    cat = await make_catalog(stock={}, n_products=1)
    vase = await new_product(http, admin, cat.warehouses[0], tags=["fragile", "glass"])
    order_id = await post_order(
        http, admin, [(vase, 2, "300.00")], shipping_method="overnight", tags=["Birthday"]
    )

    d = await detail(http, admin, order_id)
    assert {"high-priority", "high-value", "fragile", "Birthday"} <= set(d["tags"])
    assert "international" not in d["tags"]
    assert d["priority"] >= 50
    rules = await http.get("/api/v1/rules/tags", headers=admin)
    assert rules.status_code == 200
    assert d["tags_version"] == rules.json()["version"]

    assert [s["step"] for s in d["steps"]] == FULL_PLAN
    added = {s["step"]: s["added_by"] for s in d["steps"]}
    assert added == {s: None for s in FULL_PLAN} | {
        "packaging_check": "fragile",
        "pack_verification": "high-value",
    }
    # high-priority: every SLA half the default.
    assert {s["step"]: s["sla_seconds"] for s in d["steps"]} == {
        s: DEFAULT_TEMPLATES.base_sla_seconds[Step(s)] // 2 for s in FULL_PLAN
    }

    async def tagged_event() -> dict[str, Any] | None:
        events = (await http.get(f"{ORDERS}/{order_id}", headers=admin)).json()["events"]
        return next((e["detail"] for e in events if e["type"] == "tagged"), None)

    event = await eventually(tagged_event)
    assert event["rules_version"] == d["tags_version"]
    assert {"express-shipping", "fragile-items", "high-value"} <= set(event["matched"])

    # The shipment carries both extra steps.
    ship = (await status_becomes(http, admin, order_id, "ready_to_pick"))["shipments"]
    assert [(s["packaging_check"], s["verify_at_pack"]) for s in ship] == [(True, True)]


async def test_a_destination_abroad_is_tagged_international(
    http: httpx.AsyncClient, admin: dict[str, str], worker: Worker, make_catalog: MakeCatalog
) -> None:
    cat = await make_catalog(stock={}, n_products=1)
    plain = await new_product(http, admin, cat.warehouses[0])
    order_id = await post_order(http, admin, [(plain, 1, "20.00")], address=TORONTO)

    d = await detail(http, admin, order_id)
    assert d["tags"] == ["international"]
    assert d["priority"] == 0
    assert [s["step"] for s in d["steps"]] == DEFAULT_PLAN
    assert all(s["added_by"] is None for s in d["steps"])
    assert {s["step"]: s["sla_seconds"] for s in d["steps"]} == {
        s: DEFAULT_TEMPLATES.base_sla_seconds[Step(s)] for s in DEFAULT_PLAN
    }


async def test_shopify_comma_separated_tags_are_kept_beside_rule_tags(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    worker: Worker,
    make_catalog: MakeCatalog,
    shopify_post: ShopifyPost,
) -> None:
    cat = await make_catalog()
    payload = shopify_order(cat.skus[:1])  # Express shipping: high-priority
    payload["tags"] = "VIP, repeat-buyer , Gift Wrap,,"
    r = await shopify_post(payload, webhook_id=f"wh-{uuid.uuid4()}")
    assert r.status_code == 202, r.text
    order_id = r.json()["order_id"]

    d = await detail(http, admin, order_id)
    assert {"VIP", "repeat-buyer", "Gift Wrap", "high-priority"} <= set(d["tags"])
    assert "" not in d["tags"] and not any("," in t for t in d["tags"])
    assert d["priority"] >= 50

    async def projected() -> list[str]:
        return await listed(http, admin, tag="repeat-buyer", q=order_id)

    assert await eventually(projected) == [order_id]


# --- 2. the tag filter ----------------------------------------------------------------------


async def test_list_filters_by_tag(
    http: httpx.AsyncClient, admin: dict[str, str], worker: Worker, make_catalog: MakeCatalog
) -> None:
    cat = await make_catalog(stock={}, n_products=1)
    vase = await new_product(http, admin, cat.warehouses[0], tags=["fragile"])
    plain = await new_product(http, admin, cat.warehouses[0])
    fragile_id = await post_order(http, admin, [(vase, 1, "25.00")])
    plain_id = await post_order(http, admin, [(plain, 1, "25.00")])

    async def both_projected() -> bool:
        return await listed(http, admin, q=fragile_id) == [fragile_id] and await listed(
            http, admin, q=plain_id
        ) == [plain_id]

    await eventually(both_projected)
    newest = await listed(http, admin, tag="fragile")
    assert fragile_id in newest and plain_id not in newest
    assert await listed(http, admin, tag="fragile", q=fragile_id) == [fragile_id]
    assert await listed(http, admin, tag="fragile", q=plain_id) == []
    r = await http.get(ORDERS, headers=admin, params={"tag": "fragile", "q": fragile_id})
    (item,) = r.json()["items"]
    assert "fragile" in item["tags"] and item["stuck"] is False


# --- 3. staff tag edits ---------------------------------------------------------------------


async def test_staff_add_and_remove_tags_without_changing_the_template(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_key: KeyMaker,
    worker: Worker,
    make_catalog: MakeCatalog,
    sessions: Sessions,
) -> None:
    cat = await make_catalog(stock={}, n_products=1)
    plain = await new_product(http, admin, cat.warehouses[0])
    order_id = await post_order(http, admin, [(plain, 1, "25.00")])
    ship = await shipment_of(sessions, make_key, order_id)
    stranger = await make_key("staff", next(w for w in cat.warehouses if w != ship.warehouse))
    before = await detail(http, admin, order_id)
    tags_url = f"{ORDERS}/{order_id}/tags"

    r = await http.post(tags_url, headers=ship.staff, json={"tags": ["rush", "fragile"]})
    assert r.status_code == 200, r.text
    assert r.json()["order_id"] == order_id
    assert {"rush", "fragile"} <= set(r.json()["tags"])
    after = await detail(http, admin, order_id)
    assert {"rush", "fragile"} <= set(after["tags"])

    async def found_by(tag: str) -> list[str]:
        return await listed(http, admin, tag=tag, q=order_id)

    assert await eventually(lambda: found_by("rush")) == [order_id]
    # The template was fixed at start: a late "fragile" adds no packaging check.
    strip = ("step", "sla_seconds", "added_by")
    assert [{k: s[k] for k in strip} for s in after["steps"]] == [
        {k: s[k] for k in strip} for s in before["steps"]
    ]
    assert [s["step"] for s in after["steps"]] == DEFAULT_PLAN
    assert after["shipments"][0]["packaging_check"] is False
    problem(await packaging_check(http, ship), 409, "not_required")

    # Staff of another warehouse may not touch it; bad tags are refused.
    problem(await http.post(tags_url, headers=stranger, json={"tags": ["x"]}), 403, "forbidden")
    problem(await http.delete(f"{tags_url}/rush", headers=stranger), 403, "forbidden")
    r = await http.post(tags_url, headers=ship.staff, json={"tags": []})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    for bad in (["a,b"], ["   "], ["x" * 65]):
        problem(
            await http.post(tags_url, headers=ship.staff, json={"tags": bad}), 409, "invalid_tags"
        )
    problem(
        await http.post(f"{ORDERS}/no-such-order/tags", headers=admin, json={"tags": ["x"]}),
        404,
        "not_found",
    )

    r = await http.delete(f"{tags_url}/rush", headers=ship.staff)
    assert r.status_code == 200, r.text
    assert "rush" not in r.json()["tags"] and "fragile" in r.json()["tags"]
    d = await detail(http, admin, order_id)
    assert "rush" not in d["tags"]
    assert [s["step"] for s in d["steps"]] == DEFAULT_PLAN

    async def gone() -> bool:
        return await found_by("rush") == [] and await found_by("fragile") == [order_id]

    await eventually(gone)
    types = [e["type"] for e in d["events"]]
    assert types.count("tags_changed") == 2


# --- 4. holds -------------------------------------------------------------------------------


async def place(http: httpx.AsyncClient, admin: dict[str, str], order_id: str, reason: str) -> str:
    r = await http.post(
        f"{ORDERS}/{order_id}/holds", headers=admin, json={"reason": reason, "note": reason}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["hold_id"])


async def release(
    http: httpx.AsyncClient, admin: dict[str, str], order_id: str, hold_id: str
) -> dict[str, Any]:
    r = await http.post(f"{ORDERS}/{order_id}/holds/{hold_id}/release", headers=admin)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_two_holds_before_fulfillment_the_order_waits_for_the_last(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    worker: Worker,
    make_catalog: MakeCatalog,
    shopify_post: ShopifyPost,
    sessions: Sessions,
) -> None:
    cat = await make_catalog()
    payload = shopify_order(cat.skus[:1])
    payload["financial_status"] = "pending"
    r = await shopify_post(payload, webhook_id=f"wh-{uuid.uuid4()}")
    assert r.status_code == 202, r.text
    order_id = r.json()["order_id"]
    await status_becomes(http, admin, order_id, "awaiting_payment")

    first = await place(http, admin, order_id, "INCORRECT_ADDRESS")
    second = await place(http, admin, order_id, "HIGH_RISK_OF_FRAUD")
    r = await shopify_post(payload, topic="orders/paid", webhook_id=f"wh-{uuid.uuid4()}")
    assert r.status_code == 202, r.text
    held = await status_becomes(http, admin, order_id, "on_hold")
    assert {h["hold_id"] for h in held["holds"]} == {first, second}

    out = await release(http, admin, order_id, second)  # reverse order
    assert [h["hold_id"] for h in out["holds"]] == [first]
    assert out["status"] == "on_hold"
    d = await detail(http, admin, order_id)
    assert d["status"] == "on_hold" and d["shipments"] == []
    async with sessions() as s:
        assert await s.get(ShipmentRow, f"{order_id}-1") is None  # nothing allocated meanwhile

    out = await release(http, admin, order_id, first)
    assert out["holds"] == []
    # Paid before the holds went: the order goes on to allocation, never back to waiting
    # for a payment it has.
    assert out["status"] in ("received", "ready_to_pick"), out["status"]
    moved = await status_becomes(http, admin, order_id, "ready_to_pick")
    assert moved["holds"] == [] and len(moved["shipments"]) == 1
    # A repeated release (same hold id) is the same Update: it gets the first answer.
    again = await http.post(f"{ORDERS}/{order_id}/holds/{first}/release", headers=admin)
    assert again.status_code == 200 and again.json()["holds"] == []
    problem(
        await http.post(f"{ORDERS}/{order_id}/holds/{uuid.uuid4()}/release", headers=admin),
        404,
        "hold_not_found",
    )


@pytest.mark.parametrize("release_order", ["reverse", "as_placed"])
async def test_two_holds_on_the_floor_released_in_any_order(
    release_order: str,
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_key: KeyMaker,
    worker: Worker,
    client: Client,
    make_catalog: MakeCatalog,
    sessions: Sessions,
) -> None:
    cat = await make_catalog(stock={}, n_products=1)
    item = await new_product(http, admin, cat.warehouses[0])
    order_id = await post_order(http, admin, [(item, 2, "10.00")])
    ship = await shipment_of(sessions, make_key, order_id)
    await status_becomes(http, admin, order_id, "ready_to_pick")

    holds = [
        await place(http, admin, order_id, "INCORRECT_ADDRESS"),
        await place(http, admin, order_id, "OTHER"),
    ]
    d = await detail(http, admin, order_id)
    assert d["status"] == "on_hold"
    assert [h["hold_id"] for h in d["holds"]] == holds
    await shipment_held(client, ship.shipment_id, True)
    problem(await scan(http, ship, item, "held-1"), 422, "on_hold")

    order = holds[::-1] if release_order == "reverse" else holds
    out = await release(http, admin, order_id, order[0])
    assert out["status"] == "on_hold"
    assert [h["hold_id"] for h in out["holds"]] == [order[1]]
    assert (await detail(http, admin, order_id))["status"] == "on_hold"
    assert (
        await client.get_workflow_handle(fulfillment_workflow_id(ship.shipment_id)).query(
            FulfillmentWorkflow.details
        )
    ).on_hold is True
    problem(await scan(http, ship, item, "held-2"), 422, "on_hold")

    out = await release(http, admin, order_id, order[1])
    assert out["holds"] == [] and out["status"] == "ready_to_pick"
    await shipment_held(client, ship.shipment_id, False)
    r = await scan(http, ship, item, "after-1")
    assert r.status_code == 200, r.text
    await status_becomes(http, admin, order_id, "picking")
    types = [e["type"] for e in (await detail(http, admin, order_id))["events"]]
    assert types.count("hold_placed") == 2 and types.count("hold_released") == 2


async def test_a_hold_stops_picking_and_packing_until_released(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_key: KeyMaker,
    worker: Worker,
    client: Client,
    make_catalog: MakeCatalog,
    sessions: Sessions,
) -> None:
    cat = await make_catalog(stock={}, n_products=1)
    item = await new_product(http, admin, cat.warehouses[0], weight=250)
    order_id = await post_order(http, admin, [(item, 2, "10.00")])
    ship = await shipment_of(sessions, make_key, order_id)
    r = await scan(http, ship, item, "p-1")
    assert r.status_code == 200, r.text
    await status_becomes(http, admin, order_id, "picking")

    hold_id = await place(http, admin, order_id, "OTHER")
    held = await status_becomes(http, admin, order_id, "on_hold")
    assert [h["hold_id"] for h in held["holds"]] == [hold_id]
    await shipment_held(client, ship.shipment_id, True)

    r = await scan(http, ship, item, "p-2")
    problem(r, 422, "on_hold")
    assert r.json()["accepted"] is False
    problem(await pack(http, ship, 500), 422, "on_hold")
    fh = client.get_workflow_handle(fulfillment_workflow_id(ship.shipment_id))
    assert [ln.picked for ln in (await fh.query(FulfillmentWorkflow.details)).lines] == [1]
    async with sessions() as s:
        row = await s.get(ShipmentRow, ship.shipment_id)
        assert row is not None and [ln["picked"] for ln in row.lines] == [1]
        refused = (
            await s.execute(
                select(ScanEvent.accepted, ScanEvent.reason).where(
                    ScanEvent.shipment_id == ship.shipment_id, ScanEvent.scan_id == "p-2"
                )
            )
        ).all()
    assert [tuple(x) for x in refused] == [(False, "on_hold")]

    out = await release(http, admin, order_id, hold_id)
    assert out["status"] == "picking" and out["holds"] == []
    await shipment_held(client, ship.shipment_id, False)
    # The refused scan id keeps its first answer; a new scan id counts.
    problem(await scan(http, ship, item, "p-2"), 422, "on_hold")
    r = await scan(http, ship, item, "p-3")
    assert r.status_code == 200, r.text
    assert (r.json()["picked"], r.json()["remaining"]) == (2, 0)
    await status_becomes(http, admin, order_id, "packing")

    r = await pack(http, ship, 500)
    assert r.status_code == 200, r.text
    await status_becomes(http, admin, order_id, "shipped")
    problem(
        await http.post(f"{ORDERS}/{order_id}/holds", headers=admin, json={"reason": "OTHER"}),
        409,
        "not_holdable",
    )


# --- 5. template steps enforced by the workflow -------------------------------------------------


async def test_fragile_order_needs_the_packaging_check_before_pack(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_key: KeyMaker,
    worker: Worker,
    make_catalog: MakeCatalog,
    sessions: Sessions,
) -> None:
    cat = await make_catalog(stock={}, n_products=1)
    vase = await new_product(http, admin, cat.warehouses[0], tags=["fragile"], weight=400)
    order_id = await post_order(http, admin, [(vase, 2, "30.00")])
    ship = await shipment_of(sessions, make_key, order_id)
    d = await detail(http, admin, order_id)
    assert "fragile" in d["tags"]
    assert [s["step"] for s in d["steps"]] == [
        "verify",
        "pay",
        "allocate",
        "pick",
        "packaging_check",
        "pack",
        "ship",
    ]

    problem(await packaging_check(http, ship), 422, "items_missing")
    await pick_all(http, ship, vase, 2)
    problem(await pack(http, ship, 800), 422, "packaging_unchecked")
    d = await status_becomes(http, admin, order_id, "packing")
    steps = {s["step"]: s["state"] for s in d["steps"]}
    assert (steps["pick"], steps["packaging_check"], steps["pack"]) == ("done", "active", "pending")

    r = await packaging_check(http, ship)
    assert r.status_code == 200, r.text
    assert r.json()["packaging_check"] is True and r.json()["packaging_checked"] is True
    again = await packaging_check(http, ship)  # a repeat gets the same answer
    assert again.status_code == 200 and again.json()["packaging_checked"] is True

    r = await pack(http, ship, 800)
    assert r.status_code == 200, r.text
    assert r.json()["tracking"]["number"]
    d = await status_becomes(http, admin, order_id, "shipped")
    steps = {s["step"]: s["state"] for s in d["steps"]}
    assert steps["packaging_check"] == "done" and steps["pack"] == "done"

    async def checked_event() -> bool:
        events = (await http.get(f"{ORDERS}/{order_id}", headers=admin)).json()["events"]
        return any(e["type"] == "packaging_checked" for e in events)

    await eventually(checked_event)


async def test_non_fragile_order_has_no_packaging_check_and_high_value_needs_a_rescan(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_key: KeyMaker,
    worker: Worker,
    make_catalog: MakeCatalog,
    sessions: Sessions,
) -> None:
    cat = await make_catalog(stock={}, n_products=1)
    plain = await new_product(http, admin, cat.warehouses[0], weight=300)
    order_id = await post_order(http, admin, [(plain, 1, "20.00")])
    ship = await shipment_of(sessions, make_key, order_id)
    problem(await packaging_check(http, ship), 409, "not_required")
    await pick_all(http, ship, plain, 1)
    problem(await packaging_check(http, ship), 409, "not_required")

    watch = await new_product(http, admin, cat.warehouses[0], weight=300)
    costly_id = await post_order(http, admin, [(watch, 1, "750.00")])
    costly = await shipment_of(sessions, make_key, costly_id)
    d = await detail(http, admin, costly_id)
    assert "high-value" in d["tags"] and "pack_verification" in [s["step"] for s in d["steps"]]
    await pick_all(http, costly, watch, 1)
    problem(await pack(http, costly, 300), 422, "items_unverified")
    r = await scan(http, costly, watch, "verify-1", stage="pack")
    assert r.status_code == 200, r.text
    r = await pack(http, costly, 300)
    assert r.status_code == 200, r.text


# --- 7. the ops view and the metric of stuck orders ------------------------------------------


def metric(text: str, name: str, labels: str = "") -> float | None:
    pattern = re.escape(name + (f"{{{labels}}}" if labels else "")) + r" ([0-9.e+]+)"
    found = re.search(r"^" + pattern + r"$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


async def test_a_breached_pick_sla_shows_in_the_ops_view_and_the_metric(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_key: KeyMaker,
    worker: Worker,
    client: Client,
    make_catalog: MakeCatalog,
    sessions: Sessions,
) -> None:
    cat = await make_catalog()
    base = dict(DEFAULT_TEMPLATES.base_sla_seconds)
    base[Step.PICK] = 1
    order = order_input([(cat.skus[0], 1)], templates=TemplateSet(base_sla_seconds=base))
    order_id = order.order_id
    await start_order(client, order, TEST_TASK_QUEUE)
    ops = await make_key("ops")

    async def stuck_detail() -> dict[str, Any] | None:
        r = await http.get(f"{ORDERS}/{order_id}", headers=ops)
        return r.json() if r.status_code == 200 and r.json()["stuck"] else None

    d = await eventually(stuck_detail)
    assert d["stuck"]["step"] == "pick" and d["stuck"]["sla_seconds"] == 1
    assert next(s for s in d["steps"] if s["step"] == "pick")["breached"] is True

    async def in_ops_view() -> dict[str, Any] | None:
        r = await http.get("/api/v1/ops/stuck", headers=ops)
        assert r.status_code == 200, r.text
        return next((o for o in r.json() if o["order_id"] == order_id), None)

    entry = await eventually(in_ops_view)
    assert entry["reason"].startswith("pick")
    assert entry["status"] == "ready_to_pick" and entry["stuck_since"]
    assert await listed(http, ops, q=order_id) == [order_id]
    r = await http.get(ORDERS, headers=ops, params={"q": order_id})
    assert r.json()["items"][0]["stuck"] is True

    scrape = await http.get("/metrics")
    assert scrape.status_code == 200
    stuck_pick = metric(scrape.text, "oms_orders_stuck", 'reason="sla",step="pick"')
    assert stuck_pick is not None and stuck_pick >= 1
    breaches = metric(scrape.text, "oms_order_sla_breaches_total")
    assert breaches is not None and breaches >= 1
    assert (
        await http.get("/api/v1/ops/stuck", headers=await make_key("staff", "X"))
    ).status_code == 403

    # Picking ends the breach: the order leaves the ops view.
    ship = await shipment_of(sessions, make_key, order_id)
    sku = cat.skus[0]
    r = await http.post(
        f"{ship.url}/scans",
        headers=ship.staff,
        json={"barcode": cat.barcodes[sku], "scan_id": "s1"},
    )
    assert r.status_code == 200, r.text

    async def cleared() -> bool:
        return await in_ops_view() is None

    await eventually(cleared)
    d = await detail(http, ops, order_id)
    assert d["stuck"] is None
    assert "unstuck" in [e["type"] for e in d["events"]]
    r = await http.post(f"{ORDERS}/{order_id}/cancel", headers=ops, json={"reason": "test done"})
    assert r.status_code == 200, r.text
