"""Order verification: address completeness and a basic risk score.

Pure functions over an ``OrderInput``; the workflow turns findings into holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from domain.models import Address, OrderInput
from domain.status import HoldReason

#: An order at or above this score is held as ``HIGH_RISK_OF_FRAUD``.
RISK_THRESHOLD = 70

REQUIRED_ADDRESS_FIELDS = ("name", "address1", "city", "zip", "country_code")


@dataclass
class Verification:
    """What verification found: holds to place, with why."""

    holds: list[tuple[HoldReason, str]] = field(default_factory=list)
    risk_score: int = 0
    risk_reasons: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.holds


def missing_address_fields(address: Address) -> list[str]:
    return [f for f in REQUIRED_ADDRESS_FIELDS if not str(getattr(address, f) or "").strip()]


def risk_score(order: OrderInput) -> tuple[int, list[str]]:
    """A basic additive risk score (0-100) with the reasons that contributed."""
    score, reasons = 0, []
    if order.risk_level == "high":
        score += 80
        reasons.append("channel reported high risk")
    elif order.risk_level == "medium":
        score += 30
        reasons.append("channel reported medium risk")
    billing = order.billing_address
    if (
        billing is not None
        and billing.country_code
        and (billing.country_code.upper() != order.shipping_address.country_code.upper())
    ):
        score += 30
        reasons.append("billing and shipping countries differ")
    if order.customer_orders_count <= 1 and order.total >= Decimal("1000"):
        score += 40
        reasons.append("high value order from a first-time customer")
    if any(line.quantity >= 20 for line in order.lines):
        score += 30
        reasons.append("20 or more units of one SKU")
    return min(score, 100), reasons


def verify_order(order: OrderInput) -> Verification:
    """Check an order before it may take payment or stock."""
    result = Verification()
    missing = missing_address_fields(order.shipping_address)
    if missing:
        result.holds.append(
            (HoldReason.INCORRECT_ADDRESS, "shipping address is missing " + ", ".join(missing))
        )
    score, reasons = risk_score(order)
    result.risk_score, result.risk_reasons = score, reasons
    if score >= RISK_THRESHOLD:
        result.holds.append(
            (HoldReason.HIGH_RISK_OF_FRAUD, f"risk score {score}: " + "; ".join(reasons))
        )
    return result
