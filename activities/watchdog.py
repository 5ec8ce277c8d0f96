"""The stuck-order watchdog's sweep: list the open order and shipment workflows through
visibility, describe each (pending workflow task and activity attempts, last failure),
read their orders' last progress from the read model, and write the marks.

Runs from ``StuckWatchdogWorkflow`` (a Schedule every minute): the order workflows need
no change, and a workflow whose own tasks fail is still seen from here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError

from domain import names
from domain.watchdog import (
    PendingActivity,
    StuckVerdict,
    WatchdogInput,
    WatchdogSweep,
    WorkflowFacts,
    judge,
    order_id_of,
    worst_per_order,
)
from store import watchdog as marks

log = logging.getLogger(__name__)

#: The open workflows that carry an order: the order's own and its shipments'.
OPEN_ORDERS_QUERY = (
    "ExecutionStatus = 'Running' AND "
    "(WorkflowType = 'OrderWorkflow' OR WorkflowType = 'FulfillmentWorkflow')"
)


def utc_now() -> datetime:
    return datetime.now(UTC)


class WatchdogActivities:
    def __init__(
        self,
        client: Client,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.client = client
        self.sessions = sessions
        self.clock = clock

    async def _facts(self, workflow_id: str, run_id: str | None) -> WorkflowFacts | None:
        order_id = order_id_of(workflow_id)
        if order_id is None:
            return None
        try:
            desc = await self.client.get_workflow_handle(workflow_id, run_id=run_id).describe()
        except RPCError as exc:  # closed between the listing and now: nothing to mark
            log.debug("watchdog: describe %s: %s", workflow_id, exc)
            return None
        raw = desc.raw_description
        task = raw.pending_workflow_task if raw.HasField("pending_workflow_task") else None
        return WorkflowFacts(
            workflow_id=workflow_id,
            order_id=order_id,
            task_attempt=task.attempt if task is not None else 0,
            activities=[
                PendingActivity(
                    activity_type=a.activity_type.name,
                    attempt=a.attempt,
                    last_failure=a.last_failure.message if a.HasField("last_failure") else None,
                )
                for a in raw.pending_activities
            ],
        )

    @activity.defn(name=names.SWEEP_STUCK_ORDERS)
    async def sweep_stuck_orders(self, inp: WatchdogInput) -> WatchdogSweep:
        listed: list[tuple[str, str | None]] = []
        async for wf in self.client.list_workflows(OPEN_ORDERS_QUERY):
            listed.append((wf.id, wf.run_id))
            if len(listed) >= inp.max_workflows:
                break
        complete = len(listed) < inp.max_workflows
        gate = asyncio.Semaphore(inp.concurrency)

        async def look(workflow_id: str, run_id: str | None) -> WorkflowFacts | None:
            async with gate:
                return await self._facts(workflow_id, run_id)

        found = [f for f in await asyncio.gather(*(look(i, r) for i, r in listed)) if f]
        activity.heartbeat(len(found))
        async with self.sessions() as session:
            progress = await marks.progress_of(session, {f.order_id for f in found})
        now = self.clock()
        verdicts: list[StuckVerdict] = []
        for facts in found:
            seen = progress.get(facts.order_id)
            if seen is not None:
                facts.last_progress, facts.largest_sla_seconds, facts.sla_stuck = seen
            verdict = judge(facts, inp, now)
            if verdict is not None:
                verdicts.append(verdict)
        stuck = worst_per_order(verdicts)
        async with self.sessions.begin() as session:
            cleared = await marks.write_marks(
                session, stuck, {f.order_id for f in found}, now, complete=complete
            )
        by_reason: dict[str, int] = {}
        for v in stuck.values():
            by_reason[v.reason.value] = by_reason.get(v.reason.value, 0) + 1
        if stuck or cleared:
            log.info("watchdog: %d stuck %s, %d cleared", len(stuck), by_reason, cleared)
        return WatchdogSweep(listed=len(listed), marked=by_reason, cleared=cleared)
