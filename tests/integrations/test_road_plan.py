"""The sandbox road's plan: deterministic by seed, ends in ``delivered``, and now and then
delayed, attempted, duplicated and out of order — as a real carrier's webhooks are."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.status import TrackingStatus
from integrations.road_plan import MAX_ROAD_SECONDS, RoadPost, plan_road, road_length_seconds

SEEDS = range(300)
NUMBER = "SBX0123456789AB"


def by_occurrence(plan: list[RoadPost]) -> list[str]:
    """The distinct events in the order they happened."""
    seen: dict[tuple[str, float], str] = {}
    for _, e in plan:
        seen[(e.status, e.occurred_after)] = e.status
    return [status for _, status in sorted(seen.items(), key=lambda kv: kv[0][1])]


def test_same_number_and_seed_same_road_other_seed_other_road() -> None:
    assert plan_road(NUMBER, 7) == plan_road(NUMBER, 7)
    assert len({tuple(plan_road(NUMBER, s)) for s in range(20)}) > 15
    assert plan_road(NUMBER, 7) != plan_road("SBX999999999999", 7)


def test_every_road_is_a_well_formed_journey() -> None:
    valid = {s.value for s in TrackingStatus}
    for seed in SEEDS:
        plan = plan_road(NUMBER, seed)
        posts = [p.post_after_seconds for p in plan]
        assert posts == sorted(posts), seed
        assert all(p.post_after_seconds >= p.event.occurred_after > 0 for p in plan), seed
        assert 0 < road_length_seconds(plan) < MAX_ROAD_SECONDS
        story = by_occurrence(plan)
        assert set(story) <= valid, seed
        assert story[:2] == ["label_printed", "carrier_picked_up"], (seed, story)
        assert story[-1] == "delivered" and story.count("delivered") == 1, (seed, story)
        assert story.count("in_transit") >= 2, (seed, story)
        for i, status in enumerate(story):
            if status in ("delayed", "attempted_delivery"):
                # the parcel moves on afterwards
                assert story[i + 1] in ("in_transit", "out_for_delivery"), (seed, story)
        assert "out_for_delivery" in story[story.index("in_transit") :], (seed, story)
        assert all(p.event.location for p in plan if p.event.status == "in_transit"), seed
        ids = [p.event.event_id for p in plan if p.event.event_id is not None]
        repeated = {i for i in ids if ids.count(i) > 1}
        for event_id in repeated:  # a repeat is the very same event, posted again
            same = {p.event for p in plan if p.event.event_id == event_id}
            assert len(same) == 1, seed


def test_roads_are_eventful_across_seeds() -> None:
    seen = {
        "delayed": 0,
        "attempted": 0,
        "duplicate": 0,
        "out_of_order": 0,
        "no_id": 0,
        "late_after_delivered": 0,
    }
    for seed in SEEDS:
        plan = plan_road(NUMBER, seed)
        statuses = [p.event.status for p in plan]
        seen["delayed"] += "delayed" in statuses
        seen["attempted"] += "attempted_delivery" in statuses
        ids = [p.event.event_id for p in plan if p.event.event_id]
        seen["duplicate"] += len(ids) != len(set(ids))
        seen["no_id"] += any(p.event.event_id is None for p in plan)
        newest = -1.0
        for _, event in plan:
            if event.occurred_after < newest:
                seen["out_of_order"] += 1
                break
            newest = event.occurred_after
        if statuses[-1] != "delivered":
            seen["late_after_delivered"] += 1
    # Each kind of trouble happens, and none is the rule.
    for kind, count in seen.items():
        assert 0 < count < len(SEEDS), (kind, seen)


def test_the_body_is_the_webhook_contract() -> None:
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    plan = plan_road(NUMBER, 3)
    bodies = [e.body(NUMBER, start) for _, e in plan]
    for body in bodies:
        assert body["tracking_number"] == NUMBER
        assert datetime.fromisoformat(body["occurred_at"]) > start
        assert set(body) <= {
            "tracking_number",
            "status",
            "occurred_at",
            "detail",
            "event_id",
            "location",
        }
    assert bodies[0]["status"] == "label_printed"
