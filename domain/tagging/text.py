"""How rules write text and values: tags in kebab-case, text compared case-folded, values
quoted as JSON in error messages (the rules' own language), totals as ``Decimal``.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from domain.tagging.fields import HOME_COUNTRY_REF, MAX_TAG_LENGTH

_KEBAB = re.compile(r"[\W_]+")


def kebab(text: str) -> str:
    """``"Gift Wrap"`` → ``"gift-wrap"``: the form of every tag a rule adds."""
    return _KEBAB.sub("-", text.casefold()).strip("-")


def fold_text(text: str) -> str:
    return text.strip().casefold()


def as_json(v: object) -> str:
    """A value as it reads in JSON (the rules' own language)."""
    return json.dumps(v, default=str)


def rule_problem(why: str, subpath: str = "") -> PydanticCustomError:
    """A validation error; ``subpath`` (``"[2]"``) points inside the value that failed."""
    return PydanticCustomError("invalid_rule", why, {"subpath": subpath})


def _check_tag(tag: str) -> str:
    if not tag or tag != kebab(tag):
        suggestion = kebab(tag)
        hint = f" such as {as_json(suggestion)}" if suggestion else ""
        raise rule_problem(f"a tag is lower-case kebab-case{hint}, not {as_json(tag)}")
    if len(tag) > MAX_TAG_LENGTH:
        raise rule_problem(f"a tag is at most {MAX_TAG_LENGTH} characters")
    return tag


TagText = Annotated[str, AfterValidator(_check_tag)]


def as_decimal(v: object) -> Decimal | None:
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        return None
    try:
        d = Decimal(str(v).strip())
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def is_home_ref(v: object) -> bool:
    return isinstance(v, dict) and v == {"fact": HOME_COUNTRY_REF}
