"""Build a Temporal worker with every OMS workflow and activity registered."""

from __future__ import annotations

import compileall
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import workflows
from activities.channel_sync import ChannelSyncActivities, LowStockActivities, OutboxActivities
from activities.channel_writeback import ChannelWritebackActivities
from activities.notifications import NotificationActivities
from activities.payments import PaymentActivities
from activities.projection import ProjectionActivities
from activities.shipping import ShippingActivities
from activities.stock import StockActivities, utc_now
from activities.watchdog import WatchdogActivities
from domain import geocode
from integrations.carriers import SandboxCarrier
from integrations.channels import ChannelFactory
from integrations.payments import SandboxPaymentGateway
from integrations.sandbox import SandboxBehaviour
from oms.settings import Settings
from workflows.channel_sync import (
    ChannelSyncWorkflow,
    LowStockWatchWorkflow,
    OutboxPruneWorkflow,
)
from workflows.fulfillment import FulfillmentWorkflow
from workflows.order import OrderWorkflow
from workflows.watchdog import StuckWatchdogWorkflow

WORKFLOWS: Sequence[type] = (
    OrderWorkflow,
    FulfillmentWorkflow,
    ChannelSyncWorkflow,
    LowStockWatchWorkflow,
    OutboxPruneWorkflow,
    StuckWatchdogWorkflow,
)

#: ``domain`` is pure and deterministic by design (no I/O, clocks or randomness), so the
#: sandbox may share the already-imported modules instead of re-importing them (and
#: rebuilding every pydantic model) for each workflow run: a measured ~20% of worker CPU.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("domain")
)


def build_activities(
    sessions: async_sessionmaker[AsyncSession],
    behaviour: SandboxBehaviour,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], datetime] = utc_now,
    carrier: SandboxBehaviour | None = None,
) -> list[Callable[..., Any]]:
    """``carrier``: the sandbox carrier's own behaviour (tests take it down alone)."""
    projection = ProjectionActivities(sessions)
    stock = StockActivities(sessions, clock)
    payments = PaymentActivities(sessions, SandboxPaymentGateway(sessions, behaviour))
    shipping = ShippingActivities(sessions, SandboxCarrier(sessions, carrier or behaviour))
    notifications = NotificationActivities(sessions)
    # One HTTP client (connection pool) for every channel adapter of this worker.
    http = http or httpx.AsyncClient()
    channels = ChannelSyncActivities(sessions, ChannelFactory(sessions, behaviour, http))
    writeback = ChannelWritebackActivities(sessions, http)
    low_stock = LowStockActivities(sessions)
    retention = OutboxActivities(sessions)
    return [
        projection.record_order,
        projection.record_shipment,
        projection.read_floor,
        stock.allocate_stock,
        stock.release_stock,
        stock.commit_stock,
        stock.move_shipment,
        stock.reroute_shipment,
        stock.shrink_shipment,
        stock.reject_shipment,
        payments.capture_payment,
        payments.reverse_payment,
        shipping.buy_label,
        shipping.void_label,
        notifications.notify_customer,
        channels.read_channel_batch,
        channels.push_channel_batch,
        writeback.write_back,
        writeback.read_line_items,
        low_stock.check_low_stock,
        retention.prune_outbox,
    ]


def ensure_workflow_bytecode() -> None:
    """Write the bytecode of the workflow modules if it is missing or stale.

    The sandbox imports the workflow modules afresh for every new workflow instance (two per
    order). Without a ``.pyc`` each of those imports compiles the source: with
    ``PYTHONDONTWRITEBYTECODE`` set, that was 8.6 % of the worker's CPU under load (py-spy,
    bench.run). ``compileall`` writes the files even then, once, and skips them when fresh.
    """
    # maxlevels=1: the packages under workflows/ too (workflows/order/).
    compileall.compile_dir(str(Path(workflows.__file__).parent), quiet=2, maxlevels=1, workers=1)


def sandbox_behaviours(settings: Settings) -> tuple[SandboxBehaviour, SandboxBehaviour | None]:
    """The sandbox adapters' behaviour from the settings: one for all of them, and the
    carrier's own when ``OMS_SANDBOX_CARRIER_FAILURE_RATE`` is set (a carrier outage drill
    with payments working; ``bench.pack``)."""
    shared = SandboxBehaviour(
        latency_ms=settings.sandbox_latency_ms, failure_rate=settings.sandbox_failure_rate
    )
    if settings.sandbox_carrier_failure_rate is None:
        return shared, None
    carrier = SandboxBehaviour(
        latency_ms=settings.sandbox_latency_ms,
        failure_rate=settings.sandbox_carrier_failure_rate,
    )
    return shared, carrier


def build_worker(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    task_queue: str | None = None,
    behaviour: SandboxBehaviour | None = None,
    clock: Callable[[], datetime] = utc_now,
    carrier: SandboxBehaviour | None = None,
    http: httpx.AsyncClient | None = None,
) -> Worker:
    """``clock``: "now" for routing and daily capacity (tests pin it); the real time else.
    ``http``: the channel adapters' client (tests route it into an API app's sandbox)."""
    # Workflow code geocodes postal codes (verification); the table is read here, outside
    # the sandbox, once, and shared with it through the passthrough ``domain`` package.
    geocode.preload()
    ensure_workflow_bytecode()
    configured, configured_carrier = sandbox_behaviours(settings)
    behaviour = behaviour or configured
    carrier = carrier or configured_carrier
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=[
            *build_activities(sessions, behaviour, http=http, clock=clock, carrier=carrier),
            # The stuck-order watchdog looks at the order workflows through this client.
            WatchdogActivities(client, sessions).sweep_stuck_orders,
        ],
        workflow_runner=WORKFLOW_RUNNER,
        # On SIGTERM running activities get this long to finish; then they are cancelled
        # and Temporal retries them on another worker (docs/decisions/0012).
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_graceful_seconds),
        # Memory stays flat however many orders wait (docs/decisions/0012, 0014).
        max_cached_workflows=settings.worker_max_cached_workflows,
    )
