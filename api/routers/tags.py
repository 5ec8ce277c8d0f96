"""Tag rules (versioned, validated) and the dry run "which tags would this order get, and why".

The rules are data in Postgres (``rule_sets`` kind ``tags``): an edit is a new version, and
intake hands each order the version in force, which its workflow evaluates and records.
A refused rule set answers 422 with ``errors: [{where, why}]``, where is a path into the
posted JSON such as ``rules[2].when.any[0].value``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.auth import Admin, Ops
from api.deps import AppSettings, Session
from api.intake import order_input
from api.problems import PROBLEM_MEDIA_TYPE, Problem, ProblemBody, problem_responses
from api.schemas.rules import RulesInvalidBody, TagPreviewIn, TagPreviewOut, TagRulesIn, TagRulesOut
from domain.codes import ProblemCode
from domain.tagging import (
    TaggingContext,
    TagRuleSet,
    TagRulesInvalid,
    tags_for,
    validate_tag_rules,
)
from store import rules
from store.tables import RuleSet
from store.tagging import KIND, load_tag_rules, product_tags

router = APIRouter(tags=["tag rules"], responses=problem_responses(401, 403))


def _checked(raw: list[Any]) -> TagRuleSet:
    try:
        return validate_tag_rules(raw)
    except TagRulesInvalid as exc:
        raise Problem(
            422,
            f"the tag rules are invalid: {exc}",
            reason=ProblemCode.INVALID_RULES,
            extra={"errors": [e.model_dump() for e in exc.errors]},
        ) from exc


_INVALID: dict[int | str, dict[str, Any]] = {
    422: {
        # Or any other 422 (a malformed body, NUL in a string): a plain problem document.
        "model": RulesInvalidBody | ProblemBody,
        "content": {PROBLEM_MEDIA_TYPE: {}},
        "description": "the rules are invalid (errors say where and why), or the body is",
    }
}


@router.get("/api/v1/rules/tags", response_model=TagRulesOut)
async def get_rules(session: Session, _: Ops) -> TagRulesOut:
    stored = await rules.current(session, KIND)
    if stored is None:
        version, rule_set = await load_tag_rules(session)
        return TagRulesOut(version=version, rules=rule_set.rules)
    return TagRulesOut(
        version=stored.version,
        rules=validate_tag_rules(stored.rules).rules,
        actor=stored.actor,
        created_at=stored.created_at,
    )


@router.put(
    "/api/v1/rules/tags",
    response_model=TagRulesOut,
    responses={**problem_responses(409), **_INVALID},
)
async def put_rules(body: TagRulesIn, session: Session, who: Admin) -> TagRulesOut:
    rule_set = _checked(body.rules)
    try:
        version = await rules.save(
            session, KIND, rule_set.to_json(), actor=who.key_id, expected=body.expected_version
        )
    except rules.VersionConflict as exc:
        await session.rollback()
        raise Problem(
            409,
            f"the tag rules changed meanwhile (now version {exc.current}); reload and retry",
            reason=ProblemCode.VERSION_CONFLICT,
            extra={"current_version": exc.current},
        ) from exc
    row = await session.get(RuleSet, (KIND, version))
    await session.commit()
    return TagRulesOut(
        version=version,
        rules=rule_set.rules,
        actor=who.key_id,
        created_at=row.created_at if row is not None else None,
    )


@router.post("/api/v1/rules/tags/preview", response_model=TagPreviewOut, responses=_INVALID)
async def preview(
    body: TagPreviewIn, session: Session, settings: AppSettings, _: Ops
) -> TagPreviewOut:
    """Tag a would-be order with the saved rules, or with ``rules`` to try an edit first."""
    order = order_input(body, settings).model_copy(
        update={"customer_orders_count": body.customer_orders_count}
    )
    version: int | None
    if body.rules is not None:
        version, rule_set = None, _checked(body.rules)
    else:
        version, rule_set = await load_tag_rules(session)
    context = TaggingContext(
        rules=rule_set,
        version=version or 0,
        product_tags=await product_tags(session, [ln.sku for ln in order.lines]),
        home_country=settings.home_country.upper(),
    )
    await session.rollback()
    outcome = tags_for(order.model_copy(update={"tagging": context}))
    return TagPreviewOut(
        tags=outcome.tags,
        priority=outcome.priority,
        matched=outcome.matched,
        rules_version=version,
        explanations=outcome.explanations,
    )
