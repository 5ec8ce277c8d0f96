"""Order verification: address completeness and a basic risk score.

Pure functions over an ``OrderInput``; the workflow turns findings into holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from domain.geocode import geocode
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


#: Postal code shapes for the countries we ship to most; others are only checked for
#: presence. Spaces and case are normalised before matching.
POSTAL_FORMATS: dict[str, re.Pattern[str]] = {
    code: re.compile(pattern)
    for code, pattern in {
        "US": r"\d{5}(-?\d{4})?",
        "PR": r"\d{5}(-?\d{4})?",
        "CA": r"[ABCEGHJ-NPRSTVXY]\d[A-Z] ?\d[A-Z]\d",
        "GB": r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}",
        "IE": r"[A-Z]\d[\dW] ?[A-Z\d]{4}",
        "NL": r"[1-9]\d{3} ?[A-Z]{2}",
        "DE": r"\d{5}",
        "FR": r"\d{5}",
        "ES": r"\d{5}",
        "IT": r"\d{5}",
        "MX": r"\d{5}",
        "AU": r"\d{4}",
        "BE": r"\d{4}",
        "AT": r"\d{4}",
        "CH": r"\d{4}",
        "DK": r"\d{4}",
        "SE": r"\d{3} ?\d{2}",
        "JP": r"\d{3}-?\d{4}",
    }.items()
}


def postal_code_problem(address: Address) -> str | None:
    """Why the postal code cannot be right for the country, or None.

    The shape must match the country's format; for US ZIPs the 3-digit prefix must also
    be one USPS assigns (the bundled geocode table knows them), which catches typos like
    a 000 or 213 prefix that carriers would bounce.
    """
    country = (address.country_code or "").strip().upper()
    code = (address.zip or "").strip().upper()
    if not code:
        return None  # reported as a missing field
    pattern = POSTAL_FORMATS.get(country)
    if pattern is not None and not pattern.fullmatch(code):
        return f"postal code {address.zip!r} is not a valid {country} postal code"
    if country == "US":
        point = geocode("US", postal_code=code)
        if point is None or point.precision != "postal":
            return f"ZIP {address.zip!r} has a prefix USPS does not assign"
    return None


def risk_score(order: OrderInput, *, strict: bool = True) -> tuple[int, list[str]]:
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
    elif (
        strict
        and billing is not None
        and billing.zip
        and billing.zip.strip().upper() != order.shipping_address.zip.strip().upper()
    ):
        score += 10
        reasons.append("billing and shipping postal codes differ")
    if order.customer_orders_count <= 1 and order.total >= Decimal("1000"):
        score += 40
        reasons.append("high value order from a first-time customer")
    if any(line.quantity >= 20 for line in order.lines):
        score += 30
        reasons.append("20 or more units of one SKU")
    return min(score, 100), reasons


def verify_order(order: OrderInput, *, strict: bool = True) -> Verification:
    """Check an order before it may take payment or stock.

    ``strict`` adds the postal-code check and the billing postal-code risk; it is False
    only for orders started before those existed, so their replay takes the path it took.
    """
    result = Verification()
    missing = missing_address_fields(order.shipping_address)
    if missing:
        result.holds.append(
            (HoldReason.INCORRECT_ADDRESS, "shipping address is missing " + ", ".join(missing))
        )
    problem = postal_code_problem(order.shipping_address) if strict else None
    if problem is not None:
        result.holds.append((HoldReason.INCORRECT_ADDRESS, problem))
    score, reasons = risk_score(order, strict=strict)
    result.risk_score, result.risk_reasons = score, reasons
    if score >= RISK_THRESHOLD:
        result.holds.append(
            (HoldReason.HIGH_RISK_OF_FRAUD, f"risk score {score}: " + "; ".join(reasons))
        )
    return result
