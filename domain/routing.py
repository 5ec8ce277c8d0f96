"""The routing engine: which warehouse(s) ship an order, and why.

Pure and deterministic: the caller loads warehouses, stock and the rule set; this module
decides. It works like Shopify's order routing: build candidate *plans* (one warehouse
taking everything, or the fewest warehouses that together can), drop warehouses that a
filter rule excludes, then order the plans by the ranking rules in the configured order,
each rule only breaking the ties of the rules before it. Every site gets a verdict from
every rule, so "why this warehouse?" always has an answer (Saleor users' complaint).

Filter rules:
- ``daily_capacity``: a warehouse that accepted its daily limit of shipments is skipped.
- ``shipping_method_cutoff``: for the listed methods (default overnight), only warehouses
  whose carrier cut-off has not passed today; *relaxed* when the warehouses before their
  cut-off cannot ship every line between them, since shipping tomorrow beats not shipping
  at all (the relaxation is recorded).

Ranking rules (lower is better, compared in configured order):
- ``minimize_shipments``: fewer parcels.
- ``stay_in_market``: fewer parcels from outside the destination country.
- ``closest``: the farthest parcel's straight-line distance (then the total).
- ``priority_rank``: the warehouses' priority numbers (lower ranks first).
- ``most_stock``: more units left after taking this order (Saleor's prioritize-high-stock).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from itertools import combinations
from math import comb
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, model_validator

from domain.geo import haversine_km
from domain.status import ShippingMethod

#: How many stocked warehouses, nearest first, split plans are built from. 12 gives 66
#: pairs and 220 triples: enough to find the fewest parcels, bounded for 50+ warehouses.
SPLIT_SEARCH_WIDTH = 12
#: The most parcels an exhaustive search always tries; beyond that a greedy cover is used...
EXHAUSTIVE_MAX_SHIPMENTS = 3
#: ...unless the search width has at most this many combinations of the larger size, so
#: a handful of warehouses still gets the true fewest parcels (greedy can use one more).
EXHAUSTIVE_MAX_COMBINATIONS = 500


class RuleType(StrEnum):
    DAILY_CAPACITY = "daily_capacity"
    SHIPPING_METHOD_CUTOFF = "shipping_method_cutoff"
    MINIMIZE_SHIPMENTS = "minimize_shipments"
    STAY_IN_MARKET = "stay_in_market"
    CLOSEST = "closest"
    PRIORITY_RANK = "priority_rank"
    MOST_STOCK = "most_stock"


FILTERS = frozenset({RuleType.DAILY_CAPACITY, RuleType.SHIPPING_METHOD_CUTOFF})


class RoutingRule(BaseModel):
    """One rule of the ordered rule set, as stored in Postgres and edited through the API."""

    type: RuleType
    enabled: bool = True
    #: ``shipping_method_cutoff`` only: the methods the cut-off applies to.
    methods: list[ShippingMethod] = Field(default_factory=lambda: [ShippingMethod.OVERNIGHT])

    model_config = {"extra": "forbid"}


class RoutingRules(BaseModel):
    """A whole rule set; validated on save (each type at most once)."""

    rules: list[RoutingRule]

    @model_validator(mode="after")
    def _each_type_once(self) -> RoutingRules:
        seen: set[RuleType] = set()
        for rule in self.rules:
            if rule.type in seen:
                raise ValueError(f"rule {rule.type.value!r} appears more than once")
            seen.add(rule.type)
        return self


DEFAULT_RULES = RoutingRules(
    rules=[
        RoutingRule(type=RuleType.DAILY_CAPACITY),
        RoutingRule(type=RuleType.SHIPPING_METHOD_CUTOFF),
        RoutingRule(type=RuleType.MINIMIZE_SHIPMENTS),
        RoutingRule(type=RuleType.STAY_IN_MARKET),
        RoutingRule(type=RuleType.CLOSEST),
        RoutingRule(type=RuleType.PRIORITY_RANK),
    ]
)


@dataclass(frozen=True)
class Site:
    """A warehouse as routing sees it: place, rank, capacity, cut-off and stock."""

    code: str
    country_code: str
    latitude: float
    longitude: float
    priority: int = 100
    available: dict[str, int] = field(default_factory=dict)
    daily_capacity: int | None = None
    shipments_today: int = 0
    timezone: str = "UTC"
    carrier_cutoff: str | None = None  # local "HH:MM"

    def cutoff_passed(self, now: datetime) -> bool:
        if not self.carrier_cutoff:
            return False
        hh, mm = (int(p) for p in self.carrier_cutoff.split(":"))
        local = now.astimezone(ZoneInfo(self.timezone))
        return local.time() >= time(hh, mm)


# --- what the engine answers -------------------------------------------------------------


class SiteVerdict(BaseModel):
    """One warehouse seen through every rule."""

    warehouse: str
    eligible: bool
    distance_km: float | None = None
    verdicts: dict[str, str] = Field(default_factory=dict)


class PlannedShipment(BaseModel):
    warehouse: str
    lines: dict[str, int]  # sku -> units


class PlanView(BaseModel):
    """A candidate plan and its score under each ranking rule (for the explanation)."""

    warehouses: list[str]
    scores: dict[str, float]


class RoutingOutcome(BaseModel):
    """The decision: the winning plan (empty when short), why, and what it beat."""

    shipments: list[PlannedShipment] = Field(default_factory=list)
    short: dict[str, int] = Field(default_factory=dict)  # sku -> units missing
    reasons: list[str] = Field(default_factory=list)
    sites: list[SiteVerdict] = Field(default_factory=list)
    runners_up: list[PlanView] = Field(default_factory=list)
    relaxed: list[str] = Field(default_factory=list)

    @property
    def routed(self) -> bool:
        return bool(self.shipments)


@dataclass
class _Plan:
    parts: dict[str, dict[str, int]]  # warehouse -> sku -> units
    key: tuple[float, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)


# --- the engine --------------------------------------------------------------------------


def route(
    *,
    needed: dict[str, int],
    destination: tuple[float, float] | None,
    country_code: str,
    shipping_method: ShippingMethod,
    sites: list[Site],
    rules: RoutingRules = DEFAULT_RULES,
    now: datetime,
    claims: dict[str, int] | None = None,
) -> RoutingOutcome:
    """Decide where ``needed`` (sku -> units) ships from.

    ``claims`` are units earlier backorders are waiting for: this order may only use what
    is left of each SKU after them, so woken backorders are served in arrival order.
    """
    claims = claims or {}
    enabled = [r for r in rules.rules if r.enabled]
    rankers = [r.type for r in enabled if r.type not in FILTERS]
    country = country_code.upper()
    distance = {
        s.code: (
            haversine_km(destination[0], destination[1], s.latitude, s.longitude)
            if destination
            else None
        )
        for s in sites
    }
    verdicts: dict[str, dict[str, str]] = {s.code: {} for s in sites}
    eligible = list(sites)
    relaxed: list[str] = []

    for rule in enabled:
        if rule.type == RuleType.DAILY_CAPACITY:
            kept = []
            for s in eligible:
                if s.daily_capacity is not None and s.shipments_today >= s.daily_capacity:
                    verdicts[s.code][rule.type] = (
                        f"skipped: at daily capacity ({s.shipments_today}/{s.daily_capacity})"
                    )
                else:
                    verdicts[s.code][rule.type] = (
                        "ok: no daily limit"
                        if s.daily_capacity is None
                        else f"ok: {s.shipments_today} today of {s.daily_capacity}"
                    )
                    kept.append(s)
            eligible = kept
        elif rule.type == RuleType.SHIPPING_METHOD_CUTOFF:
            if shipping_method not in rule.methods:
                for s in eligible:
                    verdicts[s.code][rule.type] = f"not applied to {shipping_method.value}"
                continue
            before = [s for s in eligible if not s.cutoff_passed(now)]
            # Only worth enforcing when the sites before their cut-off can ship it all.
            before_covers = all(
                sum(s.available.get(k, 0) for s in before) - claims.get(k, 0) >= q
                for k, q in needed.items()
            )
            for s in eligible:
                verdicts[s.code][rule.type] = (
                    f"cut-off {s.carrier_cutoff} passed"
                    if s.cutoff_passed(now)
                    else f"before cut-off {s.carrier_cutoff or '(none)'}"
                )
            if before_covers:
                for s in eligible:
                    if s not in before:
                        verdicts[s.code][rule.type] = "skipped: " + verdicts[s.code][rule.type]
                eligible = before
            else:
                relaxed.append(
                    f"{rule.type.value}: the warehouses before their cut-off cannot ship "
                    "every line; "
                    f"{shipping_method.value} ships with the next pickup"
                )

    for s in sites:
        d = distance[s.code]
        verdicts[s.code][RuleType.STAY_IN_MARKET] = (
            f"in {country}" if s.country_code.upper() == country else f"outside {country}"
        )
        verdicts[s.code][RuleType.CLOSEST] = f"{d:,.0f} km" if d is not None else "unknown"
        verdicts[s.code][RuleType.PRIORITY_RANK] = f"priority {s.priority}"
        lacking = [k for k, q in sorted(needed.items()) if s.available.get(k, 0) < q]
        verdicts[s.code]["stock"] = (
            "every line in stock" if not lacking else "short of " + ", ".join(lacking)
        )

    eligible_codes = {s.code for s in eligible}
    site_views = []
    for s in sites:
        d = distance[s.code]
        site_views.append(
            SiteVerdict(
                warehouse=s.code,
                eligible=s.code in eligible_codes,
                distance_km=round(d, 1) if d is not None else None,
                verdicts=verdicts[s.code],
            )
        )

    # Units this order may use per SKU, after earlier backorders' claims.
    total = {k: sum(s.available.get(k, 0) for s in eligible) for k in needed}
    allowed = {k: max(0, total[k] - claims.get(k, 0)) for k in needed}
    short = {k: q - allowed[k] for k, q in needed.items() if allowed[k] < q}
    if short:
        reasons = [
            f"short of {k}: {q} more needed"
            + (f" ({claims[k]} held for earlier backorders)" if claims.get(k) else "")
            for k, q in sorted(short.items())
        ]
        return RoutingOutcome(short=short, reasons=reasons, sites=site_views, relaxed=relaxed)

    # Split plans compete with single-warehouse ones only when a rule ranked above
    # "fewest shipments" (or its absence) could prefer them.
    splits_compete = (
        RuleType.MINIMIZE_SHIPMENTS not in rankers or rankers.index(RuleType.MINIMIZE_SHIPMENTS) > 0
    )
    plans = _candidate_plans(needed, eligible, distance, country, splits_compete)
    if not plans:  # only when claims left too little at any mix of sites (rare)
        return RoutingOutcome(
            short=dict(needed),
            reasons=["no combination of warehouses can ship every line"],
            sites=site_views,
            relaxed=relaxed,
        )
    by_code = {s.code: s for s in eligible}
    for plan in plans:
        plan.scores = _scores(plan, rankers, by_code, distance, country, needed)
        plan.key = tuple(plan.scores[r.value] for r in rankers) + (len(plan.parts),)
    plans.sort(key=lambda p: (p.key, sorted(p.parts)))
    best = plans[0]
    shipments = [
        PlannedShipment(warehouse=code, lines=dict(sorted(best.parts[code].items())))
        for code in _ordered(best.parts, distance)
    ]
    return RoutingOutcome(
        shipments=shipments,
        reasons=_explain(best, plans[1:], rankers) + relaxed,
        sites=site_views,
        runners_up=[PlanView(warehouses=sorted(p.parts), scores=p.scores) for p in plans[1:6]],
        relaxed=relaxed,
    )


def _km(d: float | None) -> float:
    """Unknown distance sorts last."""
    return d if d is not None else 1e6


def _has_any(site: Site, needed: dict[str, int]) -> bool:
    return any(site.available.get(k, 0) > 0 for k in needed)


def _ordered(parts: dict[str, dict[str, int]], distance: dict[str, float | None]) -> list[str]:
    """Shipments in a stable order: the most units first, then nearest."""
    return sorted(
        parts,
        key=lambda c: (-sum(parts[c].values()), distance[c] if distance[c] is not None else 1e9, c),
    )


def _candidate_plans(
    needed: dict[str, int],
    eligible: list[Site],
    distance: dict[str, float | None],
    country: str,
    splits_compete: bool = False,
) -> list[_Plan]:
    """Every single-warehouse plan, and the fewest-parcel split plans when needed."""
    singles = [
        _Plan({s.code: dict(needed)})
        for s in eligible
        if all(s.available.get(k, 0) >= q for k, q in needed.items())
    ]
    if singles and not splits_compete:
        return singles
    # Nearest (in-market first) stocked sites are the ones worth combining.
    stocked = sorted(
        (s for s in eligible if _has_any(s, needed)),
        key=lambda s: (
            s.country_code.upper() != country,
            distance[s.code] if distance[s.code] is not None else 1e9,
            s.priority,
            s.code,
        ),
    )
    width = stocked[:SPLIT_SEARCH_WIDTH]
    plans: list[_Plan] = []
    for k in range(2, len(width) + 1):
        if k > EXHAUSTIVE_MAX_SHIPMENTS and (
            singles or plans or comb(len(width), k) > EXHAUSTIVE_MAX_COMBINATIONS
        ):
            break
        for combo in combinations(width, k):
            parts = _assign(needed, list(combo))
            if parts is not None and len(parts) == k:
                plans.append(_Plan(parts))
        # A rule ranked above "fewest shipments" may prefer a split with more parcels.
        if plans and not splits_compete:
            break
    if plans:
        return singles + plans
    if singles:
        return singles
    greedy = _greedy_cover(needed, stocked)
    return [greedy] if greedy else []


def _assign(needed: dict[str, int], combo: list[Site]) -> dict[str, dict[str, int]] | None:
    """Split ``needed`` over ``combo`` (in preference order); None if it cannot cover it.

    A line ships whole from the first site that has all of it; only when none has is it
    split by quantity, taking from sites in order.
    """
    parts: dict[str, dict[str, int]] = {}
    for sku, qty in sorted(needed.items()):
        whole = next((s for s in combo if s.available.get(sku, 0) >= qty), None)
        if whole is not None:
            parts.setdefault(whole.code, {})[sku] = qty
            continue
        left = qty
        for s in combo:
            take = min(left, s.available.get(sku, 0))
            if take > 0:
                parts.setdefault(s.code, {})[sku] = take
                left -= take
            if left == 0:
                break
        if left:
            return None
    return parts


def _greedy_cover(needed: dict[str, int], stocked: list[Site]) -> _Plan | None:
    """More parcels than the exhaustive search tries: take the site covering most units."""
    left = dict(needed)
    parts: dict[str, dict[str, int]] = {}
    pool = list(stocked)
    while any(left.values()) and pool:
        best = max(
            pool,
            key=lambda s: (
                sum(min(s.available.get(k, 0), q) for k, q in left.items()),
                -pool.index(s),
            ),
        )
        pool.remove(best)
        for sku, q in left.items():
            take = min(q, best.available.get(sku, 0))
            if take:
                parts.setdefault(best.code, {})[sku] = take
                left[sku] = q - take
    return _Plan(parts) if not any(left.values()) else None


def _scores(
    plan: _Plan,
    rankers: list[RuleType],
    sites: dict[str, Site],
    distance: dict[str, float | None],
    country: str,
    needed: dict[str, int],
) -> dict[str, float]:
    scores: dict[str, float] = {}
    codes = list(plan.parts)
    for rule in rankers:
        if rule == RuleType.MINIMIZE_SHIPMENTS:
            scores[rule.value] = len(codes)
        elif rule == RuleType.STAY_IN_MARKET:
            scores[rule.value] = sum(sites[c].country_code.upper() != country for c in codes)
        elif rule == RuleType.CLOSEST:
            ds = [_km(distance[c]) for c in codes]
            # Whole kilometres, so float noise never decides; the total breaks ties.
            scores[rule.value] = round(max(ds)) + round(sum(ds)) / 1e7
        elif rule == RuleType.PRIORITY_RANK:
            scores[rule.value] = (
                max(sites[c].priority for c in codes) + sum(sites[c].priority for c in codes) / 1e7
            )
        elif rule == RuleType.MOST_STOCK:
            left = sum(
                sites[c].available.get(k, 0) - plan.parts[c].get(k, 0)
                for c in codes
                for k in needed
            )
            scores[rule.value] = -left
    return scores


_RULE_WORDS = {
    RuleType.MINIMIZE_SHIPMENTS: "fewest shipments",
    RuleType.STAY_IN_MARKET: "fewest shipments from outside the destination market",
    RuleType.CLOSEST: "closest",
    RuleType.PRIORITY_RANK: "best priority rank",
    RuleType.MOST_STOCK: "most stock left",
}


def _explain(best: _Plan, others: list[_Plan], rankers: list[RuleType]) -> list[str]:
    """One line naming the winner and the rule that decided against the runner-up."""
    where = " + ".join(sorted(best.parts))
    if not others:  # every single-warehouse plan is a candidate, so this one is alone
        if len(best.parts) == 1:
            return [f"chosen {where} (1 shipment): the only warehouse with every line"]
        return [f"chosen {where} ({len(best.parts)} shipments): no warehouse has every line"]
    runner = others[0]
    for rule in rankers:
        if best.scores[rule.value] != runner.scores[rule.value]:
            decided: Literal["tie"] | str = _RULE_WORDS[rule]
            break
    else:
        decided = "tie"
    why = (
        f"decided by {decided!s} over {' + '.join(sorted(runner.parts))}"
        if decided != "tie"
        else f"tied with {' + '.join(sorted(runner.parts))} on every rule; name order"
    )
    return [
        f"chosen {where} ({len(best.parts)} shipment{'s' if len(best.parts) > 1 else ''}): {why}"
    ]
