"""Merchant webhooks end to end: read-model writes → triggers → the dispatcher → a real
HTTP receiver (Starlette under uvicorn on a free local port) that checks every signature
with the secret it was given, answers 500 to its first request, and logs what it saw.

On a database of its own (its API, its admin key), so the dispatcher sees only this
module's subscriptions. The retry window and the backoff are the dispatcher's injected
policy, so "failed after the window" takes a second or two, not 24 h.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from temporalio.client import Client

from api.app import create_app
from domain.merchant_webhooks import RetryPolicy, verify
from oms.settings import Settings
from oms.webhook_dispatcher import DispatchConfig, WebhookDispatcher
from store.db import create_engine, sessionmaker
from store.keys import create_key
from store.tables import OrderRow, ShipmentRow
from tests.api.helpers import eventually
from tests.conftest import scratch_database
from tests.order_rows import T0, order_row

BASE = "/api/v1/webhooks"
Sessions = async_sessionmaker[AsyncSession]


# --- the receiver -------------------------------------------------------------------------


@dataclass
class Received:
    endpoint: str
    event_id: str
    topic: str
    answered: int
    signed: bool
    body: dict[str, Any]


@dataclass
class Receiver:
    """The merchant's side. ``/hook`` answers 500 to its first request, then 200; ``/down``
    always 503; ``/slow`` answers only after ``slow_seconds`` (past the dispatcher's
    time-out)."""

    secrets: dict[str, str] = field(default_factory=dict)
    log: list[Received] = field(default_factory=list)
    slow_seconds: float = 3.0

    def seen(self, endpoint: str, answered: int | None = None) -> list[Received]:
        return [
            r
            for r in self.log
            if r.endpoint == endpoint and (answered is None or r.answered == answered)
        ]

    async def handle(self, request: Request) -> Response:
        endpoint = request.path_params["endpoint"]
        raw = await request.body()
        secret = self.secrets.get(endpoint, "")
        signed = verify(raw, secret, request.headers.get("x-oms-signature", ""))
        doc = json.loads(raw)
        if endpoint == "hook":
            answered = 500 if not self.seen("hook") else 200
        elif endpoint == "down":
            answered = 503
        else:
            await asyncio.sleep(self.slow_seconds)
            answered = 200
        assert request.headers["x-oms-event-id"] == doc["event_id"]
        assert request.headers["x-oms-topic"] == doc["topic"]
        assert request.headers["content-type"] == "application/json"
        self.log.append(Received(endpoint, doc["event_id"], doc["topic"], answered, signed, doc))
        return Response(status_code=answered if signed else 401)


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    rec = Receiver()
    app = Starlette(routes=[Route("/{endpoint}", rec.handle, methods=["POST"])])
    sock = free_socket()
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))

    async def up() -> bool:
        await asyncio.sleep(0)
        return bool(server.started)

    await eventually(up, attempts=1200)
    yield rec, f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    await task
    sock.close()


# --- the OMS side -------------------------------------------------------------------------


@dataclass
class Oms:
    http: httpx.AsyncClient
    admin: dict[str, str]
    sessions: Sessions


@pytest.fixture(scope="module")
def scratch_url(database_url: str) -> Iterator[str]:
    with scratch_database(database_url, "oms_hookdeliv") as url:
        yield url


@pytest.fixture(scope="module")
async def oms(scratch_url: str, client: Client, settings: Settings) -> AsyncIterator[Oms]:
    engine = create_engine(scratch_url, pool_size=10)
    own = settings.model_copy(update={"database_url": scratch_url})
    app = create_app(own, client=client, engine=engine)
    sessions = sessionmaker(engine)
    async with sessions.begin() as s:
        key, _ = await create_key(s, "admin", None, name="hooks e2e")
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://oms.test") as c:
                yield Oms(c, {"Authorization": f"Bearer {key}"}, sessions)
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def dispatching(sessions: Sessions, config: DispatchConfig) -> AsyncIterator[None]:
    """The worker's dispatcher loop, running while the block runs."""
    async with httpx.AsyncClient() as http:
        task = asyncio.create_task(WebhookDispatcher(sessions, http, config).run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def subscribe(oms: Oms, rec: Receiver, base: str, endpoint: str, *topics: str) -> str:
    r = await oms.http.post(
        BASE, json={"url": f"{base}/{endpoint}", "topics": list(topics)}, headers=oms.admin
    )
    assert r.status_code == 201, r.text
    rec.secrets[endpoint] = r.json()["secret"]
    return str(r.json()["webhook_id"])


async def deliveries(oms: Oms, webhook_id: str) -> list[dict[str, Any]]:
    r = await oms.http.get(f"{BASE}/{webhook_id}/deliveries?limit=100", headers=oms.admin)
    assert r.status_code == 200, r.text
    return list(reversed(r.json()))  # oldest first


async def settled(oms: Oms, webhook_id: str, n: int) -> list[dict[str, Any]]:
    """Wait until the subscription has ``n`` deliveries and none is pending."""

    async def probe() -> list[dict[str, Any]] | None:
        rows = await deliveries(oms, webhook_id)
        done = len(rows) == n and all(d["status"] != "pending" for d in rows)
        return rows if done else None

    return await eventually(probe, attempts=1200)


#: Quick retries inside a window wide enough that nothing fails in the happy path, even
#: on a loaded machine.
PATIENT = DispatchConfig(
    policy=RetryPolicy(first=0.2, cap=1.0, window=300), timeout=5, poll_seconds=0.05
)
#: A window of a second and a time-out of a second: what never answers 2xx fails quickly.
IMPATIENT = DispatchConfig(
    policy=RetryPolicy(first=0.1, cap=0.3, window=1.0), timeout=1.0, poll_seconds=0.05
)


async def test_events_arrive_signed_in_order_retried_redelivered_and_failed(
    oms: Oms, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    hook = await subscribe(
        oms, rec, base, "hook", "order.created", "order.status_changed", "shipment.shipped"
    )

    # 1. Three changes of the read model, one after the other, with two dispatchers running
    # (as with two worker processes): still one delivery at a time, in order.
    async with dispatching(oms.sessions, PATIENT), dispatching(oms.sessions, PATIENT):
        async with oms.sessions.begin() as s:
            s.add(order_row("e2e-1", 0, status="received"))
        async with oms.sessions.begin() as s:
            await s.execute(
                update(OrderRow)
                .where(OrderRow.order_id == "e2e-1")
                .values(status="awaiting_payment", version=2)
            )
        async with oms.sessions.begin() as s:
            s.add(
                ShipmentRow(
                    shipment_id="e2e-1-1",
                    order_id="e2e-1",
                    version=1,
                    warehouse="WH-A",
                    status="packed",
                    priority=0,
                    lines=[{"sku": "S-1", "quantity": 1, "picked": 1}],
                    updated_at=T0,
                )
            )
        async with oms.sessions.begin() as s:
            await s.execute(
                update(ShipmentRow)
                .where(ShipmentRow.shipment_id == "e2e-1-1")
                .values(status="shipped", carrier="sandbox", tracking_number="1ZE2E", version=2)
            )
        rows = await settled(oms, hook, 3)

    events = [d["event_id"] for d in rows]
    assert [d["topic"] for d in rows] == [
        "order.created",
        "order.status_changed",
        "shipment.shipped",
    ]
    assert all(d["status"] == "delivered" for d in rows)
    assert [d["attempts"] for d in rows] == [2, 1, 1]  # the first answered 500 once
    assert rows[0]["last_status_code"] == 200 and rows[0]["delivered_at"]
    # What the receiver saw: every request signed, the 500 first, then each event once, in
    # the order they happened (nothing overtook the retried head).
    got = rec.seen("hook")
    assert all(r.signed for r in got)
    assert [(r.event_id, r.answered) for r in got] == [
        (events[0], 500),
        (events[0], 200),
        (events[1], 200),
        (events[2], 200),
    ]
    assert got[2].body["data"] == {
        "order_id": "e2e-1",
        "name": "#e2e-1",
        "status": "awaiting_payment",
        "previous_status": "received",
    }
    assert got[3].body["data"]["tracking"]["number"] == "1ZE2E"

    # 2. Redeliver the status change: it is sent again, same event id, signed.
    r = await oms.http.post(
        f"{BASE}/{hook}/deliveries/{rows[1]['delivery_id']}/redeliver", headers=oms.admin
    )
    assert r.status_code == 202, r.text
    async with dispatching(oms.sessions, PATIENT):
        rows = await settled(oms, hook, 4)
    assert rows[3]["event_id"] == events[1] and rows[3]["status"] == "delivered"
    again = rec.seen("hook")[4:]
    assert [(r.event_id, r.answered, r.signed) for r in again] == [(events[1], 200, True)]

    # 3. Deleting a subscription stops its deliveries. Receivers that never answer 2xx:
    # failed once the retry window is spent, and the next event of such a subscription
    # goes only after the previous one failed for good.
    assert (await oms.http.delete(f"{BASE}/{hook}", headers=oms.admin)).status_code == 200
    down = await subscribe(oms, rec, base, "down", "order.created")
    slow = await subscribe(oms, rec, base, "slow", "order.created")
    async with oms.sessions.begin() as s:
        s.add(order_row("e2e-2", 1, status="received"))
    async with oms.sessions.begin() as s:
        s.add(order_row("e2e-3", 2, status="received"))
    async with dispatching(oms.sessions, IMPATIENT):
        failed_down = await settled(oms, down, 2)
        failed_slow = await settled(oms, slow, 2)
    for d in failed_down:
        assert d["status"] == "failed" and d["last_status_code"] == 503, d
        assert d["attempts"] >= 1 and d["delivered_at"] is None
    for d in failed_slow:
        assert d["status"] == "failed" and d["last_status_code"] is None, d
        assert "timed out" in d["last_error"]
    first, second = (d["event_id"] for d in failed_down)
    order = [r.event_id for r in rec.seen("down")]
    assert set(order) == {first, second}
    assert order.index(second) > max(i for i, e in enumerate(order) if e == first)
    assert len(rec.seen("down")) == sum(d["attempts"] for d in failed_down)
    # The deleted subscription heard nothing more: still the 3 events and the redelivery.
    accepted = [r.event_id for r in rec.seen("hook", 200)]
    assert accepted == [*events, events[1]]

    # 4. The counters read the same story.
    text = (await oms.http.get("/metrics")).text
    assert 'oms_webhook_deliveries_total{outcome="delivered"} 4.0' in text
    assert 'oms_webhook_deliveries_total{outcome="failed"} 4.0' in text
    assert "oms_webhook_deliveries_pending 0.0" in text
