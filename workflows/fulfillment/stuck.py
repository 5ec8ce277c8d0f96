"""The shipment's own stuck mark (generation 9): carrier trouble that ops must see.

A shipment is stuck on its ``ship`` step when the carrier sells no label within its SLA,
when tracking goes quiet, or when the carrier reports an exception; the mark rides on the
shipment's row and on its next word to the order, which shows it too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

from domain.models import StuckInfo
from domain.status import StuckReason
from workflows.fulfillment import record
from workflows.fulfillment.state import ShipmentState


def stick(
    s: ShipmentState, reason: StuckReason, detail: str, *, since: datetime, sla: timedelta
) -> None:
    s.stuck = StuckInfo(
        step="ship",
        since=since,
        sla_seconds=int(sla.total_seconds()),
        reason=reason,
        detail=detail,
    )
    record.event(s, "stuck", reason=reason.value, detail=detail)


def unstick(s: ShipmentState) -> None:
    assert s.stuck is not None
    assert s.stuck.reason is not None
    stuck_for = int((workflow.now() - s.stuck.since).total_seconds())
    record.event(s, "unstuck", reason=s.stuck.reason.value, stuck_seconds=max(stuck_for, 0))
    s.stuck = None
