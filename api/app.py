"""The FastAPI application factory.

``uvicorn --factory api.app:create_app`` builds it from the environment; tests pass their
own settings, Temporal client and engine. The lifespan owns whatever it created (and
closes only that).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api import db_errors, openapi_responses, problems
from api.auth import KeyCache
from api.input_guard import InputGuard
from api.metrics import RequestMetrics
from api.pages import analytics as analytics_page
from api.pages import common as pages_common
from api.pages import dashboard, floor, login, order, track
from api.pages import scan as scan_page
from api.routers import (
    analytics,
    bulk,
    carriers,
    catalog,
    channels,
    dev_mailbox,
    export,
    inventory,
    keys,
    labels,
    low_stock,
    merchant_webhooks,
    ops,
    orders,
    routing,
    sandbox_shopify,
    shipments,
    stream,
    tags,
    templates,
    views,
    webhooks,
)
from api.session import CookieSigner, session_secret
from api.stream import StreamHub
from oms.heap import freeze_startup_objects
from oms.settings import Settings, get_settings
from oms.temporal import connect
from store.db import create_engine, sessionmaker
from store.scans import ScanStore
from store.tagging import ensure_default_tag_rules

log = logging.getLogger(__name__)


async def _seed_tag_rules(app: FastAPI) -> None:
    """Store the default tag rules on the first start. A database that cannot be reached
    now does not stop the API: intake uses the built-in defaults (version 0) meanwhile."""
    try:
        async with app.state.sessions.begin() as session:
            if await ensure_default_tag_rules(session):
                log.info("stored the default tag rules as version 1")
    except Exception:  # logged; the next start tries again
        log.warning("could not seed the default tag rules", exc_info=True)


def create_app(
    settings: Settings | None = None,
    *,
    client: Client | None = None,
    engine: AsyncEngine | None = None,
) -> FastAPI:
    """Build the API.

    Args:
        settings: Configuration; from the environment when omitted.
        client: A connected Temporal client (pydantic data converter); connected at startup
            when omitted.
        engine: An async SQLAlchemy engine; created from ``settings.database_url`` when omitted.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_engine = engine is None
        if engine is None:
            if not settings.database_url:
                raise RuntimeError("OMS_DATABASE_URL is not set")
            db = create_engine(settings.database_url, pool_size=settings.db_pool_size)
        else:
            db = engine
        temporal = client if client is not None else await connect(settings)
        app.state.settings = settings
        app.state.engine = db
        app.state.sessions = sessionmaker(db)
        # Single-statement paths (API keys) need no transaction.
        app.state.autocommit = db.execution_options(isolation_level="AUTOCOMMIT")
        app.state.temporal = temporal
        await _seed_tag_rules(app)
        try:
            async with (
                ScanStore.open(
                    db.url.render_as_string(hide_password=False), size=settings.db_pool_size
                ) as app.state.scans,
                StreamHub(db.url.render_as_string(hide_password=False)) as app.state.stream_hub,
            ):
                if own_engine and client is None:
                    # Serving as its own process (uvicorn's factory). An app handed its
                    # connections is embedded (tests) and must not freeze its host's heap
                    # (docs/decisions/0014-gc-freeze-and-heap-sweep.md).
                    freeze_startup_objects()
                yield
        finally:
            if own_engine:
                await db.dispose()

    app = FastAPI(
        title="Shipshape OMS",
        version="0.1.0",
        description="Order management: every order a durable Temporal workflow.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.key_cache = KeyCache(settings.key_cache_seconds)
    app.state.cookie_signer = CookieSigner(
        session_secret(settings), int(settings.session_hours * 3600)
    )
    problems.install(app)
    db_errors.install(app)  # Postgres gone mid-request: 503, not 500 (ADR 0012)
    app.add_exception_handler(problems.Problem, pages_common.problem_page)
    # Before ``orders``: its ``/{order_id}`` routes would otherwise see ``bulk`` as an id.
    for module in (bulk, export, views, stream):
        app.include_router(module.router)
    for module in (keys, catalog, inventory, webhooks, orders, shipments, carriers, ops, routing):
        app.include_router(module.router)
    app.include_router(labels.router)  # GET /api/v1/shipments/{id}/label
    app.include_router(tags.router)
    app.include_router(templates.router)
    for module in (low_stock, channels, sandbox_shopify):  # stock sync
        app.include_router(module.router)
    app.include_router(merchant_webhooks.router)  # merchant webhooks out
    app.include_router(analytics.router)  # analytics
    app.include_router(scan_page.router)
    # Customer emails: the tracking page (no sign-in) and the dev mailbox.
    app.include_router(track.router)
    app.include_router(dev_mailbox.router)
    # the dashboard's pages (cookie session)
    for page in (login, dashboard, order, floor, analytics_page):
        app.include_router(page.router)
    openapi_responses.install(app)
    # Inside the metrics: a refused request is still counted and timed.
    app.add_middleware(InputGuard, router=app.router, settings=settings)
    app.add_middleware(RequestMetrics)
    return app
