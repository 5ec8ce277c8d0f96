"""A worker process SIGKILLed mid-activity, then replaced: the order still completes, once.

The worker here is the real ``oms worker`` command in its own process (env-configured, as in
production), on a task queue of its own so the session's in-process worker never steals its
tasks. The sandbox payment gateway and carrier get a latency of about a second, so the kill
lands while ``capture_payment`` / ``buy_label`` is running.

A killed worker's activity is retried only when its ``start_to_close_timeout`` expires
(30 s for external calls, ``workflows/policies.py``; no heartbeat timeout is set), so each
test spends about 30 s waiting for the server to notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import (
    Client,
    Schedule,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowHandle,
)
from temporalio.service import RPCError

from domain import names
from domain.models import PackInput, ScanInput, TrackingEvent
from domain.names import fulfillment_workflow_id
from domain.status import FinancialStatus, LabelStatus, OrderStatus, TrackingStatus
from store import inventory
from store.tables import (
    LabelLedger,
    Notification,
    OrderEventRow,
    PaymentLedger,
    Reservation,
    SandboxOperation,
)
from tests.conftest import Catalog, terminate_running
from tests.workflows.helpers import eventually, order_input, pack_shipped, start_order
from workflows.fulfillment import FulfillmentWorkflow

pytestmark = pytest.mark.slow

Sessions = async_sessionmaker[AsyncSession]
ROOT = Path(__file__).resolve().parents[2]
#: Slow enough that a kill lands mid-call; JSON is how pydantic-settings reads a tuple.
SLOW = "[800,1200]"
FAST = "[1,5]"


class WorkerProcess:
    """``python -m oms.cli worker`` for one task queue; killed hard, never politely."""

    def __init__(self, database_url: str, address: str, queue: str, log_dir: Path) -> None:
        self.database_url, self.address, self.queue, self.log_dir = (
            database_url,
            address,
            queue,
            log_dir,
        )
        self.procs: list[asyncio.subprocess.Process] = []

    async def start(self, latency: str) -> asyncio.subprocess.Process:
        env = {
            **os.environ,
            "OMS_DATABASE_URL": self.database_url,
            "TEMPORAL_ADDRESS": self.address,
            "TEMPORAL_NAMESPACE": "default",
            "OMS_TASK_QUEUE": self.queue,
            "OMS_SANDBOX_LATENCY_MS": latency,
            "OMS_SANDBOX_FAILURE_RATE": "0",
        }
        env.pop("OMS_WORKER_METRICS_PORT", None)
        log = (self.log_dir / f"worker-{len(self.procs)}.log").open("wb")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "oms.cli",
            "worker",
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        log.close()  # the child has its own copy of the descriptor
        self.procs.append(proc)
        return proc

    @staticmethod
    async def kill(proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
        await proc.wait()

    async def kill_all(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                await self.kill(proc)


@pytest.fixture
async def worker_process(
    database_url: str, client: Client, tmp_path: Path
) -> AsyncIterator[WorkerProcess]:
    """The worker command starts the standing workflows (channel syncs, the low-stock
    watch) on its queue and points the outbox-prune and stuck-watchdog Schedules there:
    afterwards everything left on that queue is terminated and the Schedules are put back
    as they were (left pointing at a queue nobody polls, the next tick would start a run
    that never ends, and the overlap-skip policy would skip every run after it)."""
    wp = WorkerProcess(
        database_url,
        client.service_client.config.target_host,
        f"crash-{uuid.uuid4().hex[:8]}",
        tmp_path,
    )
    schedules = [
        client.get_schedule_handle(schedule_id)
        for schedule_id in (names.OUTBOX_PRUNE_SCHEDULE_ID, names.STUCK_WATCHDOG_SCHEDULE_ID)
    ]
    before: list[Schedule | None] = []
    for handle in schedules:
        try:
            before.append((await handle.describe()).schedule)
        except RPCError:
            before.append(None)
    try:
        yield wp
    finally:
        await wp.kill_all()
        for handle, was in zip(schedules, before, strict=True):
            if was is None:
                with contextlib.suppress(RPCError):
                    await handle.delete()
            else:
                await handle.update(functools.partial(put_back, was))
        await terminate_running(client, wp.queue)


def put_back(schedule: Schedule, _: ScheduleUpdateInput) -> ScheduleUpdate:
    return ScheduleUpdate(schedule=schedule)


async def started_activity(handle: WorkflowHandle[Any, Any], activity_type: str) -> bool:
    desc = await handle.describe()
    return any(
        p.activity_type.name == activity_type
        and p.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        for p in desc.raw_description.pending_activities
    )


async def completed_attempts(handle: WorkflowHandle[Any, Any], activity_type: str) -> list[int]:
    """The attempt number that completed each scheduled ``activity_type`` in the history."""
    history = await handle.fetch_history()
    scheduled = {
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == activity_type
    }
    return [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.scheduled_event_id in scheduled
    ]


async def child_handle(client: Client, order_id: str) -> WorkflowHandle[Any, Any]:
    fh = client.get_workflow_handle(fulfillment_workflow_id(f"{order_id}-1"))

    async def running() -> bool:
        try:
            await fh.describe()
        except RPCError:
            return False
        return True

    await eventually(running, within=60)
    return fh


async def pick_all(fh: WorkflowHandle[Any, Any], lines: list[tuple[str, int]]) -> None:
    for sku, qty in lines:
        for i in range(qty):
            r = await fh.execute_update(
                FulfillmentWorkflow.scan, ScanInput(scan_id=f"{sku}-{i}", sku=sku)
            )
            assert r.accepted


async def deliver(fh: WorkflowHandle[Any, Any], number: str) -> None:
    for status in (TrackingStatus.IN_TRANSIT, TrackingStatus.DELIVERED):
        await fh.signal(
            FulfillmentWorkflow.track,
            TrackingEvent(tracking_number=number, status=status, occurred_at=datetime.now(UTC)),
        )


async def count(sessions: Sessions, stmt: Any) -> int:
    async with sessions() as s:
        return int(await s.scalar(stmt) or 0)


async def assert_effects_once(
    sessions: Sessions, cat: Catalog, order_id: str, lines: list[tuple[str, int]], captures: int
) -> None:
    """One capture (or none), one label, one committed reservation per line, stock out once."""
    async with sessions() as s:
        payments = (
            await s.execute(
                select(PaymentLedger.kind, PaymentLedger.status).where(
                    PaymentLedger.order_id == order_id
                )
            )
        ).all()
        labels = (
            await s.execute(
                select(LabelLedger.idempotency_key, LabelLedger.status).where(
                    LabelLedger.order_id == order_id
                )
            )
        ).all()
        reservations = (
            await s.execute(
                select(Reservation.sku, Reservation.quantity, Reservation.status).where(
                    Reservation.order_id == order_id
                )
            )
        ).all()
        sandbox = (
            await s.execute(
                select(SandboxOperation.service, func.count())
                .where(SandboxOperation.idempotency_key.like(f"%-{order_id}%"))
                .group_by(SandboxOperation.service)
            )
        ).all()
        notified = (
            await s.scalars(select(Notification.milestone).where(Notification.order_id == order_id))
        ).all()
        events = (
            await s.scalars(select(OrderEventRow.type).where(OrderEventRow.order_id == order_id))
        ).all()
        levels = {lv.sku: lv for lv in await inventory.levels(s, warehouse=cat.warehouses[0])}
    assert sorted(payments) == [("capture", "succeeded")] * captures
    assert [status for _, status in labels] == ["purchased"]
    assert sorted(reservations) == sorted((sku, q, "committed") for sku, q in lines)
    # The remote side too: the gateway and the carrier each acted once per effect.
    assert dict(sandbox) == ({"payments": 1} if captures else {}) | {"carrier": 1}
    assert sorted(notified) == ["confirmed", "delivered", "shipped"]
    assert events.count("payment_captured") == captures
    assert events.count("label_purchased") == 1
    assert events.count("shipped") == 1
    for sku, q in lines:
        assert (levels[sku].on_hand, levels[sku].reserved) == (10 - q, 0)


async def test_worker_killed_during_capture_completes_with_one_capture(
    client: Client,
    sessions: Sessions,
    make_catalog: Callable[..., Awaitable[Catalog]],
    worker_process: WorkerProcess,
) -> None:
    cat = await make_catalog()
    lines = [(cat.skus[0], 2), (cat.skus[1], 1)]
    order = order_input(lines, financial_status=FinancialStatus.AUTHORIZED)
    first = await worker_process.start(SLOW)
    handle = await start_order(client, order, worker_process.queue)

    # The ledger row is written before the gateway is called: the capture is in flight.
    pending = (
        select(func.count())
        .select_from(PaymentLedger)
        .where(PaymentLedger.order_id == order.order_id, PaymentLedger.status == "pending")
    )
    await eventually(lambda: count(sessions, pending), within=30, interval=0.02)
    await worker_process.kill(first)
    assert await started_activity(handle, "capture_payment")

    await worker_process.start(FAST)
    fh = await child_handle(client, order.order_id)
    await pick_all(fh, lines)
    weight = 2 * cat.weights[cat.skus[0]] + cat.weights[cat.skus[1]]
    packed = await pack_shipped(fh, PackInput(weight_grams=weight))
    await deliver(fh, packed.tracking.number)
    final = await handle.result()

    assert final.status == OrderStatus.DELIVERED
    assert final.payment == "captured"
    # The capture really was interrupted: attempt 1 died with the worker, attempt 2 finished.
    assert await completed_attempts(handle, "capture_payment") == [2]
    await assert_effects_once(sessions, cat, order.order_id, lines, captures=1)


async def test_worker_killed_during_buy_label_ships_one_label(
    client: Client,
    sessions: Sessions,
    make_catalog: Callable[..., Awaitable[Catalog]],
    worker_process: WorkerProcess,
) -> None:
    cat = await make_catalog()
    lines = [(cat.skus[0], 1), (cat.skus[1], 2)]
    order = order_input(lines)  # paid at checkout: nothing to capture
    first = await worker_process.start(SLOW)
    handle = await start_order(client, order, worker_process.queue)
    fh = await child_handle(client, order.order_id)
    await pick_all(fh, lines)
    weight = cat.weights[cat.skus[0]] + 2 * cat.weights[cat.skus[1]]
    # The packer's request is answered at once (the label follows); the worker dies
    # while the label is being bought.
    first_answer = await fh.execute_update(FulfillmentWorkflow.pack, PackInput(weight_grams=weight))
    assert first_answer.label_status == LabelStatus.PENDING
    await eventually(lambda: started_activity(fh, "buy_label"), within=30, interval=0.02)
    await worker_process.kill(first)

    await worker_process.start(FAST)
    # The new worker buys it; packing again answers the current state, never a 2nd label.
    packed = await pack_shipped(fh, PackInput(weight_grams=weight))
    again = await fh.execute_update(FulfillmentWorkflow.pack, PackInput(weight_grams=weight))
    assert again.label_status == LabelStatus.READY
    assert again.tracking == packed.tracking
    await deliver(fh, packed.tracking.number)
    final = await handle.result()

    assert final.status == OrderStatus.DELIVERED
    assert [s.tracking for s in final.shipments] == [packed.tracking]
    assert await completed_attempts(fh, "buy_label") == [2]
    await assert_effects_once(sessions, cat, order.order_id, lines, captures=0)
