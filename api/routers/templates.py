"""Fulfillment templates: the steps and SLAs each tag brings, versioned like other rules.

Orders take the version in force at intake and keep it, so editing templates never
changes the steps of an order already under way.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import Admin, Ops
from api.deps import Session
from api.problems import Problem, problem_responses
from api.schemas.rules import StepOut, TemplatesIn, TemplatesOut
from domain.codes import ProblemCode
from domain.templates import plan_for
from store import rules
from store.templates import load_templates, save_templates

router = APIRouter(tags=["templates"], responses=problem_responses(401, 403))


@router.get("/api/v1/rules/templates", response_model=TemplatesOut)
async def get_templates(session: Session, _: Ops) -> TemplatesOut:
    version, templates = await load_templates(session)
    return TemplatesOut(version=version, templates=templates)


@router.put(
    "/api/v1/rules/templates", response_model=TemplatesOut, responses=problem_responses(409, 422)
)
async def put_templates(body: TemplatesIn, session: Session, who: Admin) -> TemplatesOut:
    try:
        version = await save_templates(
            session, body.templates, actor=who.key_id, expected=body.expected_version
        )
    except rules.VersionConflict as exc:
        await session.rollback()
        raise Problem(
            409,
            f"the templates changed meanwhile (now version {exc.current}); reload and retry",
            reason=ProblemCode.VERSION_CONFLICT,
            extra={"current_version": exc.current},
        ) from exc
    await session.commit()
    return TemplatesOut(version=version, templates=body.templates)


@router.get("/api/v1/rules/templates/steps", response_model=list[StepOut])
async def steps_for(
    session: Session, who: Ops, tags: Annotated[str, Query(max_length=2000)] = ""
) -> list[StepOut]:
    """The steps an order with these comma-separated ``tags`` would go through."""
    templates = (await load_templates(session))[1]
    plan = plan_for([t for t in tags.split(",") if t.strip()], templates)
    return [
        StepOut(step=p.step.value, sla_seconds=p.sla_seconds, added_by=p.added_by)
        for p in plan.steps
    ]
