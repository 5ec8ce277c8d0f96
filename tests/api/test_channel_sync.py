"""Channel sync end to end: stock changes reach sandbox channels through the outbox and the
real ``ChannelSyncWorkflow`` on the session worker, with buffers, retries and idempotency."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RetryConfig, RPCError

from api.app import create_app
from domain.names import channel_sync_workflow_id
from oms.settings import Settings
from store import inventory
from store.tables import Channel, ChannelPush, InventoryOutbox, SandboxChannelReceipt
from tests.api.helpers import eventually
from tests.conftest import Catalog

MakeChannel = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
async def make_channel(
    worker: Any,
    http: httpx.AsyncClient,
    admin: dict[str, str],
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[MakeChannel]:
    """Create channels through the API; their sync workflows are stopped after the test."""
    codes: list[str] = []

    async def make(**body: Any) -> dict[str, Any]:
        body.setdefault("code", f"ch-{uuid.uuid4().hex[:8]}")
        body.setdefault("name", f"channel {body['code']}")
        body.setdefault("kind", "sandbox")
        r = await http.post("/api/v1/channels", json=body, headers=admin)
        assert r.status_code == 201, r.text
        codes.append(body["code"])
        return dict(r.json())

    yield make
    # Deactivated, so later stock changes in the session do not poke them; terminated, so
    # they stop polling now.
    async with sessions.begin() as s:
        await s.execute(update(Channel).where(Channel.code.in_(codes)).values(active=False))
    for code in codes:
        with contextlib.suppress(RPCError):  # it ended on its own (deactivated)
            await client.get_workflow_handle(channel_sync_workflow_id(code)).terminate()


async def receipts(
    sessions: async_sessionmaker[AsyncSession], channel: str, sku: str
) -> list[SandboxChannelReceipt]:
    async with sessions() as s:
        rows = await s.scalars(
            select(SandboxChannelReceipt)
            .where(SandboxChannelReceipt.channel == channel, SandboxChannelReceipt.sku == sku)
            .order_by(SandboxChannelReceipt.received_at, SandboxChannelReceipt.idempotency_key)
        )
        return list(rows.all())


def shows(
    sessions: async_sessionmaker[AsyncSession], channel: str, sku: str, available: int
) -> Callable[[], Awaitable[list[SandboxChannelReceipt] | None]]:
    """A probe: the channel's latest receipt for ``sku`` says ``available``."""

    async def probe() -> list[SandboxChannelReceipt] | None:
        got = await receipts(sessions, channel, sku)
        return got if got and got[-1].available == available else None

    return probe


async def adjust(
    http: httpx.AsyncClient, headers: dict[str, str], sku: str, warehouse: str, delta: int
) -> None:
    r = await http.post(
        "/api/v1/inventory/adjustments",
        json={"sku": sku, "warehouse": warehouse, "delta": delta, "reason": "test"},
        headers=headers,
    )
    assert r.status_code == 200, r.text


async def test_adjustment_reaches_sandbox_channel_less_safety_buffer(
    make_catalog: Callable[..., Awaitable[Catalog]],
    make_channel: MakeChannel,
    http: httpx.AsyncClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat = await make_catalog({"PDX": {"0": 10}, "NJ": {"0": 4}}, n_products=1)
    sku = cat.skus[0]
    ch = await make_channel(safety_buffer=3, config={"skus": [sku]})
    assert ch["workflow_id"] == f"channel-sync-{ch['code']}" and ch["sync_started"]

    await eventually(shows(sessions, ch["code"], sku, 14 - 3))  # both warehouses, less 3
    await adjust(http, admin, sku, cat.warehouses[0], +5)
    await eventually(shows(sessions, ch["code"], sku, 19 - 3))

    r = await http.get(f"/api/v1/channels/{ch['code']}/pushes", headers=admin)
    assert r.status_code == 200
    [push] = r.json()
    assert (push["sku"], push["available"]) == (sku, 16)
    assert push["idempotency_key"].startswith(f"{ch['code']}:{sku}:")

    async def listed() -> dict[str, Any] | None:
        r = await http.get("/api/v1/channels", headers=admin)
        mine = next(c for c in r.json() if c["code"] == ch["code"])
        return mine if mine["lag"] == 0 and mine["last_push_at"] else None

    summary = await eventually(listed)
    assert summary["pushed_skus"] == 1 and summary["safety_buffer"] == 3


async def test_a_new_channel_learns_stock_whose_outbox_rows_were_pruned(
    make_catalog: Callable[..., Awaitable[Catalog]],
    make_channel: MakeChannel,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A channel starts from a snapshot of every level, not from the outbox's history,
    which ``outbox-prune`` deletes once every reader is past it."""
    cat = await make_catalog({"PDX": {"0": 7, "1": 2}}, n_products=2)
    async with sessions.begin() as s:  # what pruning does to rows this old
        await s.execute(delete(InventoryOutbox).where(InventoryOutbox.sku.in_(cat.skus)))
    ch = await make_channel(config={"skus": cat.skus})
    await eventually(shows(sessions, ch["code"], cat.skus[0], 7))
    await eventually(shows(sessions, ch["code"], cat.skus[1], 2))


async def test_stock_down_to_the_buffer_shows_zero_never_negative(
    make_catalog: Callable[..., Awaitable[Catalog]],
    make_channel: MakeChannel,
    http: httpx.AsyncClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat = await make_catalog({"PDX": {"0": 5}}, n_products=1)
    sku = cat.skus[0]
    ch = await make_channel(safety_buffer=5, config={"skus": [sku]})
    await eventually(shows(sessions, ch["code"], sku, 0))
    await adjust(http, admin, sku, cat.warehouses[0], -3)  # 2 left, buffer 5: still 0
    await adjust(http, admin, sku, cat.warehouses[0], +4)  # 6 left: 1
    await eventually(shows(sessions, ch["code"], sku, 1))
    # 0 was pushed once: the drop to 2 changed nothing the channel sees.
    assert [r.available for r in await receipts(sessions, ch["code"], sku)] == [0, 1]


async def test_reservation_and_release_reach_the_channel(
    make_catalog: Callable[..., Awaitable[Catalog]],
    make_channel: MakeChannel,
    open_shipment: Callable[..., Awaitable[Any]],
    http: httpx.AsyncClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat = await make_catalog({"PDX": {"0": 10}}, n_products=1)
    sku = cat.skus[0]
    ch = await make_channel(config={"skus": [sku]})
    await eventually(shows(sessions, ch["code"], sku, 10))

    shipment = await open_shipment([sku], [3])  # reserved by the order's workflow
    await eventually(shows(sessions, ch["code"], sku, 7))

    r = await http.post(
        f"/api/v1/orders/{shipment.order_id}/cancel", json={"reason": "test"}, headers=admin
    )
    assert r.status_code == 200, r.text
    await eventually(shows(sessions, ch["code"], sku, 10))  # released


async def test_a_channel_that_is_down_retries_while_another_is_updated(
    make_catalog: Callable[..., Awaitable[Catalog]],
    make_channel: MakeChannel,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat = await make_catalog({"PDX": {"0": 10}}, n_products=1)
    sku = cat.skus[0]
    down = await make_channel(config={"skus": [sku], "down": True})
    up = await make_channel(config={"skus": [sku]})

    await eventually(shows(sessions, up["code"], sku, 10))
    # The healthy channel got its update while the other one is still failing.
    async with sessions() as s:
        assert await s.get(ChannelPush, (down["code"], sku)) is None
    assert await receipts(sessions, down["code"], sku) == []

    # The outage ends (ops fixed it): the retrying push goes through, once.
    async with sessions.begin() as s:
        await s.execute(
            update(Channel).where(Channel.code == down["code"]).values(config={"skus": [sku]})
        )
    got = await eventually(shows(sessions, down["code"], sku, 10), attempts=1200)
    assert len(got) == 1


async def test_lost_responses_are_retried_without_duplicate_receipts(
    make_catalog: Callable[..., Awaitable[Catalog]],
    make_channel: MakeChannel,
    http: httpx.AsyncClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat = await make_catalog({"PDX": {"0": 10}}, n_products=1)
    sku = cat.skus[0]
    # Call 1 fails before the channel acts, call 2 after it acted (the response is lost).
    flaky = await make_channel(config={"skus": [sku], "fail_first": 2})
    steady = await make_channel(config={"skus": [sku]})

    await eventually(shows(sessions, steady["code"], sku, 10))

    async def accepted() -> ChannelPush | None:
        async with sessions() as s:
            push = await s.get(ChannelPush, (flaky["code"], sku))
            return push if push is not None and push.available == 10 else None

    await eventually(accepted, attempts=1200)  # recorded only once a call succeeded

    await adjust(http, admin, sku, cat.warehouses[0], +5)
    await eventually(shows(sessions, steady["code"], sku, 15))
    await eventually(shows(sessions, flaky["code"], sku, 15))
    # The retried key was remembered, not applied twice: one receipt per distinct update.
    assert [r.available for r in await receipts(sessions, flaky["code"], sku)] == [10, 15]
    assert [r.available for r in await receipts(sessions, steady["code"], sku)] == [10, 15]


async def test_channel_api_refuses_bad_input(
    make_key: Callable[..., Awaitable[dict[str, str]]],
    http: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    ops = await make_key("ops")
    body = {"code": f"ch-{uuid.uuid4().hex[:8]}", "name": "x", "kind": "sandbox", "active": False}
    assert (await http.post("/api/v1/channels", json=body, headers=ops)).status_code == 403
    bad = {**body, "kind": "shopify", "config": {"base_url": "ftp://x"}}
    r = await http.post("/api/v1/channels", json=bad, headers=admin)
    assert r.status_code == 422 and r.json()["reason"] == "invalid_channel_config"
    assert (await http.post("/api/v1/channels", json=body, headers=admin)).status_code == 201
    r = await http.post("/api/v1/channels", json=body, headers=admin)
    assert r.status_code == 409 and r.json()["reason"] == "duplicate"
    r = await http.get("/api/v1/channels/nope/pushes", headers=admin)
    assert r.status_code == 404


async def _patch(
    http: httpx.AsyncClient, headers: dict[str, str], code: str, body: dict[str, Any]
) -> httpx.Response:
    return await http.patch(f"/api/v1/channels/{code}", json=body, headers=headers)


async def test_a_paused_channel_resumes_with_stock_whose_rows_were_pruned_meanwhile(
    make_catalog: Callable[..., Awaitable[Catalog]],
    make_channel: MakeChannel,
    http: httpx.AsyncClient,
    admin: dict[str, str],
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Paused, the channel's cursor stops holding outbox rows back, so pruning may delete
    what changed meanwhile; resumed, it gets a full sync instead of that history."""
    cat = await make_catalog({"PDX": {"0": 5}}, n_products=1)
    sku = cat.skus[0]
    ch = await make_channel(config={"skus": [sku]})
    await eventually(shows(sessions, ch["code"], sku, 5))

    r = await _patch(http, admin, ch["code"], {"active": False})
    assert r.status_code == 200, r.text
    assert (r.json()["active"], r.json()["resync"], r.json()["sync_started"]) == (
        False,
        False,
        False,
    )
    handle = client.get_workflow_handle(channel_sync_workflow_id(ch["code"]))

    async def ended() -> bool:
        return (await handle.describe()).status != WorkflowExecutionStatus.RUNNING

    await eventually(ended)  # poked: it saw the pause at once and ended
    await adjust(http, admin, sku, cat.warehouses[0], +3)
    async with sessions.begin() as s:  # what outbox-prune may do to rows no reader holds
        await s.execute(delete(InventoryOutbox).where(InventoryOutbox.sku == sku))
    assert [x.available for x in await receipts(sessions, ch["code"], sku)] == [5]

    r = await _patch(http, admin, ch["code"], {"active": True})
    assert r.status_code == 200, r.text
    assert (r.json()["active"], r.json()["resync"], r.json()["sync_started"]) == (True, True, True)
    await eventually(shows(sessions, ch["code"], sku, 8))


async def test_a_new_safety_buffer_reaches_every_sku_at_once(
    make_catalog: Callable[..., Awaitable[Catalog]],
    make_channel: MakeChannel,
    http: httpx.AsyncClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat = await make_catalog({"PDX": {"0": 9, "1": 4}}, n_products=2)
    ch = await make_channel(config={"skus": cat.skus})
    await eventually(shows(sessions, ch["code"], cat.skus[0], 9))
    await eventually(shows(sessions, ch["code"], cat.skus[1], 4))

    r = await _patch(http, admin, ch["code"], {"safety_buffer": 2, "name": "Outlet"})
    assert r.status_code == 200, r.text
    assert (r.json()["safety_buffer"], r.json()["name"], r.json()["resync"]) == (2, "Outlet", True)
    assert r.json()["pushed_skus"] == 2 and r.json()["last_push_at"]  # its own pushes only
    # No stock moved: only the channel's buffer did.
    await eventually(shows(sessions, ch["code"], cat.skus[0], 7))
    await eventually(shows(sessions, ch["code"], cat.skus[1], 2))
    r = await _patch(http, admin, ch["code"], {"name": "Outlet store"})
    assert r.status_code == 200 and r.json()["resync"] is False  # a name changes no quantity


async def test_channel_changes_refuse_bad_input_and_keep_secrets(
    make_key: Callable[..., Awaitable[dict[str, str]]],
    http: httpx.AsyncClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    code = f"ch-{uuid.uuid4().hex[:8]}"
    config = {"base_url": "https://shop.example", "location_id": 7, "access_token": "shpat_1"}
    body = {"code": code, "name": "x", "kind": "shopify", "config": config, "active": False}
    r = await http.post("/api/v1/channels", json=body, headers=admin)
    assert r.status_code == 201, r.text
    shown = r.json()["config"]
    assert shown["access_token"] == "***"

    ops = await make_key("ops")
    assert (await _patch(http, ops, code, {"name": "y"})).status_code == 403
    assert (await _patch(http, admin, "nope", {"name": "y"})).status_code == 404
    for bad in ({}, {"name": None}, {"kind": "sandbox"}, {"safety_buffer": -1}):
        r = await _patch(http, admin, code, bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await _patch(http, admin, code, {"config": {**shown, "base_url": "ftp://x"}})
    assert r.status_code == 422 and r.json()["reason"] == "invalid_channel_config"
    async with sessions() as s:
        row = await s.get(Channel, code)
        assert row is not None and (row.name, row.config) == ("x", config)  # nothing changed

    # The config as shown (token redacted), edited and sent back: the token stays.
    r = await _patch(http, admin, code, {"config": {**shown, "location_id": 8}})
    assert r.status_code == 200, r.text
    assert r.json()["config"]["access_token"] == "***" and r.json()["resync"] is False
    async with sessions() as s:
        row = await s.get(Channel, code)
        assert row is not None and row.config == {**config, "location_id": 8}


async def test_a_resumed_channel_gets_a_fresh_sync_run_even_if_the_paused_one_lingers(
    make_catalog: Callable[..., Awaitable[Catalog]],
    make_channel: MakeChannel,
    http: httpx.AsyncClient,
    admin: dict[str, str],
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A paused channel's run may still be there when it is resumed, already set to end
    (it read "paused"): the resume must not leave the channel to a run that is ending."""
    cat = await make_catalog({"PDX": {"0": 3}}, n_products=1)
    sku = cat.skus[0]
    ch = await make_channel(config={"skus": [sku]})
    await eventually(shows(sessions, ch["code"], sku, 3))
    handle = client.get_workflow_handle(channel_sync_workflow_id(ch["code"]))
    paused_run = (await handle.describe()).run_id
    # Paused behind the workflow's back (no poke): its run lingers, waiting for its timer.
    async with sessions.begin() as s:
        await s.execute(update(Channel).where(Channel.code == ch["code"]).values(active=False))

    r = await _patch(http, admin, ch["code"], {"active": True})
    assert r.status_code == 200 and r.json()["sync_started"], r.text
    now = await handle.describe()
    assert now.run_id != paused_run and now.status == WorkflowExecutionStatus.RUNNING
    await adjust(http, admin, sku, cat.warehouses[0], +4)
    await eventually(shows(sessions, ch["code"], sku, 7))  # the fresh run carries on


# --- POST /api/v1/channels/{code}/sync ----------------------------------------------------------


async def test_sync_now_restarts_a_stopped_sync_and_drains(
    make_catalog: Callable[..., Awaitable[Catalog]],
    make_channel: MakeChannel,
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_key: Callable[..., Awaitable[dict[str, str]]],
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat = await make_catalog({"PDX": {"0": 10}}, n_products=1)
    sku = cat.skus[0]
    ch = await make_channel(config={"skus": [sku]})
    code = ch["code"]
    await eventually(shows(sessions, code, sku, 10))
    handle = client.get_workflow_handle(channel_sync_workflow_id(code))
    stopped = await handle.describe()
    await handle.terminate(reason="lost")  # e.g. terminated by hand in the UI
    # A change nobody syncs: written straight to the database, no workflow to poke.
    async with sessions.begin() as s:
        await inventory.adjust(s, sku=sku, warehouse=cat.warehouses[0], delta=-4, reason="t")

    url = f"/api/v1/channels/{code}/sync"
    staff = await make_key("staff", cat.warehouses[0])
    assert (await http.post(url, headers=staff)).status_code == 403
    r = await http.post(url, headers=admin)
    assert r.status_code == 202, r.text
    assert r.json() == {"workflow_id": channel_sync_workflow_id(code), "status": "poked"}
    running = await client.get_workflow_handle(channel_sync_workflow_id(code)).describe()
    assert running.status == WorkflowExecutionStatus.RUNNING
    assert running.run_id != stopped.run_id
    await eventually(shows(sessions, code, sku, 6))  # drained: the channel knows the change

    # Asked again while it runs: the same run, poked.
    r = await http.post(url, headers=admin)
    assert r.status_code == 202, r.text
    again = await client.get_workflow_handle(channel_sync_workflow_id(code)).describe()
    assert again.run_id == running.run_id


async def test_sync_now_refuses_unknown_and_paused_channels(
    make_channel: MakeChannel,
    http: httpx.AsyncClient,
    admin: dict[str, str],
    client: Client,
) -> None:
    r = await http.post(f"/api/v1/channels/nope-{uuid.uuid4().hex[:6]}/sync", headers=admin)
    assert r.status_code == 404 and r.json()["reason"] == "not_found"

    ch = await make_channel()
    r = await http.patch(f"/api/v1/channels/{ch['code']}", json={"active": False}, headers=admin)
    assert r.status_code == 200, r.text
    handle = client.get_workflow_handle(channel_sync_workflow_id(ch["code"]))

    async def ended() -> bool:
        return (await handle.describe()).status != WorkflowExecutionStatus.RUNNING

    await eventually(ended)  # a paused channel's workflow ends at its next read
    r = await http.post(f"/api/v1/channels/{ch['code']}/sync", headers=admin)
    assert r.status_code == 409 and r.json()["reason"] == "inactive"
    assert (await handle.describe()).status != WorkflowExecutionStatus.RUNNING  # not started


async def test_sync_now_with_temporal_down_is_503(
    make_channel: MakeChannel,
    settings: Settings,
    engine: AsyncEngine,
    admin: dict[str, str],
) -> None:
    ch = await make_channel()
    dead = await Client.connect(
        "127.0.0.1:1",
        lazy=True,
        data_converter=pydantic_data_converter,
        retry_config=RetryConfig(max_retries=0),
    )
    app = create_app(settings, client=dead, engine=engine)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as down,
    ):
        r = await down.post(f"/api/v1/channels/{ch['code']}/sync", headers=admin)
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
