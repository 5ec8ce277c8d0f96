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

from domain.routing.engine import (
    EXHAUSTIVE_MAX_COMBINATIONS,
    EXHAUSTIVE_MAX_SHIPMENTS,
    SPLIT_SEARCH_WIDTH,
    route,
)
from domain.routing.outcome import PlannedShipment, PlanView, RoutingOutcome, SiteVerdict
from domain.routing.rules import DEFAULT_RULES, FILTERS, RoutingRule, RoutingRules, RuleType, Site

__all__ = [
    "DEFAULT_RULES",
    "EXHAUSTIVE_MAX_COMBINATIONS",
    "EXHAUSTIVE_MAX_SHIPMENTS",
    "FILTERS",
    "SPLIT_SEARCH_WIDTH",
    "PlanView",
    "PlannedShipment",
    "RoutingOutcome",
    "RoutingRule",
    "RoutingRules",
    "RuleType",
    "Site",
    "SiteVerdict",
    "route",
]
