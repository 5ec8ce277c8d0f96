"""``ChannelSyncWorkflow`` (one per sales channel), ``LowStockWatchWorkflow`` (one) and
``OutboxPruneWorkflow`` (a short run now and then, started by a Schedule).

Both drain the inventory outbox from their own cursor, then wait for a ``poke`` Signal
(the API sends one after adjustments and imports) or the poll timer (reservations and
shipments happen in worker activities, which do not poke), and continue-as-new after
``max_iterations`` drains so their histories stay bounded. A channel that keeps failing
retries under the activity retry policy inside its own workflow, so the other channels
go on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from domain import names
from domain.channels import (
    ChannelBatch,
    ChannelBatchRequest,
    ChannelPushResult,
    ChannelSyncInput,
    ChannelSyncStatus,
    LowStockCheckRequest,
    LowStockCheckResult,
    LowStockWatchInput,
    OutboxPosition,
    OutboxPruneInput,
    OutboxPruneRequest,
    OutboxPruneResult,
    next_pause,
)
from workflows import policies

#: Outbox reads and event writes: our own database, retried quickly, forever.
#: (Unlike ``policies.DATABASE``, every error type is retried.)
DATABASE = policies.doubling(timedelta(milliseconds=200), timedelta(seconds=30))
DATABASE_TIMEOUT = policies.DATABASE_TIMEOUT

#: Pushing to a channel: backs off to a minute between attempts and never gives up on a
#: transient fault (the channel catches up when it is back); a refusal is final.
CHANNEL = policies.doubling(timedelta(seconds=1), timedelta(minutes=1), "ChannelRejected")
#: A batch is up to ``batch_size`` sequential calls; the heartbeat after each call is what
#: notices a stuck attempt, the start-to-close timeout only bounds a whole batch.
PUSH_TIMEOUT = timedelta(minutes=10)
PUSH_HEARTBEAT = timedelta(seconds=30)

T = TypeVar("T")


@workflow.defn
class ChannelSyncWorkflow:
    """Keeps one channel's quantities equal to available stock less its safety buffer."""

    @workflow.init
    def __init__(self, inp: ChannelSyncInput) -> None:
        self.channel = inp.channel
        self.poked = False
        self.drains = 0
        self.pushed = 0
        self.cursor = OutboxPosition()
        self.last_error: str | None = None

    @workflow.run
    async def run(self, inp: ChannelSyncInput) -> ChannelSyncStatus:
        pause: float | None = None
        for _ in range(inp.max_iterations):
            # Cleared before reading: a poke that lands during the drain means another drain.
            self.poked = False
            batch = await _on_database(
                names.READ_CHANNEL_BATCH,
                ChannelBatchRequest(channel=inp.channel, limit=inp.batch_size),
                ChannelBatch,
            )
            if not batch.active:
                return self.status()  # channel deactivated or removed: nothing to keep in sync
            self.cursor = batch.after
            if batch.changes:
                try:
                    result: ChannelPushResult = await workflow.execute_activity(
                        names.PUSH_CHANNEL_BATCH,
                        batch,
                        result_type=ChannelPushResult,
                        start_to_close_timeout=PUSH_TIMEOUT,
                        heartbeat_timeout=PUSH_HEARTBEAT,
                        retry_policy=CHANNEL,
                    )
                except ActivityError as err:
                    # Refused as a whole (credentials, config): park until poked or the
                    # blocked timer; the cursor did not move, so nothing is lost.
                    self.last_error = _message(err)
                    self.drains += 1
                    await self._pause(inp.blocked_retry_seconds)
                    continue
                self.pushed += result.pushed
                self.cursor = result.cursor
                self.last_error = None
            self.drains += 1
            if batch.full:
                continue  # more rows are waiting: no pause
            if workflow.info().is_continue_as_new_suggested():
                break
            pause = next_pause(inp.poll_seconds, batch.unsettled, pause)
            await self._pause(pause)
            if not batch.unsettled:
                pause = None
        workflow.continue_as_new(inp)

    async def _pause(self, seconds: float) -> None:
        await _wait_for_poke(lambda: self.poked, seconds)

    @workflow.signal
    def poke(self) -> None:
        """Stock changed: drain now instead of at the next poll."""
        self.poked = True

    @workflow.query
    def status(self) -> ChannelSyncStatus:
        return ChannelSyncStatus(
            channel=self.channel,
            drains=self.drains,
            pushed=self.pushed,
            cursor=self.cursor,
            last_error=self.last_error,
        )


@workflow.defn
class LowStockWatchWorkflow:
    """Writes ``low_stock`` / ``restocked`` events for SKUs the outbox says changed."""

    @workflow.init
    def __init__(self, inp: LowStockWatchInput) -> None:
        self.poked = False
        self.events = 0

    @workflow.run
    async def run(self, inp: LowStockWatchInput) -> None:
        pause: float | None = None
        for _ in range(inp.max_iterations):
            self.poked = False
            result = await _on_database(
                names.CHECK_LOW_STOCK,
                LowStockCheckRequest(limit=inp.batch_size),
                LowStockCheckResult,
            )
            self.events += result.events
            if result.full:
                continue
            if workflow.info().is_continue_as_new_suggested():
                break
            pause = next_pause(inp.poll_seconds, result.unsettled, pause)
            await _wait_for_poke(lambda: self.poked, pause)
            if not result.unsettled:
                pause = None
        workflow.continue_as_new(inp)

    @workflow.signal
    def poke(self) -> None:
        self.poked = True


@workflow.defn
class OutboxPruneWorkflow:
    """Deletes the outbox rows every reader is done with (``store.outbox_retention``).

    Started by the ``outbox-prune`` Schedule (``oms.background``) rather than looping in a
    standing workflow: each run is short, visible in the UI with what it deleted, and a
    missed one is simply the next one's work.
    """

    @workflow.run
    async def run(self, inp: OutboxPruneInput) -> int:
        deleted = 0
        for _ in range(inp.max_batches):
            result = await _on_database(
                names.PRUNE_OUTBOX,
                OutboxPruneRequest(keep_hours=inp.keep_hours, limit=inp.batch_size),
                OutboxPruneResult,
            )
            deleted += result.deleted
            if result.deleted < inp.batch_size:
                break
        return deleted


async def _on_database(activity: str, request: Any, result_type: type[T]) -> T:
    """An outbox read or event write, under this module's database policy."""
    result: T = await workflow.execute_activity(
        activity,
        request,
        result_type=result_type,
        start_to_close_timeout=DATABASE_TIMEOUT,
        retry_policy=DATABASE,
    )
    return result


async def _wait_for_poke(poked: Callable[[], bool], seconds: float) -> None:
    """The pause between drains: until poked, or ``seconds`` at the most."""
    with contextlib.suppress(TimeoutError):
        await workflow.wait_condition(poked, timeout=timedelta(seconds=seconds))


def _message(err: ActivityError) -> str:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return f"{cause.type}: {cause.message}"
    return str(cause or err)
