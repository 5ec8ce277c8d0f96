"""Channel sync and the low-stock watch: read the outbox, push quantities, record events.

The sync is two activities so a crash mid-batch neither loses nor doubles an update:

1. ``read_channel_batch`` fixes the batch (SKUs, their newest outbox ids, the position to
   move to) and returns it into the workflow's history.
2. ``push_channel_batch`` pushes each SKU whose channel quantity differs from the last one
   the channel accepted, with a key made from the batch, records each accepted push, and
   only then moves the cursor. A retry re-sends the same keys for what was not recorded
   (the channel answers a repeat with its first answer) and skips what was.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain import names
from domain.channels import (
    CHANNEL_REJECTED,
    ChannelBatch,
    ChannelBatchRequest,
    ChannelPushResult,
    LowStockCheckRequest,
    LowStockCheckResult,
    OutboxPosition,
    OutboxPruneRequest,
    OutboxPruneResult,
    channel_quantity,
    coalesce,
    push_key,
)
from integrations.channels import ChannelFactory, ChannelRejected, ChannelUnavailable
from store import channels as repo
from store import low_stock, outbox, outbox_retention
from store.tables import StockEvent

log = logging.getLogger(__name__)


class ChannelSyncActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], factory: ChannelFactory) -> None:
        self.sessions = sessions
        self.factory = factory

    @activity.defn(name=names.READ_CHANNEL_BATCH)
    async def read_channel_batch(self, req: ChannelBatchRequest) -> ChannelBatch:
        async with self.sessions() as session:
            channel = await repo.get_channel(session, req.channel)
            cursor = await repo.cursor_of(session, req.channel)
            if channel is None or not channel.active:
                return ChannelBatch(channel=req.channel, active=False, after=cursor, upto=cursor)
            rows = await outbox.read_after(session, cursor, req.limit)
            upto = OutboxPosition(txid=rows[-1][0], id=rows[-1][1]) if rows else cursor
            full = len(rows) >= req.limit
            unsettled = not full and await outbox.unsettled_after(session, upto)
        return ChannelBatch(
            channel=req.channel,
            active=True,
            after=cursor,
            upto=upto,
            changes=coalesce((i, sku) for _, i, sku in rows),
            full=full,
            unsettled=unsettled,
        )

    @activity.defn(name=names.PUSH_CHANNEL_BATCH)
    async def push_channel_batch(self, batch: ChannelBatch) -> ChannelPushResult:
        """Push the batch's changed quantities, then move the cursor past the batch.

        Raises:
            ApplicationError: non-retryable ``ChannelRejected`` when the channel refuses us
                as a whole (credentials, configuration); the cursor stays put, so nothing
                is lost once it is fixed. Transient failures raise retryable errors.
        """
        result = ChannelPushResult(channel=batch.channel, cursor=batch.after)
        async with self.sessions() as session:
            channel = await repo.get_channel(session, batch.channel)
            if channel is None or not channel.active:
                return result  # removed meanwhile; the next read ends the workflow
            adapter = self.factory.adapter(channel.code, channel.kind, channel.config)
            changes = [c for c in batch.changes if adapter.sells(c.sku)]
            result.skipped = len(batch.changes) - len(changes)
            skus = [c.sku for c in changes]
            totals = await outbox.total_available(session, skus)
            accepted = await repo.last_pushed(session, batch.channel, skus)

        for change in changes:
            activity.heartbeat(change.sku)
            qty = channel_quantity(totals.get(change.sku, 0), channel.safety_buffer)
            if accepted.get(change.sku) == qty:
                result.unchanged += 1
                continue
            key = push_key(channel.code, change.sku, change.outbox_id, qty)
            try:
                await adapter.set_available(sku=change.sku, available=qty, idempotency_key=key)
            except ChannelRejected as exc:
                if exc.channel_wide:
                    raise ApplicationError(
                        str(exc), type="ChannelRejected", non_retryable=True
                    ) from exc
                # This SKU's update can never succeed as sent: record it for ops, go on
                # with the rest. Not in channel_pushes, so its next change tries again.
                await self._record_rejection(channel.code, change.sku, qty, exc)
                result.rejected.append(change.sku)
                continue
            except ChannelUnavailable as exc:
                raise ApplicationError(
                    str(exc), type="ChannelUnavailable", next_retry_delay=exc.retry_after
                ) from exc
            async with self.sessions.begin() as session:
                await repo.record_push(
                    session,
                    channel=channel.code,
                    sku=change.sku,
                    available=qty,
                    idempotency_key=key,
                )
            result.pushed += 1

        async with self.sessions.begin() as session:
            result.advanced = await repo.advance_cursor(
                session, batch.channel, batch.after, batch.upto
            )
        result.cursor = batch.upto
        return result

    async def _record_rejection(
        self, channel: str, sku: str, qty: int, exc: ChannelRejected
    ) -> None:
        log.warning("channel %s rejected %s: %s", channel, sku, exc)
        async with self.sessions.begin() as session:
            session.add(
                StockEvent(
                    sku=sku,
                    type=CHANNEL_REJECTED,
                    detail={
                        "channel": channel,
                        "available": qty,
                        "status": exc.status,
                        "error": str(exc)[:500],
                    },
                )
            )


class LowStockActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn(name=names.CHECK_LOW_STOCK)
    async def check_low_stock(self, req: LowStockCheckRequest) -> LowStockCheckResult:
        """Evaluate the SKUs of the next outbox rows; events and cursor commit together."""
        async with self.sessions.begin() as session:
            return await low_stock.check_batch(session, req.limit)


class OutboxActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn(name=names.PRUNE_OUTBOX)
    async def prune_outbox(self, req: OutboxPruneRequest) -> OutboxPruneResult:
        """One batch of rows every reader is done with (idempotent: a retry deletes what
        is left)."""
        async with self.sessions.begin() as session:
            deleted = await outbox_retention.prune(
                session, keep=timedelta(hours=req.keep_hours), batch=req.limit
            )
        if deleted:
            log.info("outbox: pruned %d rows", deleted)
        return OutboxPruneResult(deleted=deleted)
