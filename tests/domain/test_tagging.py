"""Tagging rules: every field and op, nesting, the defaults, validation paths, determinism."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from domain.models import Address, OrderInput, OrderLine
from domain.status import ShippingMethod
from domain.tagging import (
    DEFAULT_TAG_RULES,
    FIELDS,
    MAX_DEPTH,
    AllOf,
    FieldCondition,
    NotOf,
    OrderFacts,
    TagField,
    TaggingContext,
    TagOp,
    TagOutcome,
    TagRule,
    TagRuleSet,
    TagRulesInvalid,
    evaluate,
    facts_for,
    kebab,
    merge_tags,
    tags_for,
    validate_tag_rules,
)

CATALOG = {
    "MUG-CER-350": ["kitchen"],
    "CUP-GLS-200": ["fragile", "kitchen"],
    "HNY-RAW-350": ["Grocery", "FRAGILE"],
    "BAT-LI-01": ["hazmat"],
    "TNT-4P": ["oversized"],
}


def make_order(
    *,
    lines: list[tuple[str, int, str]] | None = None,
    total: str | None = None,
    method: ShippingMethod = ShippingMethod.STANDARD,
    country: str = "US",
    province: str | None = "OR",
    currency: str = "USD",
    channel: str = "shopify:demo",
    tags: list[str] | None = None,
    orders_count: int = 3,
    tagging: TaggingContext | None = None,
) -> OrderInput:
    lines = lines if lines is not None else [("MUG-CER-350", 2, "12.50")]
    order_lines = [OrderLine(sku=s, quantity=q, unit_price=Decimal(p)) for s, q, p in lines]
    computed = sum((ln.unit_price * ln.quantity for ln in order_lines), start=Decimal("0"))
    return OrderInput(
        order_id="o-1",
        external_id="1",
        channel=channel,
        name="#1",
        email="a@example.com",
        customer_orders_count=orders_count,
        shipping_address=Address(
            name="A B",
            address1="1 Main",
            city="Portland",
            province_code=province,
            zip="97205",
            country_code=country,
        ),
        shipping_method=method,
        lines=order_lines,
        currency=currency,
        total=Decimal(total) if total is not None else computed,
        tags=tags or [],
        tagging=tagging,
    )


def facts(home: str = "US", **kw: Any) -> OrderFacts:
    return facts_for(make_order(**kw), CATALOG, home)


def one_rule(when: dict[str, Any]) -> TagRuleSet:
    return validate_tag_rules([{"name": "r", "when": when, "add_tags": ["t"]}])


def matches(when: dict[str, Any], **kw: Any) -> bool:
    outcome = evaluate(one_rule(when), facts(**kw))
    return outcome.matched == ["r"]


def leaf(field: str, op: str, value: Any = None) -> dict[str, Any]:
    cond: dict[str, Any] = {"field": field, "op": op}
    if value is not None:
        cond["value"] = value
    return cond


# --- every field and op -------------------------------------------------------------------

EXPRESS, OVERNIGHT = ShippingMethod.EXPRESS, ShippingMethod.OVERNIGHT
FRAGILE_LINES = [("CUP-GLS-200", 1, "9.00"), ("MUG-CER-350", 1, "12.50")]

LEAF_CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    # shipping_method
    ("method eq", leaf("shipping_method", "eq", "express"), {"method": EXPRESS}, True),
    ("method eq other", leaf("shipping_method", "eq", "express"), {"method": OVERNIGHT}, False),
    ("method eq any case", leaf("shipping_method", "eq", "Overnight"), {"method": OVERNIGHT}, True),
    ("method ne", leaf("shipping_method", "ne", "standard"), {"method": EXPRESS}, True),
    ("method ne same", leaf("shipping_method", "ne", "standard"), {}, False),
    (
        "method in",
        leaf("shipping_method", "in", ["express", "overnight"]),
        {"method": OVERNIGHT},
        True,
    ),
    ("method in miss", leaf("shipping_method", "in", ["express", "overnight"]), {}, False),
    ("method not_in", leaf("shipping_method", "not_in", ["express"]), {}, True),
    (
        "method not_in hit",
        leaf("shipping_method", "not_in", ["express"]),
        {"method": EXPRESS},
        False,
    ),
    # total: Decimal, whatever form the rule wrote the number in
    ("total gte 500 at 500.00", leaf("total", "gte", 500), {"total": "500.00"}, True),
    ("total gte 500 at 499.99", leaf("total", "gte", 500), {"total": "499.99"}, False),
    ("total gt 499.99 float", leaf("total", "gt", 499.99), {"total": "500.00"}, True),
    ("total gt 499.99 at 499.99", leaf("total", "gt", 499.99), {"total": "499.99"}, False),
    ("total lt string", leaf("total", "lt", "10.005"), {"total": "10.00"}, True),
    ("total lte equal", leaf("total", "lte", "10"), {"total": "10.00"}, True),
    ("total lt equal", leaf("total", "lt", 10), {"total": "10.00"}, False),
    ("total eq scale", leaf("total", "eq", "25.0"), {}, True),  # 2 x 12.50
    ("total ne", leaf("total", "ne", 25), {}, False),
    # currency: a 3-letter code, any case
    ("currency eq", leaf("currency", "eq", "usd"), {}, True),
    ("currency in", leaf("currency", "in", ["EUR", "GBP"]), {"currency": "eur"}, True),
    ("currency not_in", leaf("currency", "not_in", ["EUR", "GBP"]), {}, True),
    ("currency ne", leaf("currency", "ne", "USD"), {}, False),
    # country
    ("country eq", leaf("country", "eq", "ca"), {"country": "CA"}, True),
    ("country ne", leaf("country", "ne", "US"), {"country": "CA"}, True),
    ("country in", leaf("country", "in", ["DE", "NL"]), {"country": "nl"}, True),
    ("country not_in", leaf("country", "not_in", ["DE", "NL"]), {}, True),
    ("country is_empty", leaf("country", "is_empty"), {"country": ""}, True),
    ("country is_empty no", leaf("country", "is_empty"), {}, False),
    ("country is not empty", leaf("country", "is_empty", False), {}, True),
    ("country ne home", leaf("country", "ne", {"fact": "home_country"}), {"country": "CA"}, True),
    ("country ne home same", leaf("country", "ne", {"fact": "home_country"}), {}, False),
    (
        "country eq home CA",
        leaf("country", "eq", {"fact": "home_country"}),
        {"country": "CA", "home": "ca"},
        True,
    ),
    # province (region)
    ("province eq", leaf("province", "eq", "or"), {}, True),
    ("province in", leaf("province", "in", ["WA", "OR"]), {}, True),
    ("province not_in", leaf("province", "not_in", ["WA", "OR"]), {}, False),
    ("province ne", leaf("province", "ne", "WA"), {}, True),
    ("province is_empty", leaf("province", "is_empty"), {"province": None}, True),
    ("province is_empty set", leaf("province", "is_empty"), {}, False),
    # customer order count
    ("first order", leaf("customer_orders_count", "lte", 1), {"orders_count": 0}, True),
    ("repeat", leaf("customer_orders_count", "gt", 1), {"orders_count": 3}, True),
    ("count eq", leaf("customer_orders_count", "eq", 3), {}, True),
    ("count ne", leaf("customer_orders_count", "ne", 3), {}, False),
    ("count in", leaf("customer_orders_count", "in", [0, 1]), {"orders_count": 1}, True),
    ("count not_in", leaf("customer_orders_count", "not_in", [0, 1]), {}, True),
    ("count gte", leaf("customer_orders_count", "gte", 4), {}, False),
    ("count lt", leaf("customer_orders_count", "lt", 4), {}, True),
    # skus
    ("skus any", leaf("skus", "contains_any", ["X", "mug-cer-350"]), {}, True),
    ("skus any miss", leaf("skus", "contains_any", ["X"]), {}, False),
    (
        "skus all",
        leaf("skus", "contains_all", ["CUP-GLS-200", "MUG-CER-350"]),
        {"lines": FRAGILE_LINES},
        True,
    ),
    ("skus all miss", leaf("skus", "contains_all", ["CUP-GLS-200", "MUG-CER-350"]), {}, False),
    ("skus empty", leaf("skus", "is_empty"), {"lines": []}, True),
    ("skus not empty", leaf("skus", "is_empty"), {}, False),
    # product tags (from the catalog, any case)
    ("fragile", leaf("product_tags", "contains_any", ["fragile"]), {"lines": FRAGILE_LINES}, True),
    ("no fragile", leaf("product_tags", "contains_any", ["fragile"]), {}, False),
    (
        "FRAGILE in catalog",
        leaf("product_tags", "contains_any", ["Fragile"]),
        {"lines": [("HNY-RAW-350", 1, "8")]},
        True,
    ),
    (
        "hazmat or oversized",
        leaf("product_tags", "contains_any", ["hazmat", "oversized"]),
        {"lines": [("TNT-4P", 1, "80")]},
        True,
    ),
    (
        "all of",
        leaf("product_tags", "contains_all", ["fragile", "kitchen"]),
        {"lines": FRAGILE_LINES},
        True,
    ),
    (
        "all of across lines",
        leaf("product_tags", "contains_all", ["hazmat", "kitchen"]),
        {"lines": [("BAT-LI-01", 1, "5"), ("MUG-CER-350", 1, "5")]},
        True,
    ),
    (
        "all of miss",
        leaf("product_tags", "contains_all", ["fragile", "hazmat"]),
        {"lines": FRAGILE_LINES},
        False,
    ),
    ("untagged product", leaf("product_tags", "is_empty"), {"lines": [("UNKNOWN", 1, "5")]}, True),
    ("tagged product", leaf("product_tags", "is_empty"), {}, False),
    # line count and units
    ("lines eq", leaf("line_count", "eq", 2), {"lines": FRAGILE_LINES}, True),
    ("lines gt", leaf("line_count", "gt", 1), {}, False),
    ("lines in", leaf("line_count", "in", [1, 3]), {}, True),
    ("lines not_in", leaf("line_count", "not_in", [1, 3]), {}, False),
    ("lines ne", leaf("line_count", "ne", 1), {"lines": FRAGILE_LINES}, True),
    ("lines gte", leaf("line_count", "gte", 2), {}, False),
    ("lines lt", leaf("line_count", "lt", 2), {}, True),
    ("lines lte", leaf("line_count", "lte", 2), {"lines": FRAGILE_LINES}, True),
    ("units eq", leaf("units", "eq", 2), {}, True),
    ("units in", leaf("units", "in", [20, 50]), {"lines": [("MUG-CER-350", 20, "1")]}, True),
    ("units not_in", leaf("units", "not_in", [1, 2]), {}, False),
    ("units lte", leaf("units", "lte", 1), {}, False),
    ("units gte", leaf("units", "gte", 2), {}, True),  # 2 mugs
    ("units gt", leaf("units", "gt", 2), {}, False),
    ("units lt", leaf("units", "lt", 3), {"lines": FRAGILE_LINES}, True),
    ("units ne", leaf("units", "ne", 2), {}, False),
    # channel
    ("channel eq", leaf("channel", "eq", "Shopify:Demo"), {}, True),
    ("channel in", leaf("channel", "in", ["web", "pos"]), {"channel": "pos"}, True),
    ("channel not_in", leaf("channel", "not_in", ["web", "pos"]), {}, True),
    ("channel ne", leaf("channel", "ne", "web"), {"channel": "web"}, False),
    # the order's own (Shopify) tags
    (
        "order tag any case",
        leaf("order_tags", "contains_any", ["vip"]),
        {"tags": ["VIP", "gift"]},
        True,
    ),
    (
        "order tag all",
        leaf("order_tags", "contains_all", ["vip", "gift"]),
        {"tags": ["VIP", "gift"]},
        True,
    ),
    (
        "order tag all miss",
        leaf("order_tags", "contains_all", ["vip", "b2b"]),
        {"tags": ["VIP"]},
        False,
    ),
    ("order tags empty", leaf("order_tags", "is_empty"), {}, True),
    ("order tags not empty", leaf("order_tags", "is_empty", False), {"tags": ["x"]}, True),
]


@pytest.mark.parametrize(
    ("when", "order", "expected"),
    [pytest.param(w, o, e, id=name) for name, w, o, e in LEAF_CASES],
)
def test_leaf_conditions(when: dict[str, Any], order: dict[str, Any], expected: bool) -> None:
    assert matches(when, **order) is expected


def test_every_field_and_op_is_exercised() -> None:
    seen = {(w["field"], w["op"]) for _, w, _, _ in LEAF_CASES}
    allowed = {(f.value, op.value) for f, spec in FIELDS.items() for op in spec.ops}
    assert allowed - seen == set()


FRAGILE_EXPRESS = {"lines": FRAGILE_LINES, "method": EXPRESS}
NESTED_CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    (
        "all true",
        {
            "all": [
                leaf("shipping_method", "eq", "express"),
                leaf("product_tags", "contains_any", ["fragile"]),
            ]
        },
        FRAGILE_EXPRESS,
        True,
    ),
    (
        "all one false",
        {
            "all": [
                leaf("shipping_method", "eq", "express"),
                leaf("product_tags", "contains_any", ["fragile"]),
            ]
        },
        {"method": EXPRESS},
        False,
    ),
    (
        "any one true",
        {"any": [leaf("total", "gte", 1000), leaf("customer_orders_count", "eq", 0)]},
        {"orders_count": 0},
        True,
    ),
    (
        "any none true",
        {"any": [leaf("total", "gte", 1000), leaf("customer_orders_count", "eq", 0)]},
        {},
        False,
    ),
    ("not", {"not": leaf("country", "eq", "US")}, {"country": "CA"}, True),
    ("not not", {"not": {"not": leaf("country", "eq", "US")}}, {}, True),
    (
        "any of all and not",
        {
            "any": [
                {"all": [leaf("country", "eq", "CA"), leaf("province", "in", ["QC"])]},
                {"not": {"any": [leaf("units", "lt", 5), leaf("line_count", "gt", 3)]}},
            ]
        },
        {"country": "CA", "province": "QC"},
        True,
    ),
    (
        "any of all and not, neither",
        {
            "any": [
                {"all": [leaf("country", "eq", "CA"), leaf("province", "in", ["QC"])]},
                {"not": {"any": [leaf("units", "lt", 5), leaf("line_count", "gt", 3)]}},
            ]
        },
        {"country": "CA", "province": "ON"},
        False,
    ),
    (
        "international first order of fragile goods",
        {
            "all": [
                leaf("country", "ne", {"fact": "home_country"}),
                leaf("customer_orders_count", "lte", 1),
                {"not": leaf("product_tags", "is_empty")},
            ]
        },
        {"country": "DE", "orders_count": 1, "lines": FRAGILE_LINES},
        True,
    ),
]


@pytest.mark.parametrize(
    ("when", "order", "expected"),
    [pytest.param(w, o, e, id=name) for name, w, o, e in NESTED_CASES],
)
def test_nested_conditions(when: dict[str, Any], order: dict[str, Any], expected: bool) -> None:
    assert matches(when, **order) is expected


# --- the defaults on realistic orders ---------------------------------------------------------

DEFAULT_CASES: list[tuple[str, dict[str, Any], list[str], int]] = [
    ("plain domestic", {}, [], 0),
    ("express", {"method": EXPRESS}, ["high-priority"], 50),
    ("overnight", {"method": OVERNIGHT}, ["high-priority"], 50),
    ("a fragile product", {"lines": FRAGILE_LINES}, ["fragile"], 0),
    ("catalog tag in capitals", {"lines": [("HNY-RAW-350", 1, "8.00")]}, ["fragile"], 0),
    ("499.99", {"total": "499.99"}, [], 0),
    ("500.00", {"total": "500.00"}, ["high-value"], 0),
    ("500 from lines", {"lines": [("MUG-CER-350", 40, "12.50")]}, ["high-value"], 0),
    ("to Canada from a US store", {"country": "CA", "province": "ON"}, ["international"], 0),
    ("to the US from a Canadian store", {"home": "CA"}, ["international"], 0),
    ("to Canada from a Canadian store", {"country": "CA", "home": "CA"}, [], 0),
    ("no country: not international", {"country": ""}, [], 0),
    (
        "overnight fragile high-value abroad",
        {"method": OVERNIGHT, "lines": FRAGILE_LINES, "total": "720.00", "country": "DE"},
        ["fragile", "high-priority", "high-value", "international"],
        50,
    ),
]


@pytest.mark.parametrize(
    ("order", "tags", "priority"),
    [pytest.param(o, t, p, id=name) for name, o, t, p in DEFAULT_CASES],
)
def test_default_rules(order: dict[str, Any], tags: list[str], priority: int) -> None:
    outcome = evaluate(DEFAULT_TAG_RULES, facts(**order))
    assert outcome.tags == tags
    assert outcome.priority == priority
    assert len(outcome.explanations) == len(DEFAULT_TAG_RULES.rules)


def test_overnight_explanation_names_the_rule_and_the_fact() -> None:
    outcome = evaluate(DEFAULT_TAG_RULES, facts(method=OVERNIGHT))
    assert outcome.matched == ["express-shipping"]
    why = {e.rule: e for e in outcome.explanations}
    assert why["express-shipping"].matched
    assert why["express-shipping"].detail == (
        "shipping_method in [express, overnight]: yes (overnight)"
    )
    assert not why["international"].matched
    assert "home country US" in why["international"].detail


def test_priority_is_the_highest_matched_and_disabled_rules_do_nothing() -> None:
    rules = validate_tag_rules(
        [
            {"name": "a", "when": leaf("units", "gte", 1), "priority": 10},
            {"name": "b", "when": leaf("units", "gte", 1), "add_tags": ["b"], "priority": 70},
            {"name": "c", "when": leaf("units", "gte", 100), "add_tags": ["c"], "priority": 99},
            {"name": "d", "when": leaf("units", "gte", 1), "add_tags": ["d"], "enabled": False},
            {"name": "e", "when": leaf("units", "gte", 1), "add_tags": ["b", "e"]},
        ]
    )
    outcome = evaluate(rules, facts())
    assert outcome.matched == ["a", "b", "e"]
    assert outcome.priority == 70
    assert outcome.tags == ["b", "e"]
    assert [e.detail for e in outcome.explanations if e.rule == "d"] == ["disabled"]


def test_no_rules_no_tags() -> None:
    assert evaluate(TagRuleSet(), facts()) == TagOutcome()


# --- determinism ----------------------------------------------------------------------------


def test_same_facts_same_outcome() -> None:
    order: dict[str, Any] = {
        "method": OVERNIGHT,
        "lines": FRAGILE_LINES,
        "total": "720.00",
        "country": "DE",
    }
    first = evaluate(DEFAULT_TAG_RULES, facts(**order))
    for _ in range(20):
        assert evaluate(DEFAULT_TAG_RULES, facts(**order)) == first
    # Line order does not change the facts, hence nothing else.
    swapped = {**order, "lines": list(reversed(FRAGILE_LINES))}
    assert facts(**swapped) == facts(**order)
    assert evaluate(DEFAULT_TAG_RULES, facts(**swapped)) == first


# --- round trips -----------------------------------------------------------------------------


def test_defaults_round_trip_through_json() -> None:
    stored = json.loads(json.dumps(DEFAULT_TAG_RULES.to_json()))
    assert validate_tag_rules(stored) == DEFAULT_TAG_RULES
    assert validate_tag_rules({"rules": stored}) == DEFAULT_TAG_RULES
    assert TagRuleSet.model_validate_json(DEFAULT_TAG_RULES.model_dump_json()) == DEFAULT_TAG_RULES
    international = stored[3]["when"]
    assert international["all"][0] == {"not": {"field": "country", "op": "is_empty"}}
    assert international["all"][1]["value"] == {"fact": "home_country"}


def test_defaults_as_documented() -> None:
    by_name = {r.name: r for r in DEFAULT_TAG_RULES.rules}
    assert [r.add_tags for r in DEFAULT_TAG_RULES.rules] == [
        ["high-priority"],
        ["fragile"],
        ["high-value"],
        ["international"],
    ]
    assert by_name["express-shipping"].priority == 50
    assert all(r.enabled for r in DEFAULT_TAG_RULES.rules)


def test_python_built_rules_equal_json_ones() -> None:
    built = TagRuleSet(
        rules=[
            TagRule(
                name="x",
                when=AllOf(
                    all=[
                        NotOf(not_=FieldCondition(field=TagField.UNITS, op=TagOp.LT, value=2)),
                        FieldCondition(field=TagField.SKUS, op=TagOp.CONTAINS_ANY, value=["A"]),
                    ]
                ),
                add_tags=["x"],
            )
        ]
    )
    raw = [
        {
            "name": "x",
            "when": {
                "all": [
                    {"not": {"field": "units", "op": "lt", "value": 2}},
                    {"field": "skus", "op": "contains_any", "value": ["A"]},
                ]
            },
            "add_tags": ["x"],
        }
    ]
    assert validate_tag_rules(raw) == built
    assert built.to_json() == [{**raw[0], "enabled": True}]


def test_order_with_tagging_crosses_the_temporal_converter() -> None:
    ctx = TaggingContext(rules=DEFAULT_TAG_RULES, version=3, product_tags=CATALOG)
    order = make_order(method=OVERNIGHT, lines=FRAGILE_LINES, tagging=ctx)
    payload = pydantic_data_converter.payload_converter.to_payloads([order])
    assert isinstance(payload[0], Payload)
    [back] = pydantic_data_converter.payload_converter.from_payloads(payload, [OrderInput])
    assert back == order
    assert tags_for(back) == tags_for(order)


# --- what the workflow calls ------------------------------------------------------------------


def test_tags_for_merges_the_orders_own_tags() -> None:
    ctx = TaggingContext(rules=DEFAULT_TAG_RULES, version=2, product_tags=CATALOG)
    order = make_order(
        method=EXPRESS, lines=FRAGILE_LINES, tags=["VIP", " repeat-buyer ", "Fragile"], tagging=ctx
    )
    outcome = tags_for(order)
    assert outcome.tags == ["fragile", "high-priority", "repeat-buyer", "VIP"]
    assert outcome.priority == 50
    assert outcome.matched == ["express-shipping", "fragile-items"]
    direct = evaluate(ctx.rules, facts_for(order, ctx.product_tags, ctx.home_country))
    assert outcome.matched == direct.matched and outcome.priority == direct.priority


def test_tags_for_without_context_keeps_only_the_orders_tags() -> None:
    outcome = tags_for(make_order(method=OVERNIGHT, tags=["VIP", "gift"]))
    assert outcome == TagOutcome(tags=["gift", "VIP"])


def test_tags_for_uses_the_home_country_of_the_context() -> None:
    ctx = TaggingContext(rules=DEFAULT_TAG_RULES, version=1, home_country="CA")
    assert tags_for(make_order(tagging=ctx)).tags == ["international"]
    assert tags_for(make_order(country="CA", tagging=ctx)).tags == []


def test_merge_and_kebab() -> None:
    assert merge_tags(["b", "a"], ["A", "c", "", "  "]) == ["a", "b", "c"]
    assert kebab("  Gift Wrap!! ") == "gift-wrap"
    assert kebab("über_fragile") == "über-fragile"


# --- validation: where and why ----------------------------------------------------------------


def rule(when: Any = None, **kw: Any) -> dict[str, Any]:
    return {"name": "r", "when": when or leaf("units", "gt", 1), "add_tags": ["t"], **kw}


INVALID: list[tuple[str, Any, list[tuple[str, str]]]] = [
    ("not a list", "rules", [("rules", "expected a list of rules")]),
    ("rules not a list", {"rules": 3}, [("rules", "valid list")]),
    ("rule not an object", [3], [("rules[0]", "valid dictionary")]),
    (
        "unknown field",
        [rule(leaf("weight", "gt", 1))],
        [("rules[0].when.field", 'unknown field "weight"')],
    ),
    (
        "unknown op",
        [rule(leaf("units", "between", 1))],
        [("rules[0].when.op", 'unknown op "between"')],
    ),
    (
        "gt on a list field",
        [rule(leaf("skus", "gt", 1))],
        [("rules[0].when.op", 'op "gt" does not apply to "skus"')],
    ),
    (
        "contains on a number",
        [rule(leaf("total", "contains_any", [1]))],
        [("rules[0].when.op", "does not apply")],
    ),
    (
        "is_empty on total",
        [rule(leaf("total", "is_empty"))],
        [("rules[0].when.op", "does not apply")],
    ),
    (
        "total not a number",
        [rule(leaf("total", "gte", "lots"))],
        [("rules[0].when.value", 'total compares with a number such as 500 or 499.99, not "lots"')],
    ),
    ("total a bool", [rule(leaf("total", "gte", True))], [("rules[0].when.value", "number")]),
    ("total NaN", [rule(leaf("total", "gte", "NaN"))], [("rules[0].when.value", "number")]),
    (
        "count a fraction",
        [rule(leaf("customer_orders_count", "gt", 1.5))],
        [("rules[0].when.value", "whole number")],
    ),
    (
        "in item",
        [rule(leaf("line_count", "in", [1, "two"]))],
        [("rules[0].when.value[1]", 'line_count compares with a whole number, not "two"')],
    ),
    (
        "in not a list",
        [rule(leaf("country", "in", "CA"))],
        [("rules[0].when.value", "takes a list")],
    ),
    (
        "in empty",
        [rule(leaf("country", "in", []))],
        [("rules[0].when.value", "at least one value")],
    ),
    (
        "eq a list",
        [rule(leaf("country", "eq", ["CA"]))],
        [("rules[0].when.value", "one value, not a list")],
    ),
    (
        "eq no value",
        [rule({"field": "country", "op": "eq"})],
        [("rules[0].when.value", 'op "eq" needs a value')],
    ),
    (
        "is_empty with a value",
        [rule(leaf("order_tags", "is_empty", "x"))],
        [("rules[0].when.value", "is_empty takes no value")],
    ),
    (
        "bad method",
        [rule(leaf("shipping_method", "eq", "rocket"))],
        [("rules[0].when.value", "shipping_method is one of standard, express, overnight")],
    ),
    (
        "bad country",
        [rule(leaf("country", "in", ["CA", "Canada"]))],
        [("rules[0].when.value[1]", "country is a 2-letter code")],
    ),
    (
        "bad currency",
        [rule(leaf("currency", "eq", "US"))],
        [("rules[0].when.value", "3-letter code")],
    ),
    (
        "empty sku",
        [rule(leaf("skus", "contains_any", ["A", " "]))],
        [("rules[0].when.value[1]", "non-empty text")],
    ),
    (
        "other fact",
        [rule(leaf("country", "ne", {"fact": "warehouse_country"}))],
        [("rules[0].when.value", 'compares with is {"fact": "home_country"}')],
    ),
    (
        "fact on province",
        [rule(leaf("province", "eq", {"fact": "home_country"}))],
        [("rules[0].when.value", "non-empty text")],
    ),
    ("empty all", [rule({"all": []})], [("rules[0].when.all", "all needs at least one condition")]),
    (
        "empty any deep",
        [rule({"not": {"any": []}})],
        [("rules[0].when.not.any", "any needs at least one condition")],
    ),
    (
        "not a condition",
        [rule({"all": [leaf("units", "gt", 1), {"fieldd": "units"}]})],
        [("rules[0].when.all[1]", "a condition is")],
    ),
    (
        "two shapes at once",
        [rule({"all": [leaf("units", "gt", 1)], "any": [leaf("units", "gt", 1)]})],
        [("rules[0].when", "a condition is")],
    ),
    (
        "extra key in a leaf",
        [rule({**leaf("units", "gt", 1), "values": 2})],
        [("rules[0].when.values", 'unknown key "values"')],
    ),
    ("extra key in a rule", [rule(add_tag=["x"])], [("rules[0].add_tag", 'unknown key "add_tag"')]),
    ("missing when", [{"name": "r", "add_tags": ["t"]}], [("rules[0].when", "Field required")]),
    (
        "bad tag",
        [rule(add_tags=["ok", "High Priority"])],
        [
            (
                "rules[0].add_tags[1]",
                'a tag is lower-case kebab-case such as "high-priority", not "High Priority"',
            )
        ],
    ),
    ("empty tag", [rule(add_tags=[""])], [("rules[0].add_tags[0]", "kebab-case")]),
    ("long tag", [rule(add_tags=["a" * 41])], [("rules[0].add_tags[0]", "at most 40 characters")]),
    (
        "does nothing",
        [rule(add_tags=[])],
        [("rules[0].add_tags", "at least one tag or sets a priority")],
    ),
    ("priority a bool", [rule(priority=True)], [("rules[0].priority", "valid integer")]),
    (
        "priority too high",
        [rule(priority=5000)],
        [("rules[0].priority", "less than or equal to 1000")],
    ),
    ("enabled a string", [rule(enabled="yes")], [("rules[0].enabled", "valid boolean")]),
    ("blank name", [rule(name="  ")], [("rules[0].name", "a rule needs a name")]),
    (
        "duplicate names",
        [rule(), rule(name="x"), rule(name="R")],
        [("rules[2].name", 'the name "R" is already used by rules[0]')],
    ),
    (
        "several at once, with a duplicate",
        [
            rule(),
            rule({"any": [leaf("units", "gt", 1), leaf("total", "gt", "x")]}, name="b"),
            rule(leaf("skus", "eq", "A"), name="r"),
        ],
        [
            ("rules[1].when.any[1].value", "number"),
            ("rules[2].when.op", "does not apply"),
            ("rules[2].name", "already used by rules[0]"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("raw", "expected"), [pytest.param(r, e, id=name) for name, r, e in INVALID]
)
def test_invalid_rule_sets_say_where_and_why(raw: Any, expected: list[tuple[str, str]]) -> None:
    with pytest.raises(TagRulesInvalid) as caught:
        validate_tag_rules(raw)
    found = [(p.where, p.why) for p in caught.value.errors]
    assert [w for w, _ in found] == [w for w, _ in expected], found
    for (_, why), (_, part) in zip(found, expected, strict=True):
        assert part in why
    assert str(caught.value).startswith(f"{expected[0][0]}: ")


def test_nesting_is_bounded() -> None:
    when: dict[str, Any] = leaf("units", "gt", 1)
    for _ in range(MAX_DEPTH - 1):
        when = {"not": when}
    validate_tag_rules([rule(when)])
    with pytest.raises(TagRulesInvalid) as caught:
        validate_tag_rules([rule({"not": when})])
    assert [p.where for p in caught.value.errors] == ["rules[0].when"]


def test_validated_instances_pass_through() -> None:
    assert validate_tag_rules(DEFAULT_TAG_RULES) is DEFAULT_TAG_RULES
