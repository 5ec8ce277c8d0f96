"""Checking a rule set from JSON with precise errors: every problem, located like
``rules[2].when.any[0].value``, so the editor can point at it.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ValidationError

from domain.tagging.rules import TagRuleSet, duplicate_names
from domain.tagging.text import as_json


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
            msg = f"unknown key {as_json(last)}"
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
        for i, name, j in duplicate_names(names):
            where = f"rules[{i}].name"
            if all(p.where != where for p in problems):
                why = f"the name {as_json(name)} is already used by rules[{j}]"
                problems.append(RuleProblem(where=where, why=why))
    raise TagRulesInvalid(problems)
