"""Tracking events move a shipment in order of occurrence, never backwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.status import ShipmentStatus as S
from domain.status import TrackingStatus as T
from domain.tracking import apply_tracking

T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("status", "latest", "event", "at", "moves", "after", "milestone"),
    [
        # In order: each event moves the parcel on.
        (S.SHIPPED, None, T.CARRIER_PICKED_UP, T0, True, S.IN_TRANSIT, None),
        (
            S.IN_TRANSIT,
            T0,
            T.OUT_FOR_DELIVERY,
            T0 + H,
            True,
            S.OUT_FOR_DELIVERY,
            "out_for_delivery",
        ),
        (S.OUT_FOR_DELIVERY, T0, T.DELIVERED, T0 + H, True, S.DELIVERED, "delivered"),
        (S.IN_TRANSIT, T0, T.DELAYED, T0 + H, True, S.IN_TRANSIT, "delayed"),
        (S.SHIPPED, None, T.LABEL_PRINTED, T0, True, S.SHIPPED, None),
        # A failure is an exception; news after it moves the parcel again.
        (S.IN_TRANSIT, T0, T.FAILURE, T0 + H, True, S.EXCEPTION, None),
        (S.EXCEPTION, T0 + H, T.IN_TRANSIT, T0 + 2 * H, True, S.IN_TRANSIT, None),
        (S.OUT_FOR_DELIVERY, T0, T.ATTEMPTED_DELIVERY, T0 + H, True, S.OUT_FOR_DELIVERY, None),
        # Late: older than the last applied event, recorded but moves nothing.
        (S.OUT_FOR_DELIVERY, T0 + 2 * H, T.IN_TRANSIT, T0 + H, False, S.OUT_FOR_DELIVERY, None),
        # Delivered is final, whatever comes after (even a newer in_transit).
        (S.DELIVERED, T0, T.IN_TRANSIT, T0 + H, False, S.DELIVERED, None),
        (S.DELIVERED, T0 + H, T.OUT_FOR_DELIVERY, T0, False, S.DELIVERED, None),
    ],
)
def test_apply_tracking(
    status: S,
    latest: datetime | None,
    event: T,
    at: datetime,
    moves: bool,
    after: S,
    milestone: str | None,
) -> None:
    applied = apply_tracking(status, latest, event, at)
    assert (applied.moves, applied.status, applied.milestone) == (moves, after, milestone)


def test_a_late_event_after_an_exception_keeps_the_exception() -> None:
    applied = apply_tracking(S.EXCEPTION, T0 + H, T.IN_TRANSIT, T0)
    assert not applied.moves and applied.exception
