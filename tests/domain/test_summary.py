"""``orders.summary`` reads in every shape it was ever stored in, and garbage reads as empty."""

from datetime import UTC, datetime
from decimal import Decimal

from domain.summary import OrderSummary

HOLD = {
    "hold_id": "h-1",
    "reason": "HIGH_RISK_OF_FRAUD",
    "note": None,
    "created_at": "2026-11-27T10:00:00+00:00",
}
STEP = {"step": "pick", "state": "active", "sla_seconds": 600, "breached": True}


def test_the_first_shape_counted_holds() -> None:
    summary = OrderSummary.read({"holds": 2, "payment": "paid"})
    assert summary.payment == "paid"
    assert summary.holds == []  # a count, not the holds: nothing to show


def test_the_shape_with_lines_routing_and_cancel_reason() -> None:
    summary = OrderSummary.read(
        {
            "payment": "pending",
            "holds": [HOLD],
            "lines": [{"sku": "MUG", "quantity": 2, "unit_price": "10"}],
            "routing": None,
            "cancel_reason": "customer asked",
        }
    )
    assert [h.hold_id for h in summary.holds] == ["h-1"]
    assert summary.lines[0].sku == "MUG" and summary.lines[0].unit_price == Decimal("10")
    assert summary.cancel_reason == "customer asked"
    assert summary.steps == [] and summary.stuck_since is None and summary.template == []


def test_the_current_shape() -> None:
    summary = OrderSummary.read(
        {
            "payment": "paid",
            "holds": [],
            "lines": [{"sku": "MUG", "quantity": 1}],
            "routing": None,
            "cancel_reason": None,
            "steps": [STEP, {**STEP, "step": "pack", "state": "pending", "sla_seconds": 300}],
            "template": ["fragile"],
            "tags_version": 3,
            "stuck_reason": "pick: over its SLA of 10 min",
            "stuck_since": "2026-11-27T10:00:00+00:00",
        }
    )
    assert summary.template == ["fragile"] and summary.tags_version == 3
    assert summary.stuck_step() == "pick"
    info = summary.stuck_info()
    assert info is not None
    assert (info.step, info.sla_seconds) == ("pick", 600)
    assert info.since == datetime(2026, 11, 27, 10, tzinfo=UTC)


def test_a_shipments_stuck_reason_is_its_machine_part() -> None:
    summary = OrderSummary.read(
        {"stuck_reason": "carrier_unavailable: the carrier does not answer", "stuck_since": None}
    )
    assert summary.stuck_step() == "carrier_unavailable"
    assert summary.stuck_info() is None  # no time: nothing to show as stuck
    assert OrderSummary.read({}).stuck_step() is None
    assert OrderSummary.read({"stuck_reason": ""}).stuck_step() is None


def test_a_stuck_step_missing_from_the_steps_has_no_sla() -> None:
    info = OrderSummary.read(
        {"stuck_reason": "ship: late", "stuck_since": "2026-11-27T10:00:00Z", "steps": [STEP]}
    ).stuck_info()
    assert info is not None and (info.step, info.sla_seconds) == ("ship", 0)


def test_garbage_is_tolerated() -> None:
    summary = OrderSummary.read(
        {
            "holds": [HOLD, {"hold_id": "no reason"}, 7],
            "lines": "MUG x2",
            "steps": [None, STEP, {"step": "pack"}],
            "routing": ["not", "a", "decision"],
            "payment": {"state": "paid"},
            "tags_version": "three",
            "stuck_since": "yesterday",
            "template": "fragile",
            "some_future_key": {"x": 1},
        }
    )
    assert [h.hold_id for h in summary.holds] == ["h-1"]  # the bad items dropped
    assert [s.step for s in summary.steps] == ["pick"]
    assert summary.lines == [] and summary.template == []
    assert summary.routing is None and summary.payment is None
    assert summary.tags_version is None and summary.stuck_since is None


def test_no_summary_at_all() -> None:
    assert OrderSummary.read(None) == OrderSummary()
    assert OrderSummary.read([1, 2]) == OrderSummary()  # type: ignore[arg-type]
