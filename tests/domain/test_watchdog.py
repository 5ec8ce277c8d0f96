"""The watchdog's verdicts: which reason wins, thresholds, and the workflow ids it maps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.watchdog import (
    PendingActivity,
    WatchdogInput,
    WatchReason,
    WorkflowFacts,
    judge,
    order_id_of,
    worst_per_order,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
RULES = WatchdogInput(activity_attempts=5, task_attempts=3)


def facts(**kw: object) -> WorkflowFacts:
    base: dict[str, object] = {"workflow_id": "order-A1", "order_id": "A1"}
    return WorkflowFacts.model_validate({**base, **kw})


def test_order_ids_of_order_and_shipment_workflows() -> None:
    assert order_id_of("order-1001") == "1001"
    assert order_id_of("ful-1001-2") == "1001"
    assert order_id_of("ful-shop-7-1") == "shop-7"
    assert order_id_of("channel-sync-web") is None
    assert order_id_of("ful-nonumber") is None


def test_failing_task_beats_failing_activity_and_thresholds_hold() -> None:
    busy = PendingActivity(activity_type="buy_label", attempt=9, last_failure="503")
    both = judge(facts(task_attempt=3, activities=[busy]), RULES, NOW)
    assert both is not None and both.reason == WatchReason.WORKFLOW_TASK_FAILING
    act = judge(facts(task_attempt=2, activities=[busy]), RULES, NOW)
    assert act is not None and act.reason == WatchReason.ACTIVITY_FAILING
    assert act.detail == "order-A1: buy_label attempt 9: 503"
    young = PendingActivity(activity_type="buy_label", attempt=4)
    assert judge(facts(activities=[young]), RULES, NOW) is None


def test_no_progress_is_past_the_largest_sla_and_not_for_sla_stuck_orders() -> None:
    quiet = facts(last_progress=NOW - timedelta(seconds=601), largest_sla_seconds=600)
    verdict = judge(quiet, RULES, NOW)
    assert verdict is not None and verdict.reason == WatchReason.NO_PROGRESS
    assert "601s" in verdict.detail
    recent = facts(last_progress=NOW - timedelta(seconds=599), largest_sla_seconds=600)
    assert judge(recent, RULES, NOW) is None
    timer_saw_it = quiet.model_copy(update={"sla_stuck": True})
    assert judge(timer_saw_it, RULES, NOW) is None
    assert judge(facts(last_progress=NOW - timedelta(days=9)), RULES, NOW) is None


def test_one_verdict_per_order_the_most_telling() -> None:
    quiet = judge(
        facts(
            workflow_id="ful-A1-1", last_progress=NOW - timedelta(hours=2), largest_sla_seconds=60
        ),
        RULES,
        NOW,
    )
    task = judge(facts(task_attempt=4), RULES, NOW)
    assert quiet is not None and task is not None
    only = worst_per_order([quiet, task])
    assert list(only) == ["A1"] and only["A1"].reason == WatchReason.WORKFLOW_TASK_FAILING
