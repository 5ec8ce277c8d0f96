"""Temporal unreachable: intake answers 503 and rolls back, so Shopify's retry is clean."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RetryConfig

from api.app import create_app
from integrations.shopify import sign
from oms.settings import Settings
from store.tables import OrderIntake, WebhookReceipt
from tests.api.helpers import shopify_order


async def test_temporal_down_is_503_and_nothing_stored(
    settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    dead = await Client.connect(
        "127.0.0.1:1",
        lazy=True,
        data_converter=pydantic_data_converter,
        retry_config=RetryConfig(max_retries=0),
    )
    app = create_app(settings, client=dead, engine=engine)
    payload = shopify_order(["ANY"])
    body = httpx.Request("POST", "/", json=payload).content
    webhook_id = f"wh-{uuid.uuid4()}"
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        r = await http.post(
            "/webhooks/shopify",
            content=body,
            headers={
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Shop-Domain": "demo.myshopify.com",
                "X-Shopify-Webhook-Id": webhook_id,
                "X-Shopify-Hmac-Sha256": sign(body, settings.shopify_webhook_secret),
            },
        )
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert (await http.get("/readyz")).status_code == 503
    async with sessions() as s:
        assert (
            await s.scalar(
                select(func.count())
                .select_from(WebhookReceipt)
                .where(WebhookReceipt.webhook_id == webhook_id)
            )
            == 0
        )
        assert (
            await s.scalar(
                select(func.count())
                .select_from(OrderIntake)
                .where(OrderIntake.external_id == str(payload["id"]))
            )
            == 0
        )
