"""The stuck-order watchdog (a Temporal Schedule) finds what an SLA timer cannot: an
order workflow whose activity keeps failing and one whose workflow tasks keep failing
(a bad deploy). Both are marked with their reason (``/api/v1/ops/stuck``, ``/ops``,
``oms_orders_stuck{reason}``), and cleared once fixed.

The two workflows are real executions of type ``OrderWorkflow`` on a task queue of the
test's own, so the watchdog lists them through visibility like any order.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import Client, ScheduleIntervalSpec, ScheduleOverlapPolicy
from temporalio.worker import Worker

from domain import names
from oms.background import ensure_watchdog_schedule, run_watchdog_sweep
from oms.settings import Settings
from tests.api.conftest import KeyMaker
from tests.api.dashboard_helpers import sign_in
from tests.api.injected import BROKEN, InjectedOrder, injected_dependency


@pytest.fixture
async def injected_queue(client: Client) -> AsyncIterator[str]:
    queue = f"watchdog-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client, task_queue=queue, workflows=[InjectedOrder], activities=[injected_dependency]
    ):
        yield queue


async def stuck_rows(http: httpx.AsyncClient, ops: dict[str, str]) -> dict[str, dict[str, Any]]:
    r = await http.get("/api/v1/ops/stuck", headers=ops)
    assert r.status_code == 200, r.text
    return {row["order_id"]: row for row in r.json()}


def gauge(text: str, reason: str) -> float:
    prefix = f'oms_orders_stuck{{reason="{reason}",step=""}} '
    line = next(ln for ln in text.splitlines() if ln.startswith(prefix))
    return float(line[len(prefix) :])


async def test_watchdog_marks_failing_workflows_and_clears_them_once_fixed(
    client: Client,
    worker: Any,
    injected_queue: str,
    settings: Settings,
    http: httpx.AsyncClient,
    make_key: KeyMaker,
) -> None:
    ops = await make_key("ops")
    tuned = settings.model_copy(
        update={
            "watchdog_activity_attempts": 3,
            "watchdog_task_attempts": 2,
            # The test runs the sweeps itself, not on the clock.
            "watchdog_every_seconds": 3600.0,
        }
    )
    await ensure_watchdog_schedule(client, tuned)
    schedule = client.get_schedule_handle(names.STUCK_WATCHDOG_SCHEDULE_ID)
    described = await schedule.describe()
    assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert described.schedule.spec.intervals == [ScheduleIntervalSpec(every=timedelta(hours=1))]

    BROKEN.update(activity=True, task=True)
    tag = uuid.uuid4().hex[:8].upper()
    failing_activity, failing_task = f"WDA{tag}", f"WDT{tag}"
    handles = [
        await client.start_workflow(
            InjectedOrder.run,
            mode,
            id=names.order_workflow_id(order_id),
            task_queue=injected_queue,
        )
        for order_id, mode in ((failing_activity, "activity"), (failing_task, "task"))
    ]

    async def sweep_until(check: Any) -> dict[str, dict[str, Any]]:
        for _ in range(120):
            # The sweep the Schedule runs, under the test's own id and waited for: the
            # shared Schedule may point at another stack's queue (run_watchdog_sweep).
            await run_watchdog_sweep(client, tuned)
            rows = await stuck_rows(http, ops)
            if check(rows):
                return rows
        raise AssertionError(f"the watchdog never got there: {rows}")

    try:
        rows = await sweep_until(lambda rows: {failing_activity, failing_task} <= rows.keys())
        act, task = rows[failing_activity], rows[failing_task]
        assert (act["reason"], act["source"]) == ("activity_failing", "watchdog")
        assert "injected_dependency attempt" in act["detail"]
        assert "the dependency is down (injected)" in act["detail"]
        assert (task["reason"], task["source"]) == ("workflow_task_failing", "watchdog")
        assert "workflow task attempt" in task["detail"]

        metrics = (await http.get("/metrics")).text
        assert gauge(metrics, "activity_failing") >= 1
        assert gauge(metrics, "workflow_task_failing") >= 1
        async with sign_in(http, ops) as browser:
            page = await browser.get("/ops")
        assert page.status_code == 200
        shown = page.text[page.text.index('id="watchdog"') :]
        assert failing_activity in shown and "the dependency is down (injected)" in shown

        # Fixed: the dependency is back and the good build is deployed.
        BROKEN.update(activity=False, task=False)
        rows = await sweep_until(lambda rows: not ({failing_activity, failing_task} & rows.keys()))
        # Both moved on: the activity completed, the task ran; neither waits on anything.
        for h in handles:
            desc = (await h.describe()).raw_description
            assert not desc.pending_activities and not desc.HasField("pending_workflow_task")
    finally:
        BROKEN.update(activity=False, task=False)
        for h in handles:
            with contextlib.suppress(Exception):  # already closed
                await h.terminate("test over")
