"""The floor's part of an order's state, as the read model knows it.

The order workflow hears from its shipments only what changes the order's course; while
its shipments are on the floor it says ``ready_to_pick`` and lets the shipments' rows tell
``picking`` / ``packing`` and which floor steps are done. These pure functions say how,
for the API (live detail) and, in SQL, for the read model's trigger (store/migrations
0006); tests hold the two together. See docs/decisions/0001-floor-state-in-the-read-model.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.models import ShipmentView, StepView
from domain.status import PACKED_OR_LATER, OrderStatus, ShipmentStatus
from domain.templates import Step

#: Order statuses the floor refines.
FLOOR_STATUSES = frozenset({OrderStatus.READY_TO_PICK, OrderStatus.PICKING, OrderStatus.PACKING})

#: Template steps done on the floor, in the shipments.
FLOOR_STEPS = frozenset({Step.PICK, Step.PACKAGING_CHECK, Step.PACK_VERIFICATION, Step.PACK})


def floor_status(shipments: list[tuple[ShipmentStatus, list[tuple[int, int]]]]) -> OrderStatus:
    """The floor status of an order from its shipments' ``(status, [(quantity, picked)])``:
    packing once every unit is picked (or packed), picking once any unit is picked, else
    ready to pick. Cancelled shipments (handed back, re-routed) do not count.
    """
    live = [(s, lines) for s, lines in shipments if s != ShipmentStatus.CANCELLED]
    if not live:
        return OrderStatus.READY_TO_PICK

    def all_picked(status: ShipmentStatus, lines: list[tuple[int, int]]) -> bool:
        return status in PACKED_OR_LATER or all(picked >= qty for qty, picked in lines)

    if all(all_picked(s, lines) for s, lines in live):
        return OrderStatus.PACKING
    if any(s == ShipmentStatus.PICKING or any(p > 0 for _, p in lines) for s, lines in live):
        return OrderStatus.PICKING
    return OrderStatus.READY_TO_PICK


def floor_status_of(views: list[ShipmentView]) -> OrderStatus:
    return floor_status([(v.status, [(ln.quantity, ln.picked) for ln in v.lines]) for v in views])


def _done_at(step: str, live: list[ShipmentView]) -> tuple[bool, datetime | None]:
    """Whether every live shipment finished ``step``, and when the last one did (if known)."""
    times = []
    for v in live:
        at = v.steps_done.get(step)
        if at is None and v.status not in PACKED_OR_LATER:
            return False, None
        if at is not None:
            times.append(at)
    return True, max(times) if times else None


def with_floor_steps(steps: list[StepView], shipments: list[ShipmentView]) -> list[StepView]:
    """The order's step views with the floor steps its shipments' rows say are done.

    The order learns floor steps when a shipment ships (or an SLA is due); between, the
    rows are ahead of it. The first step left undone becomes the active one, from when the
    one before it finished. An order with no active step (ended) is left as it is.
    """
    live = [v for v in shipments if v.status != ShipmentStatus.CANCELLED]
    if not live or not any(v.state == "active" for v in steps):
        return steps
    floor = {s.value for s in FLOOR_STEPS}
    out: list[StepView] = []
    previous_done: datetime | None = None
    active_seen = False
    for view in steps:
        if view.state != "done" and view.step in floor and not active_seen:
            done, at = _done_at(view.step, live)
            if done:
                view = view.model_copy(
                    update={
                        "state": "done",
                        "started_at": view.started_at or previous_done,
                        "completed_at": at or view.started_at or previous_done,
                    }
                )
        if view.state == "done" and view.due_at is None and view.started_at is not None:
            view = view.model_copy(
                update={"due_at": view.started_at + timedelta(seconds=view.sla_seconds)}
            )
        if view.state != "done" and not active_seen:
            active_seen = True
            started = view.started_at or previous_done
            view = view.model_copy(
                update={
                    "state": "active",
                    "started_at": started,
                    "due_at": started + timedelta(seconds=view.sla_seconds) if started else None,
                }
            )
        elif view.state != "done":
            view = view.model_copy(update={"state": "pending"})
        previous_done = view.completed_at or previous_done
        out.append(view)
    return out
