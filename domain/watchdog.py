"""The stuck-order watchdog's rules: which open order (or shipment) workflow is stuck for
a reason its own SLA timer cannot see, and why. Pure: the activity gathers the facts
(Temporal's describe, the read model), this decides.

See docs/decisions/0010-analytics-reads-and-the-stuck-watchdog.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field


class WatchReason(StrEnum):
    """Why the watchdog marked an order stuck (``oms_orders_stuck{reason}``)."""

    #: Workflow tasks keep failing: a bug, or a non-determinism error after a bad deploy.
    WORKFLOW_TASK_FAILING = "workflow_task_failing"
    #: An activity keeps failing (a dependency down, a bad row): attempt ≥ N.
    ACTIVITY_FAILING = "activity_failing"
    #: Nothing written for longer than the largest SLA of the order's steps.
    NO_PROGRESS = "no_progress"


class WatchdogInput(BaseModel):
    """One sweep (started by the ``stuck-watchdog`` Schedule every minute)."""

    #: A pending activity at this attempt or later is "failing".
    activity_attempts: int = Field(default=5, ge=2)
    #: A pending workflow task at this attempt or later is "failing".
    task_attempts: int = Field(default=3, ge=2)
    #: Workflows described at once (each is one RPC to the frontend).
    concurrency: int = Field(default=16, ge=1)
    #: At most this many open workflows are looked at per sweep (the oldest first).
    max_workflows: int = Field(default=5000, ge=1)


class WatchdogSweep(BaseModel):
    """What one sweep saw and did."""

    listed: int
    marked: dict[str, int] = Field(default_factory=dict)
    cleared: int = 0


class PendingActivity(BaseModel):
    activity_type: str
    attempt: int
    last_failure: str | None = None


class WorkflowFacts(BaseModel):
    """What the watchdog knows of one open workflow."""

    workflow_id: str
    order_id: str
    task_attempt: int = 0
    activities: list[PendingActivity] = Field(default_factory=list)
    #: The read model's last write for the order (None: no row yet).
    last_progress: datetime | None = None
    #: The largest SLA of the order's template steps (None: unknown).
    largest_sla_seconds: int | None = None
    #: Already marked stuck by its own SLA timer (the SLA alert covers it).
    sla_stuck: bool = False


class StuckVerdict(BaseModel):
    order_id: str
    workflow_id: str
    reason: WatchReason
    detail: str


def order_id_of(workflow_id: str) -> str | None:
    """``order-<id>`` → ``<id>``; ``ful-<id>-<n>`` (a shipment of the order) → ``<id>``."""
    if workflow_id.startswith("order-"):
        return workflow_id[len("order-") :] or None
    if workflow_id.startswith("ful-"):
        shipment = workflow_id[len("ful-") :]
        order, sep, n = shipment.rpartition("-")
        return order if sep and order and n.isdigit() else None
    return None


def judge(facts: WorkflowFacts, inp: WatchdogInput, now: datetime) -> StuckVerdict | None:
    """The most telling reason this workflow is stuck, or None.

    A failing workflow task first (nothing else can move while it fails), then the
    activity with the most attempts, then no progress for longer than the largest SLA.
    """

    def verdict(reason: WatchReason, detail: str) -> StuckVerdict:
        return StuckVerdict(
            order_id=facts.order_id, workflow_id=facts.workflow_id, reason=reason, detail=detail
        )

    if facts.task_attempt >= inp.task_attempts:
        return verdict(
            WatchReason.WORKFLOW_TASK_FAILING,
            f"{facts.workflow_id}: workflow task attempt {facts.task_attempt}",
        )
    failing = [a for a in facts.activities if a.attempt >= inp.activity_attempts]
    if failing:
        worst = max(failing, key=lambda a: a.attempt)
        detail = f"{facts.workflow_id}: {worst.activity_type} attempt {worst.attempt}"
        if worst.last_failure:
            detail += f": {worst.last_failure}"
        return verdict(WatchReason.ACTIVITY_FAILING, detail[:500])
    if (
        not facts.sla_stuck
        and facts.last_progress is not None
        and facts.largest_sla_seconds is not None
        and now - facts.last_progress > timedelta(seconds=facts.largest_sla_seconds)
    ):
        quiet = int((now - facts.last_progress).total_seconds())
        return verdict(
            WatchReason.NO_PROGRESS,
            f"{facts.workflow_id}: nothing written for {quiet}s"
            f" (largest step SLA {facts.largest_sla_seconds}s)",
        )
    return None


def worst_per_order(verdicts: list[StuckVerdict]) -> dict[str, StuckVerdict]:
    """One verdict per order (its order and shipment workflows), the most telling."""
    rank = {r: i for i, r in enumerate(WatchReason)}
    out: dict[str, StuckVerdict] = {}
    for v in verdicts:
        seen = out.get(v.order_id)
        if seen is None or rank[v.reason] < rank[seen.reason]:
            out[v.order_id] = v
    return out
