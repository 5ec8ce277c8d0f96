"""The sandbox road against the real API: a packed shipment's label gets its tracking
events posted, signed, to ``POST /webhooks/carriers/sandbox``, which accepts every one
(duplicates and late ones included); and a receiver that fails first gets the post again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import httpx
import pytest
from aiohttp import web
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.road import RoadPoster, sign
from integrations.road_plan import MAX_ROAD_SECONDS, RoadPost, plan_road
from oms.settings import Settings
from store.tables import CarrierEvent, LabelLedger
from tests.api.conftest import OpenShipment
from tests.api.test_labels import pack
from tests.conftest import Catalog


def eventful(number: str) -> tuple[int, list[RoadPost]]:
    """A seed whose road has a duplicate and an event posted after a newer one."""
    for seed in range(500):
        plan = plan_road(number, seed)
        ids = [p.event.event_id for p in plan if p.event.event_id]
        late = any(b.event.occurred_after < a.event.occurred_after for a, b in pairwise(plan))
        if len(ids) != len(set(ids)) and late:
            return seed, plan
    raise AssertionError("no eventful road in 500 seeds")


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def test_the_road_posts_every_event_and_the_api_accepts_them(
    api_app: FastAPI,
    http: httpx.AsyncClient,
    settings: Settings,
    make_catalog: Any,
    open_shipment: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat: Catalog = await make_catalog()
    ship: OpenShipment = await open_shipment(cat.skus, [1, 1])
    await pack(http, cat, ship)
    async with sessions() as s:
        label = (
            await s.execute(
                select(LabelLedger.tracking_number, LabelLedger.created_at).where(
                    LabelLedger.shipment_id == ship.shipment_id
                )
            )
        ).one()
    number, bought = label
    seed, plan = eventful(number)

    clock = Clock(bought)
    poster = RoadPoster(
        sessions,
        http,
        secret=settings.carrier_webhook_secret,
        factor=60,
        seed=seed,
        clock=clock,
        since=bought - timedelta(microseconds=1),
        margin=timedelta(0),
    )
    assert await poster.round() == 0  # nothing is due at the moment of purchase
    assert poster.stats.labels == 1
    first_due = plan[0].post_after_seconds / 60
    clock.at = bought + timedelta(seconds=first_due)
    assert await poster.round() == 1  # label_printed, a few seconds after the label
    clock.at = bought + timedelta(seconds=MAX_ROAD_SECONDS / 60)
    assert await poster.round() == len(plan) - 1
    assert await poster.round() == 0  # each post once
    assert poster.stats.posted == len(plan)
    assert set(poster.stats.answers) <= {200, 202}, poster.stats.answers

    async with sessions() as s:
        stored = (
            await s.execute(
                select(CarrierEvent.status, CarrierEvent.occurred_at).where(
                    CarrierEvent.tracking_number == number
                )
            )
        ).all()
    # Every event of the road reached the product, dated on the road's clock.
    assert {(st, at) for st, at in stored} == {
        (p.event.status, bought + timedelta(seconds=p.event.occurred_after)) for p in plan
    }


@pytest.fixture
async def flaky_receiver() -> AsyncIterator[tuple[str, list[tuple[int, dict[str, Any]]]]]:
    """A real HTTP receiver that answers 503 to its first request, then 202; it records
    (answer, body) of every request whose signature is right."""
    got: list[tuple[int, dict[str, Any]]] = []

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get("X-OMS-Signature") != sign(body, "road-test"):
            return web.Response(status=401)
        status = 503 if not got else 202
        got.append((status, json.loads(body)))
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/webhooks/carriers/sandbox", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", got
    await runner.cleanup()


async def test_a_post_answered_5xx_is_posted_again(
    flaky_receiver: tuple[str, list[tuple[int, dict[str, Any]]]],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    url, got = flaky_receiver
    bought = datetime.fromisoformat("2026-12-01T12:00:00+00:00")
    number = "SBXROADTEST0001"
    async with httpx.AsyncClient(base_url=url) as client:
        poster = RoadPoster(
            sessions,
            client,
            secret="road-test",
            factor=60,
            clock=Clock(bought + timedelta(seconds=MAX_ROAD_SECONDS / 60)),
        )
        poster.plan_label(number, bought)
        answered = await poster.post_due()
    plan = plan_road(number, 0)
    assert answered == len(plan)
    assert [status for status, _ in got] == [503] + [202] * len(plan)
    assert got[0][1] == got[1][1]  # the same event again
    assert [body["status"] for _, body in got[1:]] == [p.event.status for p in plan]
