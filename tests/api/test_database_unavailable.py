"""Postgres unreachable mid-request (a restart, a failover): every path answers 503
problem+json with Retry-After — never a 500 — and the client's retry gets through once it
is back (the fault suite's Postgres restart, docs/decisions/0012)."""

from __future__ import annotations

import json

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.shopify import sign
from oms.settings import Settings
from store.db import create_engine, sessionmaker
from store.tables import OrderIntake
from tests.api.helpers import shopify_order


async def test_without_postgres_requests_are_answered_503_then_served_on_retry(
    api_app: FastAPI,
    http: httpx.AsyncClient,
    settings: Settings,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    order = shopify_order(["MUG-CER-350"])
    body = json.dumps(order).encode()
    webhook = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": "down.myshopify.com",
        "X-Shopify-Webhook-Id": f"while-postgres-is-down-{order['id']}",
        "X-Shopify-Hmac-Sha256": sign(body, settings.shopify_webhook_secret),
    }
    # The API's engine now reaches a server that is not there (as during a restart).
    gone = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/gone", pool_size=1)
    live = (api_app.state.sessions, api_app.state.autocommit)
    api_app.state.sessions = sessionmaker(gone)
    api_app.state.autocommit = gone.execution_options(isolation_level="AUTOCOMMIT")
    try:
        answers = [
            await http.get("/api/v1/warehouses", headers=admin),
            await http.get("/api/v1/orders", headers=admin),
            await http.post("/webhooks/shopify", content=body, headers=webhook),
        ]
    finally:
        api_app.state.sessions, api_app.state.autocommit = live
        await gone.dispose()
    for r in answers:
        assert r.status_code == 503, (r.request.url, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["reason"] == "database_unavailable"
        assert r.headers["retry-after"] == "2"

    # Postgres back: the same delivery is taken in once.
    again = await http.post("/webhooks/shopify", content=body, headers=webhook)
    assert again.status_code == 202, again.text
    async with sessions() as s:
        taken = await s.scalar(
            select(func.count())
            .select_from(OrderIntake)
            .where(OrderIntake.external_id == str(order["id"]))
        )
    assert taken == 1
