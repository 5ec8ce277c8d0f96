"""The SLA watchdog: a task beside the order's run that marks the order stuck when its
current template step outlives its SLA, and clears it once the step is done.

A breach does not fail or alter the order: it is an event, the ``Stuck`` search
attribute, the projection's ``stuck`` flag (the ops view and the metric).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow

from domain.floor import FLOOR_STEPS
from domain.models import StuckInfo
from domain.templates import Step
from workflows import patches
from workflows.fulfillment import FulfillmentWorkflow
from workflows.order.journal import STUCK, Journal
from workflows.order.shipments import Shipments
from workflows.order.state import OrderData
from workflows.order.steps import StepClock
from workflows.order.stuck import StuckFlags

#: While a floor step is over its SLA, how often the order looks at the floor again.
FLOOR_RECHECK = timedelta(minutes=5)


class SlaWatchdog:
    def __init__(
        self,
        data: OrderData,
        steps: StepClock,
        journal: Journal,
        stuck: StuckFlags,
        shipments: Shipments,
    ) -> None:
        self.data = data
        self.steps = steps
        self.journal = journal
        self.stuck = stuck
        self.shipments = shipments
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.steps.note()
        self.task = asyncio.create_task(self._watch())

    async def stopped(self) -> None:
        """Wait for the watchdog to end. It may be clearing a breach right now (its
        projection write is a local activity): the workflow must not complete first."""
        if self.task is not None:
            await self.task

    async def _watch(self) -> None:
        steps = self.steps
        while True:
            steps.note()
            step = steps.current()
            if step is None:
                return
            sla = timedelta(seconds=self.data.plan.sla(step) or 0)
            due = steps.started[step] + sla
            left = due - workflow.now()
            if left > timedelta(0):
                try:
                    await workflow.wait_condition(steps.past(step), timeout=left)
                    continue
                except TimeoutError:
                    pass
            on_floor = step in FLOOR_STEPS and self.data.gen >= patches.FLOOR_GENERATION
            if on_floor:
                await self.shipments.refresh_floor()
                if steps.past(step)():
                    continue
            await self._breach(step, due, sla, on_floor)
            while True:
                try:
                    await workflow.wait_condition(
                        steps.past(step), timeout=FLOOR_RECHECK if on_floor else None
                    )
                    break
                except TimeoutError:
                    await self.shipments.refresh_floor()
            if self.data.stuck.step is not None:
                await self.stuck.clear_step()

    async def _breach(self, step: Step, due: datetime, sla: timedelta, on_floor: bool) -> None:
        """Mark the order stuck on ``step``; on the floor, the shipments are asked to say
        when they finish it (the recheck is a backstop)."""
        sla_seconds = int(sla.total_seconds())
        self.steps.breached.add(step)
        self.data.stuck.step = StuckInfo(step=step.value, since=due, sla_seconds=sla_seconds)
        self.journal.event("stuck", step=step.value, sla_seconds=sla_seconds)
        workflow.upsert_search_attributes([STUCK.value_set(True)])
        await self.journal.flush()
        if on_floor:
            for child in self.data.running_children(live_only=True):
                await child.signal(FulfillmentWorkflow.watch_floor, step.value)
