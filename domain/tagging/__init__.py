"""Order tagging rules: conditions over an order that add tags and a priority.

Pure and deterministic (no clocks, randomness or I/O): ``OrderWorkflow`` evaluates the rule
set it was started with, so replaying its history gives the same tags.

Rules are data (JSON in Postgres, edited through the API), in a small condition language::

    {"name": "express-shipping",
     "when": {"field": "shipping_method", "op": "in", "value": ["express", "overnight"]},
     "add_tags": ["high-priority"], "priority": 50, "enabled": true}

A condition is one of ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": {...}}`` or a leaf
``{"field", "op", "value"}``. Which ops a field takes, and what value, is in ``FIELDS``.
``country`` may compare with the store's home country, a fact rather than a stored
constant: ``{"field": "country", "op": "ne", "value": {"fact": "home_country"}}``.

Text compares case-insensitively. ``total`` compares as ``Decimal`` (a rule may write
``500``, ``499.99`` or ``"499.99"``).

The package, by concept: ``fields`` (what a rule may test), ``text`` (how values are
written), ``rules`` (the condition language), ``validation``, ``evaluation``, ``context``
(what an order carries) and ``defaults``; every public name is re-exported here.
"""

from domain.tagging.context import (
    TaggingContext,
    merge_tags,
    tags_for,
)
from domain.tagging.defaults import (
    DEFAULT_TAG_RULES,
)
from domain.tagging.evaluation import (
    OrderFacts,
    RuleExplanation,
    TagOutcome,
    evaluate,
    facts_for,
    holds,
)
from domain.tagging.fields import (
    FIELDS,
    HOME_COUNTRY_REF,
    MAX_DEPTH,
    MAX_LIST_VALUES,
    MAX_PRIORITY,
    MAX_RULES,
    MAX_TAG_LENGTH,
    MAX_TAGS_PER_RULE,
    FieldSpec,
    Kind,
    TagField,
    TagOp,
)
from domain.tagging.rules import (
    AllOf,
    AnyCondition,
    AnyOf,
    Condition,
    FieldCondition,
    NotOf,
    TagRule,
    TagRuleSet,
)
from domain.tagging.text import (
    TagText,
    kebab,
)
from domain.tagging.validation import (
    RuleProblem,
    TagRulesInvalid,
    validate_tag_rules,
)

__all__ = [
    "AllOf",
    "AnyCondition",
    "AnyOf",
    "Condition",
    "DEFAULT_TAG_RULES",
    "FIELDS",
    "FieldCondition",
    "FieldSpec",
    "HOME_COUNTRY_REF",
    "Kind",
    "MAX_DEPTH",
    "MAX_LIST_VALUES",
    "MAX_PRIORITY",
    "MAX_RULES",
    "MAX_TAGS_PER_RULE",
    "MAX_TAG_LENGTH",
    "NotOf",
    "OrderFacts",
    "RuleExplanation",
    "RuleProblem",
    "TagField",
    "TagOp",
    "TagOutcome",
    "TagRule",
    "TagRuleSet",
    "TagRulesInvalid",
    "TagText",
    "TaggingContext",
    "evaluate",
    "facts_for",
    "holds",
    "kebab",
    "merge_tags",
    "tags_for",
    "validate_tag_rules",
]
