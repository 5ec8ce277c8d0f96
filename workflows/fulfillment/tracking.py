"""Tracking (generation 9): carrier events applied in order of occurrence, never
backwards, and a shipment whose tracking goes quiet marked stuck (``tracking_stale``).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from domain.models import TrackingEvent, duration_text
from domain.status import StuckReason
from domain.tracking import apply_tracking
from workflows.fulfillment import channel, record, stuck
from workflows.fulfillment.state import ShipmentState
from workflows.writeback import WritebackQueue


async def apply_event(
    s: ShipmentState, event: TrackingEvent, writeback: WritebackQueue | None
) -> None:
    """Record every event; move only on a newer one (domain/tracking.py)."""
    if event.event_key is not None:
        if event.event_key in s.seen_events:
            return
        s.seen_events.add(event.event_key)
    applied = apply_tracking(s.status, s.tracking_latest, event.status, event.occurred_at)
    record.event(
        s,
        f"tracking_{event.status.value}",
        occurred_at=event.occurred_at.isoformat(),
        detail=event.detail,
        location=event.location,
        applied=applied.moves,
    )
    # Any word from the carrier is news, even one too old to move the parcel.
    s.last_news = workflow.now()
    s.silent = False
    was_stuck = s.stuck
    if was_stuck is not None and was_stuck.reason == StuckReason.TRACKING_STALE:
        stuck.unstick(s)
    if not applied.moves:  # recorded in the timeline, moves nothing
        await record.move(s, s.status, tell_parent=s.stuck != was_stuck)
        return
    s.tracking_latest = event.occurred_at
    if applied.exception:
        if was_stuck is None or was_stuck.reason != StuckReason.CARRIER_EXCEPTION:
            stuck.stick(
                s,
                StuckReason.CARRIER_EXCEPTION,
                f"the carrier reported a failure: {event.detail or 'no detail'}",
                since=workflow.now(),
                sla=timedelta(0),
            )
    elif s.stuck is not None:
        stuck.unstick(s)
    if applied.milestone is not None:
        record.decide_notify(s, applied.milestone, {"detail": event.detail})
    channel.write_back_event(s, writeback, event)
    await record.move(s, applied.status, tell_parent=s.stuck != was_stuck)


async def watch_silence(s: ShipmentState) -> None:
    """Sleep until tracking has been quiet for ``tracking_stale_seconds``: one timer
    for the whole road (not one per event), re-armed only when it fires early."""
    stale = timedelta(seconds=s.input.tracking_stale_seconds)
    while True:
        due = (s.last_news or workflow.now()) + stale
        if workflow.now() < due:
            await workflow.sleep(due - workflow.now())
            continue
        s.silent = True
        await workflow.wait_condition(lambda: not s.silent)


async def mark_stale(s: ShipmentState) -> None:
    """Tracking has been quiet too long: the shipment is stuck and the order hears it."""
    stale = timedelta(seconds=s.input.tracking_stale_seconds)
    since = s.last_news.isoformat(timespec="minutes") if s.last_news else "shipping"
    stuck.stick(
        s,
        StuckReason.TRACKING_STALE,
        f"no tracking news for {duration_text(int(stale.total_seconds()))} since {since}",
        since=(s.last_news or workflow.now()) + stale,
        sla=stale,
    )
    await record.move(s, s.status, tell_parent=True)
