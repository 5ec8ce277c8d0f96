"""The built-in rule set, seeded as version 1 when no tag rules are stored."""

from __future__ import annotations

from pydantic import JsonValue

from domain.tagging.fields import HOME_COUNTRY_REF, TagField, TagOp
from domain.tagging.rules import AllOf, FieldCondition, NotOf, TagRule, TagRuleSet


def _leaf_rule(field: TagField, op: TagOp, value: JsonValue = None) -> FieldCondition:
    return FieldCondition(field=field, op=op, value=value)


#: Seeded as version 1 when no tag rules are stored.
DEFAULT_TAG_RULES = TagRuleSet(
    rules=[
        TagRule(
            name="express-shipping",
            when=_leaf_rule(TagField.SHIPPING_METHOD, TagOp.IN, ["express", "overnight"]),
            add_tags=["high-priority"],
            priority=50,
        ),
        TagRule(
            name="fragile-items",
            when=_leaf_rule(TagField.PRODUCT_TAGS, TagOp.CONTAINS_ANY, ["fragile"]),
            add_tags=["fragile"],
        ),
        TagRule(
            name="high-value",
            when=_leaf_rule(TagField.TOTAL, TagOp.GTE, 500),
            add_tags=["high-value"],
        ),
        TagRule(
            name="international",
            when=AllOf(
                all=[
                    NotOf(not_=_leaf_rule(TagField.COUNTRY, TagOp.IS_EMPTY)),
                    _leaf_rule(TagField.COUNTRY, TagOp.NE, {"fact": HOME_COUNTRY_REF}),
                ]
            ),
            add_tags=["international"],
        ),
    ]
)
