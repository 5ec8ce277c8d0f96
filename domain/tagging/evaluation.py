"""Evaluating rules: an order's facts, normalised for comparison, and the outcome of a rule
set over them with a readable account of every condition (shown in the rule editor).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from domain.tagging.fields import FIELDS, TagField, TagOp
from domain.tagging.rules import AllOf, AnyCondition, FieldCondition, NotOf, TagRuleSet, children_of
from domain.tagging.text import as_decimal, fold_text, is_home_ref

if TYPE_CHECKING:  # domain.models imports this package (TaggingContext): no runtime import
    from domain.models import OrderInput


class OrderFacts(BaseModel):
    """What rules see of an order, normalised for comparison (codes upper, text folded)."""

    model_config = ConfigDict(frozen=True)

    shipping_method: str
    total: Decimal
    currency: str
    country: str
    province: str
    customer_orders_count: int
    skus: list[str]
    product_tags: list[str]
    line_count: int
    units: int
    channel: str
    order_tags: list[str]
    home_country: str


def _sorted_unique(items: Iterable[str]) -> list[str]:
    return sorted({s for s in items if s})


def facts_for(
    order: OrderInput, product_tags: dict[str, list[str]], home_country: str
) -> OrderFacts:
    """The facts of ``order``; ``product_tags`` maps its SKUs to their catalog tags."""
    address = order.shipping_address
    return OrderFacts(
        shipping_method=order.shipping_method.value,
        total=order.total,
        currency=order.currency.strip().upper(),
        country=(address.country_code or "").strip().upper(),
        province=(address.province_code or "").strip().upper(),
        customer_orders_count=order.customer_orders_count,
        skus=_sorted_unique(ln.sku.strip().upper() for ln in order.lines),
        product_tags=_sorted_unique(
            fold_text(t) for ln in order.lines for t in product_tags.get(ln.sku, [])
        ),
        line_count=len(order.lines),
        units=sum(ln.quantity for ln in order.lines),
        channel=fold_text(order.channel),
        order_tags=_sorted_unique(fold_text(t) for t in order.tags),
        home_country=home_country.strip().upper(),
    )


class RuleExplanation(BaseModel):
    rule: str
    matched: bool
    detail: str


class TagOutcome(BaseModel):
    """Tags (sorted, unique), the highest matched priority, and why."""

    tags: list[str] = Field(default_factory=list)
    priority: int = 0
    matched: list[str] = Field(default_factory=list)
    explanations: list[RuleExplanation] = Field(default_factory=list)


def _norm(field: TagField, v: JsonValue) -> Any:
    """A rule's scalar in the facts' form."""
    kind = FIELDS[field].kind
    if kind == "decimal":
        return as_decimal(v)
    if kind == "integer":
        return v
    text = str(v).strip()
    if kind == "code" or field in (TagField.PROVINCE, TagField.SKUS):
        return text.upper()
    return text.casefold()


def _show(v: object) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    if isinstance(v, str):
        return v if v else '""'
    return str(v)


def _leaf(c: FieldCondition, facts: OrderFacts) -> tuple[bool, str]:
    fact = getattr(facts, c.field.value)
    op, v = c.op, c.value
    if op is TagOp.IS_EMPTY:
        want = True if v is None else bool(v)
        hit = (not fact) == want
        text = f"{c.field.value} is {'' if want else 'not '}empty"
        return hit, f"{text}: {'yes' if hit else 'no'} ({_show(fact)})"
    shown: object
    if is_home_ref(v):
        target: Any = facts.home_country
        shown = f"home country {facts.home_country}"
    elif isinstance(v, list):
        target = [_norm(c.field, x) for x in v]
        shown = v
    else:
        target = _norm(c.field, v)
        shown = v
    if op is TagOp.EQ:
        hit = fact == target
    elif op is TagOp.NE:
        hit = fact != target
    elif op is TagOp.IN:
        hit = fact in target
    elif op is TagOp.NOT_IN:
        hit = fact not in target
    elif op is TagOp.GT:
        hit = fact > target
    elif op is TagOp.GTE:
        hit = fact >= target
    elif op is TagOp.LT:
        hit = fact < target
    elif op is TagOp.LTE:
        hit = fact <= target
    elif op is TagOp.CONTAINS_ANY:
        hit = bool(set(fact) & set(target))
    else:  # CONTAINS_ALL
        hit = set(target) <= set(fact)
    text = f"{c.field.value} {op.value} {_show(shown)}"
    return hit, f"{text}: {'yes' if hit else 'no'} ({_show(fact)})"


def holds(c: AnyCondition, facts: OrderFacts) -> tuple[bool, str]:
    """Whether ``c`` holds for ``facts``, with a readable account of every part."""
    if isinstance(c, FieldCondition):
        return _leaf(c, facts)
    if isinstance(c, NotOf):
        hit, text = holds(c.not_, facts)
        return not hit, f"not({text})"
    parts = [holds(k, facts) for k in children_of(c)]
    if isinstance(c, AllOf):
        return all(h for h, _ in parts), "all(" + "; ".join(t for _, t in parts) + ")"
    return any(h for h, _ in parts), "any(" + "; ".join(t for _, t in parts) + ")"


def evaluate(rule_set: TagRuleSet, facts: OrderFacts) -> TagOutcome:
    """Apply every enabled rule, in order; the same facts always give the same outcome."""
    tags: set[str] = set()
    priority = 0
    matched: list[str] = []
    explanations: list[RuleExplanation] = []
    for rule in rule_set.rules:
        if not rule.enabled:
            explanations.append(RuleExplanation(rule=rule.name, matched=False, detail="disabled"))
            continue
        hit, detail = holds(rule.when, facts)
        explanations.append(RuleExplanation(rule=rule.name, matched=hit, detail=detail))
        if hit:
            matched.append(rule.name)
            tags.update(rule.add_tags)
            priority = max(priority, rule.priority or 0)
    return TagOutcome(
        tags=sorted(tags), priority=priority, matched=matched, explanations=explanations
    )
