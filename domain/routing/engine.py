"""The routing engine itself: candidate plans, filters, ranking in the configured order,
and the explanation (see ``domain.routing`` for the rules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from math import comb
from typing import Literal

from domain.geo import haversine_km
from domain.routing.outcome import PlannedShipment, PlanView, RoutingOutcome, SiteVerdict
from domain.routing.rules import DEFAULT_RULES, FILTERS, RoutingRules, RuleType, Site
from domain.status import ShippingMethod

#: How many stocked warehouses, nearest first, split plans are built from. 12 gives 66
#: pairs and 220 triples: enough to find the fewest parcels, bounded for 50+ warehouses.
SPLIT_SEARCH_WIDTH = 12
#: The most parcels an exhaustive search always tries; beyond that a greedy cover is used...
EXHAUSTIVE_MAX_SHIPMENTS = 3
#: ...unless the search width has at most this many combinations of the larger size, so
#: a handful of warehouses still gets the true fewest parcels (greedy can use one more).
EXHAUSTIVE_MAX_COMBINATIONS = 500


@dataclass
class _Plan:
    parts: dict[str, dict[str, int]]  # warehouse -> sku -> units
    key: tuple[float, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)


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
