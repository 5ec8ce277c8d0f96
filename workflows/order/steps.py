"""The order's template steps: which one it is on, when each started and finished.

The steps and their SLAs are fixed at intake (``OrderData.plan``); this clock only reads
the order to tell how far it got. The SLA watchdog (``sla.py``) waits on it; the read
model and the ``details`` query show its ``views``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow

from domain.floor import FLOOR_STEPS
from domain.models import StepView
from domain.status import (
    PACKED_OR_LATER,
    PAYMENT_TAKEN,
    SHIPMENT_SHIPPED_OR_LATER,
    OrderStatus,
)
from domain.templates import Step
from workflows.order.state import OrderData


class StepClock:
    def __init__(self, data: OrderData) -> None:
        self.data = data
        self.started: dict[Step, datetime] = {}
        self.done: dict[Step, datetime] = {}
        #: Steps that outlived their SLA at some point (the step views show it).
        self.breached: set[Step] = set()

    def done_now(self, step: Step) -> bool:
        """Whether the order has got past ``step`` (every live shipment, for floor steps)."""
        data = self.data
        if step == Step.VERIFY:
            return data.verified
        if step == Step.PAY:
            return data.payment in PAYMENT_TAKEN
        if step == Step.ALLOCATE:
            return data.allocated
        live = data.live()
        if not live:
            return False
        if step in FLOOR_STEPS and all(
            v.status in PACKED_OR_LATER or step.value in v.steps_done for v in live
        ):
            return True
        if step == Step.PICK:
            return all(
                v.status in PACKED_OR_LATER or all(ln.picked >= ln.quantity for ln in v.lines)
                for v in live
            )
        if step == Step.PACKAGING_CHECK:
            return all(v.status in PACKED_OR_LATER or v.packaging_checked for v in live)
        if step == Step.PACK_VERIFICATION:
            return all(
                v.status in PACKED_OR_LATER or all(ln.verified >= ln.quantity for ln in v.lines)
                for v in live
            )
        if step == Step.PACK:
            return all(v.status in PACKED_OR_LATER for v in live)
        return all(v.status in SHIPMENT_SHIPPED_OR_LATER for v in live)  # SHIP

    def current(self) -> Step | None:
        """The first step of the template not done yet (None: all done or order ended)."""
        if self.data.finished or self.data.status in (OrderStatus.CANCELLED, OrderStatus.FAILED):
            return None
        for planned in self.data.plan.steps:
            if planned.step not in self.done and not self.done_now(planned.step):
                return planned.step
        return None

    def past(self, step: Step) -> Callable[[], bool]:
        """A condition for ``workflow.wait_condition``: the order moved on from ``step``."""
        return lambda: self.current() != step

    def note(self) -> None:
        """Stamp when steps completed and when the current one started."""
        current = self.current()
        now = workflow.now()
        for planned in self.data.plan.steps:
            if planned.step == current:
                self.started.setdefault(planned.step, now)
                break
            if planned.step not in self.done and (
                current is not None or self.done_now(planned.step)
            ):
                done = self._floor_done_at(planned.step) or now
                self.started.setdefault(planned.step, done)
                self.done[planned.step] = done

    def _floor_done_at(self, step: Step) -> datetime | None:
        """When the last live shipment finished a floor step, if every one says so."""
        if step not in FLOOR_STEPS:
            return None
        times = [v.steps_done.get(step.value) for v in self.data.live()]
        if not times or any(t is None for t in times):
            return None
        return max(t for t in times if t is not None)

    def views(self) -> list[StepView]:
        current = self.current()
        views = []
        for planned in self.data.plan.steps:
            started = self.started.get(planned.step)
            done = self.done.get(planned.step)
            views.append(
                StepView(
                    step=planned.step.value,
                    state="done" if done else ("active" if planned.step == current else "pending"),
                    sla_seconds=planned.sla_seconds,
                    added_by=planned.added_by,
                    started_at=started,
                    completed_at=done,
                    due_at=started + timedelta(seconds=planned.sla_seconds) if started else None,
                    breached=planned.step in self.breached,
                )
            )
        return views
