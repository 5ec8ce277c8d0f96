"""Render a workflow history as a timeline an engineer can read without the Temporal UI."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from api.schemas.orders import HistoryEntry


def _type(event: HistoryEvent) -> str:
    return EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()


def _summary(event: HistoryEvent) -> str:
    which = event.WhichOneof("attributes")
    if which is None:
        return ""
    a: Any = getattr(event, which)
    t = _type(event)
    if t == "workflow_execution_started":
        return f"{a.workflow_type.name} on {a.task_queue.name}"
    if t == "activity_task_scheduled":
        return f"activity {a.activity_type.name} (id {a.activity_id})"
    if t in ("activity_task_started",):
        return f"attempt {a.attempt}"
    if t in ("activity_task_failed", "workflow_execution_failed"):
        return a.failure.message
    if t == "activity_task_timed_out":
        return a.failure.message or "timed out"
    if t == "timer_started":
        return f"timer {a.timer_id} for {a.start_to_fire_timeout.ToTimedelta()}"
    if t == "timer_fired":
        return f"timer {a.timer_id} fired"
    if t == "workflow_execution_signaled":
        return f"signal {a.signal_name}"
    if t == "workflow_execution_update_accepted":
        return f"update {a.accepted_request.input.name} accepted (id {a.protocol_instance_id})"
    if t == "workflow_execution_update_completed":
        failed = a.outcome.WhichOneof("value") == "failure"
        return f"update {a.meta.update_id} " + (
            f"failed: {a.outcome.failure.message}" if failed else "completed"
        )
    if t == "marker_recorded":
        return _marker(a)
    if t == "start_child_workflow_execution_initiated":
        return f"child {a.workflow_type.name} {a.workflow_id}"
    if t in ("child_workflow_execution_started", "child_workflow_execution_completed"):
        return f"child {a.workflow_execution.workflow_id}"
    if t == "signal_external_workflow_execution_initiated":
        return f"signal {a.signal_name} to {a.workflow_execution.workflow_id}"
    if t == "upsert_workflow_search_attributes":
        return "search attributes " + ", ".join(sorted(a.search_attributes.indexed_fields))
    if t == "workflow_execution_completed":
        return "completed"
    if t == "workflow_task_failed":
        return f"workflow task failed: {a.failure.message}"
    return ""


def _marker(a: Any) -> str:
    """A local activity's marker names its activity; a patch marker its patch id."""
    kind = {"core_local_activity": "data", "core_patch": "patch-data"}.get(a.marker_name)
    if kind is None or kind not in a.details or not a.details[kind].payloads:
        return f"marker {a.marker_name}" if a.marker_name else "marker"
    try:
        data = json.loads(a.details[kind].payloads[0].data)
    except ValueError:
        return f"marker {a.marker_name}"
    if kind == "data":
        return f"local activity {data.get('activity_type')} (attempt {data.get('attempt')})"
    return f"patch {data.get('id')}"


def timeline(events: list[HistoryEvent]) -> list[HistoryEntry]:
    return [
        HistoryEntry(
            event_id=e.event_id,
            time=e.event_time.ToDatetime(tzinfo=UTC),
            type=_type(e),
            summary=_summary(e),
        )
        for e in events
    ]
