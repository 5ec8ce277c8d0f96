"""The condition language and the rules written in it: a condition is ``all``, ``any``,
``not`` or a leaf ``{field, op, value}``; a rule adds tags (and a priority) when its
condition holds. Every model validates itself, so a stored rule set is always usable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    StrictBool,
    StrictInt,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from domain.tagging.fields import (
    FIELDS,
    HOME_COUNTRY_REF,
    MAX_DEPTH,
    MAX_LIST_VALUES,
    MAX_PRIORITY,
    MAX_RULES,
    MAX_TAGS_PER_RULE,
    TagField,
    TagOp,
)
from domain.tagging.text import TagText, as_decimal, as_json, fold_text, is_home_ref, rule_problem

_STRICT = ConfigDict(
    extra="forbid",
    frozen=True,
    validate_by_name=True,
    validate_by_alias=True,
    serialize_by_alias=True,
)


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
            raise rule_problem(f"unknown field {as_json(v)}; fields are {', '.join(FIELDS)}")
        return v

    @field_validator("op", mode="before")
    @classmethod
    def _known_op(cls, v: object, info: ValidationInfo) -> object:
        if not isinstance(v, str) or v not in TagOp.__members__.values():
            raise rule_problem(
                f"unknown op {as_json(v)}; ops are {', '.join(o.value for o in TagOp)}"
            )
        field = info.data.get("field")
        if field is not None and TagOp(v) not in FIELDS[field].ops:
            allowed = ", ".join(o.value for o in TagOp if o in FIELDS[field].ops)
            raise rule_problem(
                f"op {as_json(v)} does not apply to {as_json(field.value)}; it takes {allowed}"
            )
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
            raise rule_problem(f"is_empty takes no value (or true / false), not {as_json(v)}")
        return
    if v is None:
        raise rule_problem(f"op {as_json(op.value)} needs a value")
    if op in (TagOp.IN, TagOp.NOT_IN, TagOp.CONTAINS_ANY, TagOp.CONTAINS_ALL):
        if not isinstance(v, list):
            raise rule_problem(f"op {as_json(op.value)} takes a list of values, not {as_json(v)}")
        if not v:
            raise rule_problem(f"op {as_json(op.value)} needs at least one value")
        if len(v) > MAX_LIST_VALUES:
            raise rule_problem(f"at most {MAX_LIST_VALUES} values")
        for i, item in enumerate(v):
            _check_scalar(field, item, f"[{i}]")
        return
    if field is TagField.COUNTRY and isinstance(v, dict):
        if not is_home_ref(v):
            ref = f'{{"fact": "{HOME_COUNTRY_REF}"}}'
            raise rule_problem(f"the only fact a country compares with is {ref}, not {as_json(v)}")
        return
    if isinstance(v, list):
        raise rule_problem(f"op {as_json(op.value)} compares with one value, not a list")
    _check_scalar(field, v, "")


def _check_scalar(field: TagField, v: JsonValue, subpath: str) -> None:
    spec, name = FIELDS[field], field.value
    if spec.kind == "decimal":
        if as_decimal(v) is None:
            why = f"{name} compares with a number such as 500 or 499.99, not {as_json(v)}"
            raise rule_problem(why, subpath)
        return
    if spec.kind == "integer":
        if not isinstance(v, int) or isinstance(v, bool):
            raise rule_problem(f"{name} compares with a whole number, not {as_json(v)}", subpath)
        return
    if not isinstance(v, str) or not v.strip():
        raise rule_problem(f"{name} compares with non-empty text, not {as_json(v)}", subpath)
    if spec.kind == "choice" and fold_text(v) not in spec.choices:
        raise rule_problem(f"{name} is one of {', '.join(spec.choices)}, not {as_json(v)}", subpath)
    if spec.kind == "code" and not (len(v.strip()) == spec.code_length and v.strip().isalpha()):
        raise rule_problem(f"{name} is a {spec.code_length}-letter code, not {as_json(v)}", subpath)


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


def children_of(c: AnyCondition) -> list[AnyCondition]:
    if isinstance(c, AllOf):
        return list(c.all)
    if isinstance(c, AnyOf):
        return list(c.any)
    if isinstance(c, NotOf):
        return [c.not_]
    return []


def _depth(c: AnyCondition) -> int:
    return 1 + max((_depth(k) for k in children_of(c)), default=0)


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
            raise rule_problem("a rule needs a name")
        return v.strip()

    @model_validator(mode="after")
    def _does_something(self) -> TagRule:
        if not self.add_tags and self.priority is None:
            raise rule_problem("a rule adds at least one tag or sets a priority", ".add_tags")
        if _depth(self.when) > MAX_DEPTH:
            raise rule_problem(f"conditions nest at most {MAX_DEPTH} deep", ".when")
        return self


def duplicate_names(names: Sequence[object]) -> list[tuple[int, str, int]]:
    """``(index, name, first index)`` of every name seen before (case-insensitive)."""
    first: dict[str, int] = {}
    dups = []
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            continue
        key = fold_text(name)
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
        dups = duplicate_names([r.name for r in v])
        if dups:
            i, name, j = dups[0]
            raise rule_problem(
                f"the name {as_json(name)} is already used by rules[{j}]", f"[{i}].name"
            )
        return v

    def to_json(self) -> list[dict[str, Any]]:
        """The stored form: a JSON list of rules."""
        return [r.model_dump(mode="json", exclude_none=True) for r in self.rules]
