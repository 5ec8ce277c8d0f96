"""How carrier tracking events move a shipment: in order of occurrence, never backwards.

Carriers deliver webhooks late, twice and out of order. Every event is recorded; only one
newer than the last applied moves the shipment, and nothing moves a delivered parcel
(AfterShip's rule; the Temporal reference OMS takes any status in arrival order and can
move a delivered shipment back to in transit). A ``failure``, ``delayed`` or
``attempted_delivery`` may be followed by ``in_transit`` again: the latest event wins.
Pure functions: the shipment workflow applies them deterministically.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.status import TRACKING_TO_SHIPMENT, ShipmentStatus, TrackingStatus

#: Tracking milestones the customer hears about, once per shipment each.
NOTIFY_ON: dict[TrackingStatus, str] = {
    TrackingStatus.OUT_FOR_DELIVERY: "out_for_delivery",
    TrackingStatus.DELIVERED: "delivered",
    TrackingStatus.DELAYED: "delayed",
}


@dataclass(frozen=True)
class Applied:
    """What one tracking event does to a shipment."""

    #: The event is newer than the last one applied and the parcel is not delivered.
    moves: bool
    status: ShipmentStatus
    #: The customer milestone it reaches (None: nothing to tell, or it moved nothing).
    milestone: str | None = None
    #: The carrier's own stuck mark after it: set on ``failure``, cleared by news.
    exception: bool = False


def apply_tracking(
    status: ShipmentStatus,
    latest_at: datetime | None,
    event_status: TrackingStatus,
    occurred_at: datetime,
) -> Applied:
    """The shipment after ``event_status`` (which happened at ``occurred_at``), given its
    ``status`` and when the last event applied to it happened (``latest_at``)."""
    if status == ShipmentStatus.DELIVERED or (latest_at is not None and occurred_at < latest_at):
        return Applied(moves=False, status=status, exception=status == ShipmentStatus.EXCEPTION)
    new = TRACKING_TO_SHIPMENT.get(event_status, status)
    return Applied(
        moves=True,
        status=new,
        milestone=NOTIFY_ON.get(event_status),
        exception=new == ShipmentStatus.EXCEPTION,
    )
