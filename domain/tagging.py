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
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    StrictBool,
    StrictInt,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from domain.status import ShippingMethod

if TYPE_CHECKING:  # domain.models imports this module (TaggingContext): no runtime import
    from domain.models import OrderInput

#: Limits that keep a rule set small enough to travel inside every order's workflow input.
MAX_RULES = 200
MAX_DEPTH = 8
MAX_LIST_VALUES = 500
MAX_TAGS_PER_RULE = 20
MAX_TAG_LENGTH = 40
MAX_PRIORITY = 1000

#: The one fact a rule may compare with instead of a constant.
HOME_COUNTRY_REF = "home_country"


class TagField(StrEnum):
    SHIPPING_METHOD = "shipping_method"
    TOTAL = "total"
    CURRENCY = "currency"
    COUNTRY = "country"
    PROVINCE = "province"
    CUSTOMER_ORDERS_COUNT = "customer_orders_count"
    SKUS = "skus"
    PRODUCT_TAGS = "product_tags"
    LINE_COUNT = "line_count"
    UNITS = "units"
    CHANNEL = "channel"
    ORDER_TAGS = "order_tags"


class TagOp(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    CONTAINS_ANY = "contains_any"
    CONTAINS_ALL = "contains_all"
    IS_EMPTY = "is_empty"


Kind = Literal["choice", "code", "text", "decimal", "integer", "list"]

_EQUALITY = frozenset({TagOp.EQ, TagOp.NE, TagOp.IN, TagOp.NOT_IN})
_ORDERING = frozenset({TagOp.GT, TagOp.GTE, TagOp.LT, TagOp.LTE})
_LISTS = frozenset({TagOp.CONTAINS_ANY, TagOp.CONTAINS_ALL, TagOp.IS_EMPTY})


@dataclass(frozen=True)
class FieldSpec:
    """What a field holds and the ops it takes."""

    kind: Kind
    ops: frozenset[TagOp]
    choices: tuple[str, ...] = ()
    code_length: int = 0  # "code": letters only, this many (ISO country, currency)


FIELDS: dict[TagField, FieldSpec] = {
    TagField.SHIPPING_METHOD: FieldSpec(
        "choice", _EQUALITY, choices=tuple(m.value for m in ShippingMethod)
    ),
    TagField.TOTAL: FieldSpec("decimal", frozenset({TagOp.EQ, TagOp.NE}) | _ORDERING),
    TagField.CURRENCY: FieldSpec("code", _EQUALITY, code_length=3),  # ISO 4217
    TagField.COUNTRY: FieldSpec("code", _EQUALITY | {TagOp.IS_EMPTY}, code_length=2),  # ISO 3166
    TagField.PROVINCE: FieldSpec("text", _EQUALITY | {TagOp.IS_EMPTY}),  # region code: OR, ON
    TagField.CUSTOMER_ORDERS_COUNT: FieldSpec("integer", _EQUALITY | _ORDERING),
    TagField.SKUS: FieldSpec("list", _LISTS),
    TagField.PRODUCT_TAGS: FieldSpec("list", _LISTS),  # catalog tags of the order's products
    TagField.LINE_COUNT: FieldSpec("integer", _EQUALITY | _ORDERING),
    TagField.UNITS: FieldSpec("integer", _EQUALITY | _ORDERING),
    TagField.CHANNEL: FieldSpec("text", _EQUALITY),  # e.g. shopify:demo
    TagField.ORDER_TAGS: FieldSpec("list", _LISTS),  # the order's own (Shopify's) tags
}


# --- text ---------------------------------------------------------------------------------

_KEBAB = re.compile(r"[\W_]+")


def kebab(text: str) -> str:
    """``"Gift Wrap"`` → ``"gift-wrap"``: the form of every tag a rule adds."""
    return _KEBAB.sub("-", text.casefold()).strip("-")


def _fold(text: str) -> str:
    return text.strip().casefold()


def _check_tag(tag: str) -> str:
    if not tag or tag != kebab(tag):
        suggestion = kebab(tag)
        hint = f" such as {_j(suggestion)}" if suggestion else ""
        raise _problem(f"a tag is lower-case kebab-case{hint}, not {_j(tag)}")
    if len(tag) > MAX_TAG_LENGTH:
        raise _problem(f"a tag is at most {MAX_TAG_LENGTH} characters")
    return tag


TagText = Annotated[str, AfterValidator(_check_tag)]


# --- the condition language -----------------------------------------------------------------

_STRICT = ConfigDict(
    extra="forbid",
    frozen=True,
    validate_by_name=True,
    validate_by_alias=True,
    serialize_by_alias=True,
)


def _j(v: object) -> str:
    """A value as it reads in JSON (the rules' own language)."""
    return json.dumps(v, default=str)


def _problem(why: str, subpath: str = "") -> PydanticCustomError:
    """A validation error; ``subpath`` (``"[2]"``) points inside the value that failed."""
    return PydanticCustomError("invalid_rule", why, {"subpath": subpath})


def _as_decimal(v: object) -> Decimal | None:
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        return None
    try:
        d = Decimal(str(v).strip())
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _is_home_ref(v: object) -> bool:
    return isinstance(v, dict) and v == {"fact": HOME_COUNTRY_REF}


class FieldCondition(BaseModel):
    """A leaf: ``{"field": ..., "op": ..., "value": ...}``."""

    model_config = _STRICT

    field: TagField
    op: TagOp
    value: JsonValue = Field(default=None, validate_default=True)

    @field_validator("field", mode="before")
    @classmethod
    def _known_field(cls, v: object) -> object:
        if not isinstance(v, str) or v not in FIELDS:
            raise _problem(f"unknown field {_j(v)}; fields are {', '.join(FIELDS)}")
        return v

    @field_validator("op", mode="before")
    @classmethod
    def _known_op(cls, v: object, info: ValidationInfo) -> object:
        if not isinstance(v, str) or v not in TagOp.__members__.values():
            raise _problem(f"unknown op {_j(v)}; ops are {', '.join(o.value for o in TagOp)}")
        field = info.data.get("field")
        if field is not None and TagOp(v) not in FIELDS[field].ops:
            allowed = ", ".join(o.value for o in TagOp if o in FIELDS[field].ops)
            raise _problem(f"op {_j(v)} does not apply to {_j(field.value)}; it takes {allowed}")
        return v

    @field_validator("value")
    @classmethod
    def _value_fits(cls, v: JsonValue, info: ValidationInfo) -> JsonValue:
        field, op = info.data.get("field"), info.data.get("op")
        if field is None or op is None:
            return v  # already reported
        _check_value(field, op, v)
        return v


def _check_value(field: TagField, op: TagOp, v: JsonValue) -> None:
    if op is TagOp.IS_EMPTY:
        if v is not None and not isinstance(v, bool):
            raise _problem(f"is_empty takes no value (or true / false), not {_j(v)}")
        return
    if v is None:
        raise _problem(f"op {_j(op.value)} needs a value")
    if op in (TagOp.IN, TagOp.NOT_IN, TagOp.CONTAINS_ANY, TagOp.CONTAINS_ALL):
        if not isinstance(v, list):
            raise _problem(f"op {_j(op.value)} takes a list of values, not {_j(v)}")
        if not v:
            raise _problem(f"op {_j(op.value)} needs at least one value")
        if len(v) > MAX_LIST_VALUES:
            raise _problem(f"at most {MAX_LIST_VALUES} values")
        for i, item in enumerate(v):
            _check_scalar(field, item, f"[{i}]")
        return
    if field is TagField.COUNTRY and isinstance(v, dict):
        if not _is_home_ref(v):
            ref = f'{{"fact": "{HOME_COUNTRY_REF}"}}'
            raise _problem(f"the only fact a country compares with is {ref}, not {_j(v)}")
        return
    if isinstance(v, list):
        raise _problem(f"op {_j(op.value)} compares with one value, not a list")
    _check_scalar(field, v, "")


def _check_scalar(field: TagField, v: JsonValue, subpath: str) -> None:
    spec, name = FIELDS[field], field.value
    if spec.kind == "decimal":
        if _as_decimal(v) is None:
            why = f"{name} compares with a number such as 500 or 499.99, not {_j(v)}"
            raise _problem(why, subpath)
        return
    if spec.kind == "integer":
        if not isinstance(v, int) or isinstance(v, bool):
            raise _problem(f"{name} compares with a whole number, not {_j(v)}", subpath)
        return
    if not isinstance(v, str) or not v.strip():
        raise _problem(f"{name} compares with non-empty text, not {_j(v)}", subpath)
    if spec.kind == "choice" and _fold(v) not in spec.choices:
        raise _problem(f"{name} is one of {', '.join(spec.choices)}, not {_j(v)}", subpath)
    if spec.kind == "code" and not (len(v.strip()) == spec.code_length and v.strip().isalpha()):
        raise _problem(f"{name} is a {spec.code_length}-letter code, not {_j(v)}", subpath)


class AllOf(BaseModel):
    """True when every condition is."""

    model_config = _STRICT
    all: list[Condition] = Field(min_length=1)


class AnyOf(BaseModel):
    """True when at least one condition is."""

    model_config = _STRICT
    any: list[Condition] = Field(min_length=1)


class NotOf(BaseModel):
    """True when the condition is not. JSON: ``{"not": {...}}``."""

    model_config = _STRICT
    not_: Condition = Field(validation_alias="not", serialization_alias="not")


_SHAPES = {"all": "cond:all", "any": "cond:any", "not": "cond:not", "field": "cond:leaf"}
_MODELS: dict[type, str] = {}  # filled below, once the classes exist


def _shape(v: Any) -> str | None:
    if isinstance(v, dict):
        keys = [k for k in _SHAPES if k in v]
        return _SHAPES[keys[0]] if len(keys) == 1 else None
    return _MODELS.get(type(v))


Condition = Annotated[
    Annotated[AllOf, Tag("cond:all")]
    | Annotated[AnyOf, Tag("cond:any")]
    | Annotated[NotOf, Tag("cond:not")]
    | Annotated[FieldCondition, Tag("cond:leaf")],
    Discriminator(
        _shape,
        custom_error_type="bad_condition",
        custom_error_message=(
            'a condition is {"all": [...]}, {"any": [...]}, {"not": {...}} '
            'or {"field": ..., "op": ..., "value": ...}'
        ),
    ),
]
_MODELS.update(
    {AllOf: "cond:all", AnyOf: "cond:any", NotOf: "cond:not", FieldCondition: "cond:leaf"}
)
for _model in (AllOf, AnyOf, NotOf):
    _model.model_rebuild()

AnyCondition = AllOf | AnyOf | NotOf | FieldCondition


def _children(c: AnyCondition) -> list[AnyCondition]:
    if isinstance(c, AllOf):
        return list(c.all)
    if isinstance(c, AnyOf):
        return list(c.any)
    if isinstance(c, NotOf):
        return [c.not_]
    return []


def _depth(c: AnyCondition) -> int:
    return 1 + max((_depth(k) for k in _children(c)), default=0)


class TagRule(BaseModel):
    """``{name, when, add_tags, priority?, enabled}``: when ``when`` holds, add the tags."""

    model_config = _STRICT

    name: str = Field(min_length=1, max_length=80)
    when: Condition
    add_tags: list[TagText] = Field(default_factory=list, max_length=MAX_TAGS_PER_RULE)
    #: Matched rules' priorities: the order takes the highest (0 when none sets one).
    priority: StrictInt | None = Field(default=None, ge=0, le=MAX_PRIORITY)
    enabled: StrictBool = True

    @field_validator("name")
    @classmethod
    def _named(cls, v: str) -> str:
        if not v.strip():
            raise _problem("a rule needs a name")
        return v.strip()

    @model_validator(mode="after")
    def _does_something(self) -> TagRule:
        if not self.add_tags and self.priority is None:
            raise _problem("a rule adds at least one tag or sets a priority", ".add_tags")
        if _depth(self.when) > MAX_DEPTH:
            raise _problem(f"conditions nest at most {MAX_DEPTH} deep", ".when")
        return self


def _duplicate_names(names: Sequence[object]) -> list[tuple[int, str, int]]:
    """``(index, name, first index)`` of every name seen before (case-insensitive)."""
    first: dict[str, int] = {}
    dups = []
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            continue
        key = _fold(name)
        if key in first:
            dups.append((i, name, first[key]))
        else:
            first[key] = i
    return dups


class TagRuleSet(BaseModel):
    """An ordered rule set with unique names: one stored version."""

    model_config = _STRICT

    rules: list[TagRule] = Field(default_factory=list, max_length=MAX_RULES)

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, v: list[TagRule]) -> list[TagRule]:
        dups = _duplicate_names([r.name for r in v])
        if dups:
            i, name, j = dups[0]
            raise _problem(f"the name {_j(name)} is already used by rules[{j}]", f"[{i}].name")
        return v

    def to_json(self) -> list[dict[str, Any]]:
        """The stored form: a JSON list of rules."""
        return [r.model_dump(mode="json", exclude_none=True) for r in self.rules]


# --- validation with precise errors -----------------------------------------------------------


class RuleProblem(BaseModel):
    """One reason a rule set was refused: ``where`` is a path like ``rules[2].when.any[0]``."""

    where: str
    why: str


class TagRulesInvalid(ValueError):
    """A rule set that cannot be saved; ``errors`` says where and why."""

    def __init__(self, errors: list[RuleProblem]) -> None:
        super().__init__("; ".join(f"{e.where}: {e.why}" for e in errors))
        self.errors = errors


def _where(loc: Iterable[int | str], subpath: str = "") -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part.startswith("cond:"):  # the union's tag, not a place in the JSON
            out += f".{part}" if out else part
    return out + subpath


def _problems(exc: ValidationError) -> list[RuleProblem]:
    found: list[RuleProblem] = []
    for e in exc.errors():
        ctx = e.get("ctx") or {}
        msg = str(e["msg"]).removeprefix("Value error, ")
        last = e["loc"][-1] if e["loc"] else ""
        if e["type"] == "too_short" and last in ("all", "any"):
            msg = f"{last} needs at least one condition"
        elif e["type"] == "extra_forbidden":
            msg = f"unknown key {_j(last)}"
        found.append(RuleProblem(where=_where(e["loc"], str(ctx.get("subpath", ""))), why=msg))
    return found


def validate_tag_rules(raw: object) -> TagRuleSet:
    """Check a rule set from JSON: ``{"rules": [...]}`` or the bare list of rules.

    Raises:
        TagRulesInvalid: with every problem pydantic and the semantic checks found, each
            located like ``rules[2].when.any[0].value``.
    """
    if isinstance(raw, TagRuleSet):
        return raw
    data = {"rules": raw} if isinstance(raw, list) else raw
    if not isinstance(data, dict):
        raise TagRulesInvalid([RuleProblem(where="rules", why="expected a list of rules")])
    try:
        return TagRuleSet.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc)
    raw_rules = data.get("rules")
    if isinstance(raw_rules, list):  # duplicates too, though the rules failed before that check
        names = [r.get("name") if isinstance(r, dict) else None for r in raw_rules]
        for i, name, j in _duplicate_names(names):
            where = f"rules[{i}].name"
            if all(p.where != where for p in problems):
                why = f"the name {_j(name)} is already used by rules[{j}]"
                problems.append(RuleProblem(where=where, why=why))
    raise TagRulesInvalid(problems)


# --- facts and evaluation ----------------------------------------------------------------------


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
            _fold(t) for ln in order.lines for t in product_tags.get(ln.sku, [])
        ),
        line_count=len(order.lines),
        units=sum(ln.quantity for ln in order.lines),
        channel=_fold(order.channel),
        order_tags=_sorted_unique(_fold(t) for t in order.tags),
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
        return _as_decimal(v)
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
    if _is_home_ref(v):
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
    parts = [holds(k, facts) for k in _children(c)]
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


# --- what an order carries -------------------------------------------------------------------


class TaggingContext(BaseModel):
    """Everything the workflow needs to tag an order deterministically, fixed at intake."""

    rules: TagRuleSet
    version: int = Field(description="the rule set version; 0 = the built-in defaults")
    product_tags: dict[str, list[str]] = Field(default_factory=dict)
    home_country: str = "US"


def merge_tags(rule_tags: Iterable[str], own_tags: Iterable[str]) -> list[str]:
    """Rule tags plus the order's own tags as written (trimmed), one per case-folded text."""
    seen: dict[str, str] = {}
    for tag in [*rule_tags, *own_tags]:
        text = tag.strip()
        if text and _fold(text) not in seen:
            seen[_fold(text)] = text
    return sorted(seen.values(), key=lambda t: (_fold(t), t))


def tags_for(order: OrderInput) -> TagOutcome:
    """The order's tags and priority: its rules' outcome plus the tags it came with.

    Without a tagging context (orders taken in before rules existed) no rule applies, but
    the order's own tags are still in the outcome.
    """
    ctx = order.tagging
    if ctx is None:
        outcome = TagOutcome()
    else:
        outcome = evaluate(ctx.rules, facts_for(order, ctx.product_tags, ctx.home_country))
    return outcome.model_copy(update={"tags": merge_tags(outcome.tags, order.tags)})


# --- the defaults -----------------------------------------------------------------------------


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
