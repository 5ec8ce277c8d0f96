"""Order verification: address completeness, postal codes, and the risk score's reasons."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.models import Address, OrderInput, OrderLine
from domain.status import HoldReason
from domain.verification import postal_code_problem, risk_score, verify_order


def address(country: str = "US", zip_: str = "97205", city: str = "Portland") -> Address:
    return Address(name="Mara", address1="418 Alder St", city=city, zip=zip_, country_code=country)


def order(**kw: object) -> OrderInput:
    fields: dict[str, object] = {
        "order_id": "o1",
        "external_id": "o1",
        "channel": "test",
        "name": "#1",
        "email": "a@example.com",
        "customer_orders_count": 3,
        "shipping_address": address(),
        "lines": [OrderLine(sku="A", quantity=1, unit_price=Decimal("10"))],
        "total": Decimal("10"),
    }
    fields.update(kw)
    return OrderInput.model_validate(fields)


@pytest.mark.parametrize(
    ("country", "zip_", "ok"),
    [
        ("US", "97205", True),
        ("US", "97205-1234", True),
        ("US", "972051234", True),
        ("US", "9720", False),  # too short
        ("US", "ABCDE", False),
        ("US", "00012", False),  # prefix 000: never assigned
        ("US", "21301", False),  # prefix 213: unassigned
        ("US", "10001", True),
        ("CA", "K1A 0B1", True),
        ("CA", "k1a0b1", True),
        ("CA", "D1A 0B1", False),  # D never starts a Canadian postal code
        ("GB", "SW1A 1AA", True),
        ("GB", "EC1A1BB", True),
        ("GB", "12345", False),
        ("NL", "1012 AB", True),
        ("NL", "0123 AB", False),
        ("DE", "10115", True),
        ("DE", "1011", False),
        ("AU", "2000", True),
        ("JP", "100-0001", True),
        ("BR", "01310-100", True),  # no format on file: presence only
    ],
)
def test_postal_codes_are_checked_for_the_country(country: str, zip_: str, ok: bool) -> None:
    problem = postal_code_problem(address(country, zip_))
    assert (problem is None) is ok, problem


def test_a_bad_postal_code_holds_the_order_as_incorrect_address() -> None:
    result = verify_order(order(shipping_address=address("US", "00012")))
    assert [r for r, _ in result.holds] == [HoldReason.INCORRECT_ADDRESS]
    assert "USPS" in result.holds[0][1]


def test_orders_started_before_the_check_replay_without_it() -> None:
    assert verify_order(order(shipping_address=address("US", "00012")), strict=False).passed


def test_missing_fields_and_a_bad_code_are_two_findings() -> None:
    result = verify_order(order(shipping_address=address("GB", "12345", city="")))
    notes = [n for _, n in result.holds]
    assert any("missing city" in n for n in notes) and any("GB postal code" in n for n in notes)


@pytest.mark.parametrize(
    ("kw", "score", "reason"),
    [
        ({"risk_level": "high"}, 80, "channel reported high risk"),
        ({"risk_level": "medium"}, 30, "channel reported medium risk"),
        (
            {"billing_address": address("CA", "K1A 0B1")},
            30,
            "billing and shipping countries differ",
        ),
        (
            {"billing_address": address("US", "10001")},
            10,
            "billing and shipping postal codes differ",
        ),
        (
            {"customer_orders_count": 1, "total": Decimal("1200")},
            40,
            "high value order from a first-time customer",
        ),
        (
            {"lines": [OrderLine(sku="A", quantity=25, unit_price=Decimal("1"))]},
            30,
            "20 or more units of one SKU",
        ),
    ],
)
def test_each_risk_signal_scores_with_its_reason(
    kw: dict[str, object], score: int, reason: str
) -> None:
    assert risk_score(order(**kw)) == (score, [reason])


def test_risk_above_the_threshold_holds_for_fraud_with_every_reason() -> None:
    risky = order(
        risk_level="medium",
        customer_orders_count=0,
        total=Decimal("1500"),
        billing_address=address("US", "10001"),
    )
    result = verify_order(risky)
    assert result.risk_score == 80
    ((reason, note),) = result.holds
    assert reason == HoldReason.HIGH_RISK_OF_FRAUD
    assert "first-time customer" in note and "postal codes differ" in note
