"""The dashboard's HTTP side, against the real app, Postgres, Temporal and worker: sign-in
and its cookie, CSRF, the list's filters and keyset pages, counts, saved views, the CSV
export, the stream's fan-out and resume, and bulk actions with one result per order.

Orders for the list tests are written straight into the read model (one tag per test, so
tests don't see each other's rows); the bulk tests run real workflows.
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.worker import Worker

from api.stream import StreamHub, frames
from store import orders as read
from store.tables import OrderEventRow, OrderRow
from tests.api.conftest import KeyMaker
from tests.api.dashboard_helpers import (
    add_shipment,
    csrf_of,
    ids_in,
    insert_orders,
    login_token,
    order_row,
    sign_in,
)
from tests.api.helpers import eventually, shopify_order
from tests.conftest import Catalog

Sessions = async_sessionmaker[AsyncSession]
ORDERS = "/api/v1/orders"


def tag() -> str:
    return f"dash{uuid.uuid4().hex[:8]}"


# --- sign-in, cookie, CSRF ---------------------------------------------------------------


async def test_pages_need_a_session_and_login_sets_a_strict_httponly_cookie(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for path in ("/", "/floor", "/ops", "/orders/x"):
        r = await http.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    bad = await http.post(
        "/login", data={"key": "oms_nope.nope", "login_token": await login_token(http)}
    )
    assert bad.status_code == 401 and "not valid" in bad.text
    key = admin["Authorization"].removeprefix("Bearer ")
    # Without the form's token (a form posted from another site): refused, nothing set.
    http.cookies.clear()
    forged = await http.post("/login", data={"key": key})
    assert forged.status_code == 403 and "oms_session" not in forged.headers.get("set-cookie", "")
    r = await http.post(
        "/login",
        data={"key": key, "next": "//evil.example/", "login_token": await login_token(http)},
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("oms_session="))
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert "max-age=" in cookie.lower()
    assert "secure" not in cookie.lower()  # plain http here; https requests get Secure
    assert key not in cookie
    http.cookies.clear()
    token = await login_token(http)
    behind_tls = await http.post(
        "/login", data={"key": key, "login_token": token}, headers={"X-Forwarded-Proto": "https"}
    )
    tls_cookie = next(
        c for c in behind_tls.headers.get_list("set-cookie") if c.startswith("oms_session=")
    )
    assert "secure" in tls_cookie.lower()
    http.cookies.clear()
    # A tampered cookie is no session.
    http.cookies.set("oms_session", "forged.value.sig")
    assert (await http.get("/")).status_code == 303
    http.cookies.clear()


async def test_forged_posts_without_the_csrf_token_are_refused(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    async with sign_in(http, admin) as browser:
        page = await browser.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        token = csrf_of(page.text)
        forged = await browser.post("/bulk", data={"action": "add_tag", "order_ids": "x"})
        assert forged.status_code == 403 and forged.json()["reason"] == "csrf"
        api = await browser.post("/api/v1/views", json={"name": "v"})
        assert api.status_code == 403 and api.json()["reason"] == "csrf"
        ok = await browser.post(
            "/api/v1/views", json={"name": "v"}, headers={"X-CSRF-Token": token}
        )
        assert ok.status_code == 201
        # Reading with the session needs no token; signing out ends the session.
        assert (await browser.get("/api/v1/orders/counts")).status_code == 200
        out = await browser.post("/logout", data={"csrf_token": token})
        assert out.status_code == 303
        browser.cookies.clear()


async def test_a_session_ends_when_its_key_is_revoked(
    http: httpx.AsyncClient, admin: dict[str, str], make_key: KeyMaker
) -> None:
    ops = await make_key("ops")
    async with sign_in(http, ops) as browser:
        assert (await browser.get("/")).status_code == 200
        key_id = ops["Authorization"].split("_", 1)[1].split(".", 1)[0]
        assert (await http.delete(f"/api/v1/keys/{key_id}", headers=admin)).status_code == 200
        assert (await browser.get("/")).status_code == 303


# --- the list ------------------------------------------------------------------------------


async def test_filters_free_text_priority_sort_and_keyset_pages(
    http: httpx.AsyncClient, admin: dict[str, str], sessions: Sessions
) -> None:
    t = tag()
    rows = [order_row(t, n=i, skus=(f"SKU-{t.upper()}-{i}",)) for i in range(7)]
    rows[3].priority, rows[3].status, rows[5].stuck = 50, "on_hold", True
    rows[6].channel = "pos"
    rows[1].summary = {**rows[1].summary, "payment": "captured"}
    ids = await insert_orders(sessions, rows)
    await add_shipment(sessions, ids[2], "WH-X", tracking=f"1Z{t.upper()}")

    async def listed(**params: Any) -> list[str]:
        r = await http.get(ORDERS, params={"tag": t, **params}, headers=admin)
        assert r.status_code == 200, r.text
        return ids_in(r.json())

    assert await listed() == ids  # newest first
    assert await listed(status="on_hold") == [ids[3]]
    assert await listed(stuck="true") == [ids[5]]
    assert await listed(channel="pos") == [ids[6]]
    assert await listed(payment="captured") == [ids[1]]
    assert await listed(priority=10) == [ids[3]]
    assert (await listed(sort="priority"))[0] == ids[3]
    assert await listed(q=f"sku-{t}-4") == [ids[4]]  # a SKU, whole, as typed
    assert await listed(q=f"SKU-{t.upper()}-") == []  # ... not a part of one
    assert await listed(q=f"buyer1@{t}") == [ids[1]]  # an email
    assert await listed(q=f"1z{t}") == [ids[2]]  # a tracking number, as typed or scanned
    assert await listed(q=f"1Z{t.upper()}"[:-2]) == []  # ... whole: not a part of one
    since = (rows[2].created_at - timedelta(seconds=1)).isoformat()
    assert await listed(since=since) == ids[:3]
    # Empty fields (a filter form's) mean "not filtered"; a bad status is a 422.
    assert await listed(status="", q="") == ids
    bad = await http.get(ORDERS, params={"status": "nope"}, headers=admin)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"

    for sort in ("newest", "priority"):
        seen, cursor = [], None
        while True:
            params: dict[str, Any] = {"tag": t, "limit": 3, "sort": sort}
            if cursor:
                params["cursor"] = cursor
            page = (await http.get(ORDERS, params=params, headers=admin)).json()
            seen += ids_in(page)
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(ids) and len(seen) == len(ids), sort
    wrong = await http.get(ORDERS, params={"cursor": "!!"}, headers=admin)
    assert wrong.status_code == 422


async def test_counts_follow_every_write_and_match_a_full_count(
    http: httpx.AsyncClient, admin: dict[str, str], sessions: Sessions
) -> None:
    before = (await http.get(f"{ORDERS}/counts", headers=admin)).json()
    ids = await insert_orders(sessions, [order_row(tag(), status="backordered") for _ in range(3)])
    async with sessions.begin() as s:
        await s.execute(
            update(OrderRow).where(OrderRow.order_id == ids[0]).values(status="cancelled")
        )
    after = (await http.get(f"{ORDERS}/counts", headers=admin)).json()
    assert after["backordered"] == before["backordered"] + 2
    assert after["cancelled"] == before["cancelled"] + 1
    async with sessions() as s:
        full = dict(
            (await s.execute(select(OrderRow.status, func.count()).group_by(OrderRow.status))).all()
        )
        assert {k: v for k, v in (await read.status_counts(s)).items()} == full


async def test_a_staff_key_sees_only_its_warehouse(
    http: httpx.AsyncClient, admin: dict[str, str], make_key: KeyMaker, sessions: Sessions
) -> None:
    t = tag()
    mine, other = await insert_orders(
        sessions, [order_row(t, n=0, warehouse="WH-MINE"), order_row(t, n=1, warehouse="WH-OTH")]
    )
    staff = await make_key("staff", "WH-MINE")
    page = (await http.get(ORDERS, params={"tag": t}, headers=staff)).json()
    assert ids_in(page) == [mine]
    asked = (await http.get(ORDERS, params={"tag": t, "warehouse": "WH-OTH"}, headers=staff)).json()
    assert ids_in(asked) == []
    text = (await http.get(f"{ORDERS}.csv", params={"tag": t}, headers=staff)).text
    assert mine in text and other not in text
    counts = (await http.get(f"{ORDERS}/counts", headers=staff)).json()
    assert sum(counts.values()) >= 1
    bulk = await http.post(
        f"{ORDERS}/bulk", headers=staff, json={"action": "cancel", "order_ids": [mine]}
    )
    assert bulk.status_code == 403
    async with sign_in(http, staff) as browser:
        assert (await browser.get("/ops")).status_code == 403
        assert (await browser.get(f"/orders/{other}")).status_code == 403
        floor = await browser.get("/floor")
        assert "WH-MINE" in floor.text and "WH-OTH" not in floor.text


# --- views ---------------------------------------------------------------------------------


async def test_saved_views_per_key_and_shared_by_an_admin(
    http: httpx.AsyncClient, admin: dict[str, str], make_key: KeyMaker
) -> None:
    ops, other = await make_key("ops"), await make_key("ops")
    body = {"name": "Held VIPs", "filters": {"status": "on_hold", "tag": "VIP"}}
    r = await http.post("/api/v1/views", headers=ops, json=body)
    assert r.status_code == 201, r.text
    view = r.json()
    assert view["filters"] == {"status": "on_hold", "tag": "VIP"} | {
        k: None for k in view["filters"] if k not in ("status", "tag")
    }
    assert [
        v["view_id"]
        for v in (await http.get("/api/v1/views", headers=other)).json()
        if v["view_id"] == view["view_id"]
    ] == []
    refused = await http.post("/api/v1/views", headers=ops, json={**body, "shared": True})
    assert refused.status_code == 403
    shared = (await http.post("/api/v1/views", headers=admin, json={**body, "shared": True})).json()
    seen = {v["view_id"]: v for v in (await http.get("/api/v1/views", headers=other)).json()}
    assert shared["view_id"] in seen and not seen[shared["view_id"]]["mine"]
    assert (
        await http.delete(f"/api/v1/views/{shared['view_id']}", headers=other)
    ).status_code == 403
    assert (await http.delete(f"/api/v1/views/{view['view_id']}", headers=ops)).status_code == 204
    assert (await http.delete(f"/api/v1/views/{view['view_id']}", headers=ops)).status_code == 404
    bad = await http.post("/api/v1/views", headers=ops, json={"name": "x", "filters": {"nope": 1}})
    assert bad.status_code == 422


# --- CSV -----------------------------------------------------------------------------------


async def test_csv_export_streams_the_filtered_list(
    http: httpx.AsyncClient, admin: dict[str, str], sessions: Sessions
) -> None:
    t = tag()
    ids = await insert_orders(sessions, [order_row(t, n=i) for i in range(5)])
    async with http.stream("GET", f"{ORDERS}.csv", params={"tag": t}, headers=admin) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        body = (await r.aread()).decode()
    table = list(csv.DictReader(io.StringIO(body)))
    assert [row["order_id"] for row in table] == ids
    assert table[0]["tags"] == t and table[0]["total"] == "12.50"


# --- stream --------------------------------------------------------------------------------


async def test_changes_reach_subscribers_and_resume_replays_what_was_missed(
    api_app: FastAPI, sessions: Sessions
) -> None:
    hub: StreamHub = api_app.state.stream_hub
    await asyncio.wait_for(hub.connected.wait(), 10)
    t = tag()
    live = frames(hub, sessions, scope=None, last_event_id=None)
    ready = await anext(live)
    assert ready.event == "ready"
    (oid,) = await insert_orders(sessions, [order_row(t)])

    async def next_order() -> dict[str, Any]:
        while True:
            frame = await asyncio.wait_for(anext(live), 10)
            if frame.event == "order" and frame.data["order_id"] == oid:
                return frame.data

    created = await next_order()
    assert created["status"] == "ready_to_pick" and created["old_status"] is None
    async with sessions.begin() as s:
        await s.execute(
            update(OrderRow).where(OrderRow.order_id == oid).values(status="on_hold", version=2)
        )
    moved = await next_order()
    assert moved["status"] == "on_hold" and moved["old_status"] == "ready_to_pick"
    await live.aclose()

    # A client that saw the insert and then dropped: resuming replays the latest state.
    resumed = frames(hub, sessions, scope=None, last_event_id=int(created["seq"]))
    replayed = []
    async for frame in resumed:
        if frame.event == "ready":
            break
        replayed.append(frame.data)
    await resumed.aclose()
    mine = [p for p in replayed if p["order_id"] == oid]
    assert mine and mine[-1]["status"] == "on_hold"

    # A staff stream of another warehouse hears nothing of it.
    staff = frames(hub, sessions, scope="WH-ELSEWHERE", last_event_id=int(created["seq"]))
    async for frame in staff:
        assert frame.event == "ready" or frame.data["order_id"] != oid
        if frame.event == "ready":
            break
    await staff.aclose()


async def test_the_stream_endpoint_answers_event_stream(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert (await http.get("/api/v1/stream")).status_code == 401
    r = await http.get("/openapi.json")
    assert "/api/v1/stream" in r.json()["paths"]


# --- bulk ----------------------------------------------------------------------------------


async def test_bulk_release_goes_on_past_a_refusal_and_records_who(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    worker: Worker,
    make_catalog: Callable[..., Awaitable[Catalog]],
    shopify_post: Callable[..., Awaitable[httpx.Response]],
    sessions: Sessions,
) -> None:
    cat = await make_catalog()
    ids = []
    for _ in range(2):
        payload = shopify_order(cat.skus[:1])
        payload["financial_status"] = "pending"
        r = await shopify_post(payload, webhook_id=f"wh-{uuid.uuid4()}")
        assert r.status_code == 202, r.text
        ids.append(r.json()["order_id"])

    async def awaiting(order_id: str) -> bool:
        d = await http.get(f"{ORDERS}/{order_id}", headers=admin)
        return d.status_code == 200 and d.json()["status"] == "awaiting_payment"

    for oid in ids:

        async def probe(oid: str = oid) -> bool:
            return await awaiting(oid)

        await eventually(probe)
    held = await http.post(
        f"{ORDERS}/{ids[0]}/holds", headers=admin, json={"reason": "OTHER", "note": "check"}
    )
    assert held.status_code == 201
    r = await http.post(
        f"{ORDERS}/bulk",
        headers=admin,
        json={"action": "release_holds", "order_ids": [ids[0], ids[1], "no-such-order"]},
    )
    assert r.status_code == 200, r.text
    results = {x["order_id"]: x for x in r.json()["results"]}
    assert results[ids[0]]["ok"] is True
    assert results[ids[1]] == {
        "order_id": ids[1],
        "ok": False,
        "status": None,
        "reason": "no_hold",
        "detail": "the order has no active hold",
    }
    assert results["no-such-order"]["ok"] is False
    assert (await http.get(f"{ORDERS}/{ids[0]}", headers=admin)).json()["holds"] == []
    async with sessions() as s:
        actions = (
            await s.scalars(
                select(OrderEventRow).where(
                    OrderEventRow.order_id.in_(ids), OrderEventRow.type == "ops_action"
                )
            )
        ).all()
    by_order = {e.order_id: e.detail for e in actions}
    assert by_order[ids[0]]["ok"] is True and by_order[ids[0]]["role"] == "admin"
    assert by_order[ids[1]]["ok"] is False and by_order[ids[1]]["reason"] == "no_hold"

    tagged = await http.post(
        f"{ORDERS}/bulk",
        headers=admin,
        json={"action": "add_tag", "order_ids": ids, "tag": "bulk-t"},
    )
    assert all(x["ok"] for x in tagged.json()["results"])
    assert (
        await http.post(
            f"{ORDERS}/bulk", headers=admin, json={"action": "add_tag", "order_ids": ids}
        )
    ).status_code == 422
    too_many = await http.post(
        f"{ORDERS}/bulk",
        headers=admin,
        json={"action": "cancel", "order_ids": [f"o{i}" for i in range(501)]},
    )
    assert too_many.status_code == 422
    cancelled = await http.post(
        f"{ORDERS}/bulk",
        headers=admin,
        json={"action": "cancel", "order_ids": [ids[1]], "reason": "test"},
    )
    assert cancelled.json()["results"][0]["ok"] is True


async def test_order_page_renders_with_history_and_neighbours(
    http: httpx.AsyncClient, admin: dict[str, str], sessions: Sessions
) -> None:
    t = tag()
    ids = await insert_orders(sessions, [order_row(t, n=i) for i in range(3)])
    async with sign_in(http, admin) as browser:
        page = await browser.get(f"/orders/{ids[1]}", params={"tag": t})
        assert page.status_code == 200, page.text
        assert f"/orders/{ids[0]}?tag={t}" in page.text  # previous (newer)
        assert f"/orders/{ids[2]}?tag={t}" in page.text  # next (older)
        frag = await browser.get(f"/orders/{ids[1]}", params={"fragment": "main"})
        assert "<html" not in frag.text and ids[1] in frag.text
        rows = await browser.get("/", params={"tag": t, "fragment": "rows"})
        assert all(i in rows.text for i in ids) and "<html" not in rows.text
        for path in ("/floor", "/ops", "/static/dashboard.js", "/static/dashboard.css"):
            assert (await browser.get(path)).status_code == 200, path
        assert (await browser.get("/static/nope.js")).status_code == 404
        assert (await browser.get("/orders/none-such")).status_code == 404


async def test_order_page_forms_move_a_shipment_and_edit_tags_with_an_audit_line(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_catalog: Callable[..., Awaitable[Catalog]],
    open_shipment: Callable[..., Awaitable[Any]],
    sessions: Sessions,
) -> None:
    cat = await make_catalog({"PDX": {"0": 5}, "NJ": {"0": 5}}, n_products=1)
    ship = await open_shipment(cat.skus[:1], [1])
    target = f"{cat.prefix}-NJ"
    async with sign_in(http, admin) as browser:
        token = csrf_of((await browser.get(f"/orders/{ship.order_id}")).text)
        base = f"/orders/{ship.order_id}"
        r = await browser.post(
            f"{base}/shipments/{ship.shipment_id}/move",
            data={"csrf_token": token, "warehouse": target, "qs": "?tag=x"},
        )
        assert r.status_code == 303 and "done" in r.headers["location"]
        assert "tag=x" in r.headers["location"]  # back within the same list
        again = await browser.post(
            f"{base}/shipments/{ship.shipment_id}/move",
            data={"csrf_token": token, "warehouse": target},
        )
        assert "refused" in again.headers["location"]
        for op in ("add", "remove"):
            r = await browser.post(
                f"{base}/tags", data={"csrf_token": token, "op": op, "tag": "page-tag"}
            )
            assert r.status_code == 303 and "done" in r.headers["location"], r.headers
        forged = await browser.post(f"{base}/cancel", data={"reason": "x"})
        assert forged.status_code == 403
    async with sessions() as s:
        rows = await read.shipments_of(s, ship.order_id)
        lines = [e.detail for e in await read.events_of(s, ship.order_id) if e.type == "ops_action"]
    assert rows[0].warehouse == target
    assert [(d["action"], d["ok"]) for d in lines] == [
        ("move_shipment", True),
        ("move_shipment", False),
        ("add_tag", True),
        ("remove_tag", True),
    ]


async def test_every_api_process_hears_every_change(database_url: str, sessions: Sessions) -> None:
    """Two hubs (what two API processes each run) both get a write made by neither."""
    async with StreamHub(database_url) as one, StreamHub(database_url) as two:
        await asyncio.wait_for(one.connected.wait(), 10)
        await asyncio.wait_for(two.connected.wait(), 10)
        subs = [one.subscribe(), two.subscribe()]
        (oid,) = await insert_orders(sessions, [order_row(tag())])
        for sub in subs:
            while True:
                item = await asyncio.wait_for(sub.get(), 10)
                if isinstance(item, dict) and item.get("order_id") == oid:
                    break


async def test_a_listener_that_loses_postgres_reconnects_and_streams_catch_up(
    database_url: str, sessions: Sessions
) -> None:
    async with StreamHub(database_url) as hub:
        await asyncio.wait_for(hub.connected.wait(), 10)
        live = frames(hub, sessions, scope=None, last_event_id=None)
        assert (await anext(live)).event == "ready"
        pid = hub.backend_pid
        async with sessions() as s:
            await s.execute(select(func.pg_terminate_backend(pid)))
        # Written while the listener is (or may be) away: the stream replays it from the table.
        (oid,) = await insert_orders(sessions, [order_row(tag())])
        while True:
            frame = await asyncio.wait_for(anext(live), 15)
            if frame.event == "order" and frame.data["order_id"] == oid:
                break
        await asyncio.wait_for(hub.connected.wait(), 10)
        assert hub.backend_pid not in (None, pid)
        await live.aclose()


async def test_repeated_failed_sign_ins_are_slowed_down(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    from api.pages import login

    login._failures.clear()  # what earlier tests' bad keys counted
    try:
        token = await login_token(http)
        for _ in range(login.MAX_FAILURES):
            r = await http.post("/login", data={"key": "oms_x.y", "login_token": token})
            assert r.status_code == 401
            token = await login_token(http)
        key = admin["Authorization"].removeprefix("Bearer ")
        r = await http.post("/login", data={"key": key, "login_token": token})
        assert r.status_code == 429 and "Retry-After" in r.headers
    finally:
        login._failures.clear()
        http.cookies.clear()
