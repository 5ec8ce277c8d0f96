"""The ``outbox-prune`` Schedule end to end: created (and brought up to date) at worker
start, it runs ``OutboxPruneWorkflow``, whose activity deletes the rows every reader is
done with, here in a database of its own with a worker of its own."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, ScheduleActionStartWorkflow, ScheduleHandle
from temporalio.service import RPCError

from domain import names
from oms.background import ensure_outbox_prune_schedule
from oms.settings import Settings
from store.inventory import note_change
from store.low_stock import WATCH_CONSUMER
from store.tables import InventoryOutbox, OutboxCursor
from tests.api.helpers import eventually
from tests.conftest import scratch_sessions
from workers.worker import build_worker

QUEUE = "oms-test-outbox-prune"


@pytest.fixture
async def prune_db(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with scratch_sessions(database_url, "oms_prune") as sessions:
        yield sessions


@pytest.fixture
async def schedule(client: Client) -> AsyncIterator[ScheduleHandle]:
    handle = client.get_schedule_handle(names.OUTBOX_PRUNE_SCHEDULE_ID)
    yield handle
    with contextlib.suppress(RPCError):  # never created: the test failed before
        await handle.delete()


async def test_the_schedule_prunes_what_every_reader_is_done_with(
    client: Client,
    settings: Settings,
    prune_db: async_sessionmaker[AsyncSession],
    schedule: ScheduleHandle,
) -> None:
    # Three old rows and one recent; the watch (the only reader here) has read them all.
    ids = []
    for sku in ("A", "B", "C", "D"):
        async with prune_db.begin() as s:
            note_change(s, sku, "WH")
        async with prune_db() as s:
            ids.append(int(await s.scalar(select(func.max(InventoryOutbox.id))) or 0))
    async with prune_db.begin() as s:
        await s.execute(
            update(InventoryOutbox)
            .where(InventoryOutbox.id.in_(ids[:3]))
            .values(created_at=func.now() - timedelta(days=2))
        )
        last = await s.get(InventoryOutbox, ids[-1])
        assert last is not None
        s.add(OutboxCursor(consumer=WATCH_CONSUMER, last_txid=last.txid, last_id=last.id))

    hourly = settings.model_copy(update={"outbox_prune_minutes": 60.0})
    await ensure_outbox_prune_schedule(client, settings, task_queue=QUEUE)
    await ensure_outbox_prune_schedule(client, hourly, task_queue=QUEUE)  # exists: updated
    described = await schedule.describe()
    assert described.schedule.spec.intervals[0].every == timedelta(minutes=60)
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == "OutboxPruneWorkflow" and action.task_queue == QUEUE

    worker = build_worker(client, prune_db, settings, task_queue=QUEUE)
    async with worker:
        await schedule.trigger()

        async def pruned() -> list[int] | None:
            async with prune_db() as s:
                left = sorted(
                    await s.scalars(select(InventoryOutbox.id).where(InventoryOutbox.id.in_(ids)))
                )
            return left if left == ids[3:] else None

        assert await eventually(pruned, attempts=600) == ids[3:]  # the recent row stays
        # This test's run: a Schedule another test pointed elsewhere may have left runs.
        query = f"WorkflowType = 'OutboxPruneWorkflow' AND TaskQueue = '{QUEUE}'"
        runs = [r async for r in client.list_workflows(query)]
        assert runs
        result = await client.get_workflow_handle(runs[0].id, run_id=runs[0].run_id).result()
        assert result == 3
