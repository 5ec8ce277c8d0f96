"""The standing workflows: one ``ChannelSyncWorkflow`` per active channel and the
``LowStockWatchWorkflow``. Started idempotently (fixed ids, ``USE_EXISTING``) by the worker
at start-up and by the API when a channel is created; poked by the API after stock changes.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError

from domain import names
from domain.channels import ChannelSyncInput, LowStockWatchInput, OutboxPruneInput
from domain.watchdog import WatchdogInput, WatchdogSweep
from oms.settings import Settings
from store.channels import active_channel_codes
from workflows.channel_sync import ChannelSyncWorkflow, LowStockWatchWorkflow, OutboxPruneWorkflow
from workflows.watchdog import StuckWatchdogWorkflow

log = logging.getLogger(__name__)


async def start_channel_sync(
    client: Client,
    settings: Settings,
    channel: str,
    *,
    task_queue: str | None = None,
    fresh: bool = False,
) -> None:
    """Start the channel's sync workflow, or leave the running one alone.

    ``ALLOW_DUPLICATE`` lets a channel whose workflow ended (deactivated, terminated) be
    started again once it is active. ``fresh`` (a paused channel resumed) replaces a run
    that is still there: it may have read "paused" already and be about to end, which
    would leave the resumed channel with no workflow. Replacing one mid-drain is safe: its
    cursor moves only after a batch's pushes succeeded, and a repeated push is answered
    once by its idempotency key.
    """
    await client.start_workflow(
        ChannelSyncWorkflow.run,
        ChannelSyncInput(channel=channel, poll_seconds=settings.channel_sync_poll_seconds),
        id=names.channel_sync_workflow_id(channel),
        task_queue=task_queue or settings.task_queue,
        id_conflict_policy=(
            WorkflowIDConflictPolicy.TERMINATE_EXISTING
            if fresh
            else WorkflowIDConflictPolicy.USE_EXISTING
        ),
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )


async def start_low_stock_watch(
    client: Client, settings: Settings, *, task_queue: str | None = None
) -> None:
    await client.start_workflow(
        LowStockWatchWorkflow.run,
        LowStockWatchInput(poll_seconds=settings.channel_sync_poll_seconds),
        id=names.LOW_STOCK_WATCH_WORKFLOW_ID,
        task_queue=task_queue or settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )


def outbox_prune_schedule(settings: Settings, *, task_queue: str | None = None) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            OutboxPruneWorkflow.run,
            OutboxPruneInput(keep_hours=settings.outbox_keep_hours),
            id=names.OUTBOX_PRUNE_WORKFLOW_ID,
            task_queue=task_queue or settings.task_queue,
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(minutes=settings.outbox_prune_minutes))]
        ),
        # A run still going when the next is due (a large backlog) just carries on.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_outbox_prune_schedule(
    client: Client, settings: Settings, *, task_queue: str | None = None
) -> None:
    """Create the ``outbox-prune`` Schedule, or bring an existing one to these settings."""
    schedule = outbox_prune_schedule(settings, task_queue=task_queue)
    try:
        await client.create_schedule(names.OUTBOX_PRUNE_SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:
        handle = client.get_schedule_handle(names.OUTBOX_PRUNE_SCHEDULE_ID)
        await handle.update(lambda _: ScheduleUpdate(schedule=schedule))


def watchdog_input(settings: Settings) -> WatchdogInput:
    """What one sweep judges by: the attempts after which a dependency or a workflow task
    counts as failing."""
    return WatchdogInput(
        activity_attempts=settings.watchdog_activity_attempts,
        task_attempts=settings.watchdog_task_attempts,
    )


def watchdog_schedule(settings: Settings, *, task_queue: str | None = None) -> Schedule:
    """The stuck-order watchdog: a sweep every ``OMS_WATCHDOG_EVERY_SECONDS``; a sweep
    still running when the next is due (a slow frontend) lets the next one go."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            StuckWatchdogWorkflow.run,
            watchdog_input(settings),
            id=names.STUCK_WATCHDOG_WORKFLOW_ID,
            task_queue=task_queue or settings.task_queue,
        ),
        spec=ScheduleSpec(
            intervals=[
                ScheduleIntervalSpec(every=timedelta(seconds=settings.watchdog_every_seconds))
            ]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_watchdog_schedule(
    client: Client, settings: Settings, *, task_queue: str | None = None
) -> None:
    """Create the ``stuck-watchdog`` Schedule, or bring an existing one to these settings."""
    schedule = watchdog_schedule(settings, task_queue=task_queue)
    try:
        await client.create_schedule(names.STUCK_WATCHDOG_SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:
        handle = client.get_schedule_handle(names.STUCK_WATCHDOG_SCHEDULE_ID)
        await handle.update(lambda _: ScheduleUpdate(schedule=schedule))


async def run_watchdog_sweep(
    client: Client, settings: Settings, *, task_queue: str | None = None
) -> WatchdogSweep:
    """One sweep now, as the Schedule would start it, under an id of its own, waited for.

    How tests sweep: the one Schedule is shared by every worker of a Temporal namespace,
    so a test cannot rely on where it points (another stack's worker may have pointed it
    at its own task queue, where an orphaned sweep then holds the overlap-skip policy
    shut)."""
    return await client.execute_workflow(
        StuckWatchdogWorkflow.run,
        watchdog_input(settings),
        id=f"{names.STUCK_WATCHDOG_WORKFLOW_ID}-now-{uuid.uuid4().hex[:12]}",
        task_queue=task_queue or settings.task_queue,
    )


async def ensure_standing_workflows(
    client: Client, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> list[str]:
    """Start whatever standing workflow is not running and ensure the outbox-prune
    Schedule. Returns what it ensured (workflow ids, then the schedule)."""
    async with sessions() as session:
        codes = await active_channel_codes(session)
    for code in codes:
        await start_channel_sync(client, settings, code)
    await start_low_stock_watch(client, settings)
    await ensure_outbox_prune_schedule(client, settings)
    await ensure_watchdog_schedule(client, settings)
    return [
        *(names.channel_sync_workflow_id(c) for c in codes),
        names.LOW_STOCK_WATCH_WORKFLOW_ID,
        f"schedule {names.OUTBOX_PRUNE_SCHEDULE_ID}",
        f"schedule {names.STUCK_WATCHDOG_SCHEDULE_ID}",
    ]


async def poke_stock_watchers(client: Client, channels: list[str]) -> None:
    """Tell the sync workflows of ``channels`` and the low-stock watch to drain now.

    Best effort: a missed poke only means waiting for the poll timer.
    """
    ids = [names.channel_sync_workflow_id(c) for c in channels]
    for workflow_id in [*ids, names.LOW_STOCK_WATCH_WORKFLOW_ID]:
        try:
            await client.get_workflow_handle(workflow_id).signal("poke")
        except (RPCError, RuntimeError) as exc:
            log.debug("poke %s: %s", workflow_id, exc)
