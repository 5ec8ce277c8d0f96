"""``oms worker``: run the worker against the configured Postgres and Temporal."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx

from oms.background import ensure_standing_workflows
from oms.heap import RefreezingHeap, freeze_startup_objects
from oms.settings import Settings
from oms.temporal import connect, metrics_runtime
from oms.webhook_dispatcher import DispatchConfig, WebhookDispatcher
from store.db import create_engine, sessionmaker
from workers.email_outbox import running_sender
from workers.worker import build_worker


async def run_worker(settings: Settings) -> None:
    """Run until cancelled (Ctrl-C / SIGTERM), then finish in-flight tasks and stop."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if not settings.database_url:
        raise SystemExit("OMS_DATABASE_URL is not set (oms dev sets it for its worker)")
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    try:
        runtime = (
            metrics_runtime(settings.worker_metrics_port) if settings.worker_metrics_port else None
        )
        client = await connect(settings, runtime=runtime)
        sessions = sessionmaker(engine)
        worker = build_worker(client, sessions, settings)
        log = logging.getLogger(__name__)
        try:
            started = await ensure_standing_workflows(client, sessions, settings)
            log.info("standing workflows: %s", ", ".join(started))
        except Exception:  # the worker is still useful; the next start tries again
            log.exception("could not start the standing workflows")
        # Full GC passes off the scans' path; the re-freeze is off by default
        # (docs/decisions/0014-gc-freeze-and-heap-sweep.md).
        frozen = freeze_startup_objects()
        sweep = settings.worker_heap_sweep_minutes
        if sweep > 0:
            RefreezingHeap(sweep_every=sweep * 60).install()
        log.info(
            "worker polling %s on %s (%d start-up objects exempt from GC; %s)",
            settings.task_queue,
            settings.temporal_address,
            frozen,
            f"survivors of full passes frozen, whole heap swept every {sweep:g} min"
            if sweep > 0
            else "CPython's collector otherwise",
        )
        # Customer emails and merchant webhooks drain beside the worker, from their
        # outboxes in Postgres (docs/decisions/0006, 0007).
        async with (
            running_sender(sessions, settings),
            httpx.AsyncClient(follow_redirects=False) as http,
        ):
            dispatcher = WebhookDispatcher(sessions, http, DispatchConfig.from_settings(settings))
            webhooks = asyncio.create_task(dispatcher.run(), name="merchant-webhooks")
            try:
                await worker.run()
            finally:
                webhooks.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await webhooks
    finally:
        await engine.dispose()
