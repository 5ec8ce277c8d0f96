"""The sandbox carrier's road: what happens to a parcel after its label is bought.

A pure function of the tracking number and a seed, so a road is the same every time it is
planned (a restarted poster re-plans the same events with the same ids and times) and the
tests can hold it to its promises. A road is what a real carrier's webhooks look like:

- ``label_printed``, ``carrier_picked_up``, two to four ``in_transit`` scans at hubs,
  ``out_for_delivery``, ``delivered`` (always last by ``occurred_at``, exactly once);
- now and then ``delayed`` (followed by ``in_transit``) and ``attempted_delivery``
  (followed by ``in_transit`` back at the station, then ``out_for_delivery`` again);
- most events carry an ``event_id``, some don't;
- now and then an event is posted twice (same ``event_id``), and an older event is posted
  after a newer one (out of order) — the product must absorb both.

Times are in *road seconds* after the label was bought: ``occurred_after`` is when it
happened, ``post_after_seconds`` when the carrier posts it (a little later, as carriers
do). The poster (``integrations/road.py``) divides posting times by the speed factor
(``OMS_SANDBOX_ROAD``) and dates events on the simulated clock
(docs/decisions/0005-labels-and-the-road.md).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

MINUTE, HOUR = 60.0, 3600.0

#: Sort hubs a parcel passes through (``in_transit`` locations).
HUBS = (
    "Portland, OR",
    "Sacramento, CA",
    "Salt Lake City, UT",
    "Denver, CO",
    "Kansas City, MO",
    "Chicago, IL",
    "Memphis, TN",
    "Louisville, KY",
    "Indianapolis, IN",
    "Columbus, OH",
    "Harrisburg, PA",
    "Secaucus, NJ",
    "Dallas, TX",
    "Atlanta, GA",
)
DELAYS = ("Weather delay", "Missed connection at hub", "Sorting backlog", "Vehicle breakdown")
ATTEMPTS = ("No one available to sign", "Access to the building refused", "Business closed")
DROPS = ("Left at front door", "Handed to resident", "Left with neighbour", "In parcel locker")

#: The probabilities that make a road eventful.
P_DELAY = 0.2  # before each in_transit but the first
P_ATTEMPT = 0.25
P_NO_EVENT_ID = 0.15
P_DUPLICATE = 0.35
P_OUT_OF_ORDER = 0.3


@dataclass(frozen=True)
class RoadEvent:
    """One tracking event, as the carrier reports it."""

    status: str
    occurred_after: float  # road seconds after the label was bought
    event_id: str | None = None
    detail: str | None = None
    location: str | None = None

    def body(self, tracking_number: str, start: datetime) -> dict[str, Any]:
        """The webhook body: ``occurred_at`` on the road's clock, which starts at ``start``."""
        out: dict[str, Any] = {
            "tracking_number": tracking_number,
            "status": self.status,
            "occurred_at": (start + timedelta(seconds=self.occurred_after)).isoformat(),
        }
        for name in ("event_id", "detail", "location"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


class RoadPost(NamedTuple):
    """When the carrier posts an event (road seconds after the label), and the event."""

    post_after_seconds: float
    event: RoadEvent


def _event_id(tracking_number: str, n: int) -> str:
    digest = hashlib.sha256(f"{tracking_number}:{n}".encode()).hexdigest()[:16]
    return f"sbx-evt-{digest}"


def plan_road(tracking_number: str, seed: int = 0) -> list[RoadPost]:
    """The road of one parcel: posts in the order the carrier sends them."""
    rng = random.Random(f"{seed}:{tracking_number}")
    events: list[RoadEvent] = []
    t = 0.0

    def add(status: str, after: tuple[float, float], **fields: str | None) -> None:
        nonlocal t
        t += rng.uniform(*after)
        n = len(events)
        event_id = None if rng.random() < P_NO_EVENT_ID else _event_id(tracking_number, n)
        events.append(RoadEvent(status, round(t, 3), event_id, **fields))

    hubs = rng.sample(HUBS, 5)
    destination = hubs[-1]
    add("label_printed", (2 * MINUTE, 10 * MINUTE))
    add("carrier_picked_up", (1 * HOUR, 5 * HOUR), location=hubs[0])
    for i in range(rng.randint(2, 4)):
        if i > 0 and rng.random() < P_DELAY:
            add("delayed", (30 * MINUTE, 2 * HOUR), detail=rng.choice(DELAYS), location=hubs[i])
        add("in_transit", (3 * HOUR, 10 * HOUR), detail="Arrived at hub", location=hubs[i + 1])
    station = f"{destination} delivery station"
    add("out_for_delivery", (4 * HOUR, 12 * HOUR), location=station)
    if rng.random() < P_ATTEMPT:
        add("attempted_delivery", (2 * HOUR, 6 * HOUR), detail=rng.choice(ATTEMPTS))
        add("in_transit", (1 * HOUR, 2 * HOUR), detail="Back at the station", location=station)
        add("out_for_delivery", (12 * HOUR, 18 * HOUR), location=station)
    add("delivered", (1 * HOUR, 6 * HOUR), detail=rng.choice(DROPS), location=destination)

    # Carriers post a little after the fact; the lag is shorter than any gap above, so
    # only the deliberate disorder below changes the order of the posts.
    posts = [RoadPost(e.occurred_after + rng.uniform(0, 2 * MINUTE), e) for e in events]
    if rng.random() < P_OUT_OF_ORDER:
        # An older event arrives after the next one (possibly after ``delivered``).
        k = rng.randrange(1, len(posts) - 1)
        later = posts[k + 1].post_after_seconds + rng.uniform(1 * MINUTE, 20 * MINUTE)
        posts[k] = RoadPost(later, posts[k].event)
    with_id = [p for p in posts if p.event.event_id is not None]
    if with_id and rng.random() < P_DUPLICATE:
        twice = rng.choice(with_id)
        posts.append(RoadPost(twice.post_after_seconds + rng.uniform(1, 30 * MINUTE), twice.event))
    posts.sort(key=lambda p: p.post_after_seconds)
    return posts


def road_length_seconds(plan: list[RoadPost]) -> float:
    """Road seconds until the last post."""
    return max((p.post_after_seconds for p in plan), default=0.0)


#: No road is longer than this (the poster looks back this far, scaled, on a restart).
MAX_ROAD_SECONDS = 5 * 24 * HOUR
