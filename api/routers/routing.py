"""Routing rules (versioned, validated) and the dry run "where would this order go, and why".

The rules are data in Postgres (``rule_sets``): an edit is a new version, the allocation
activity reads the newest, and each order's routing decision names the version it used.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import ValidationError

from api.auth import Admin, Ops
from api.deps import Session
from api.problems import Problem, problem_responses
from api.schemas.rules import (
    PreviewIn,
    PreviewOut,
    PreviewShipment,
    RoutingRulesIn,
    RoutingRulesOut,
)
from domain.codes import ProblemCode
from domain.models import Address, AllocationRequest, OrderLine
from domain.routing import RoutingRules
from store import rules
from store.allocation import decide, load_rules

router = APIRouter(tags=["routing"], responses=problem_responses(401, 403))


@router.get("/api/v1/rules/routing", response_model=RoutingRulesOut)
async def get_rules(session: Session, _: Ops) -> RoutingRulesOut:
    stored = await rules.current(session, "routing")
    if stored is None:
        version, rule_set = await load_rules(session)
        return RoutingRulesOut(version=version, rules=rule_set.rules)
    return RoutingRulesOut(
        version=stored.version,
        rules=RoutingRules.model_validate({"rules": stored.rules}).rules,
        actor=stored.actor,
        created_at=stored.created_at,
    )


@router.put(
    "/api/v1/rules/routing", response_model=RoutingRulesOut, responses=problem_responses(409, 422)
)
async def put_rules(body: RoutingRulesIn, session: Session, who: Admin) -> RoutingRulesOut:
    try:
        rule_set = RoutingRules(rules=body.rules)
    except ValidationError as exc:
        raise Problem(
            422,
            "; ".join(e["msg"] for e in exc.errors()),
            reason=ProblemCode.INVALID_RULES,
            extra={"errors": [{"loc": ["body", "rules"], "msg": e["msg"]} for e in exc.errors()]},
        ) from exc
    payload = [r.model_dump(mode="json") for r in rule_set.rules]
    try:
        version = await rules.save(
            session, "routing", payload, actor=who.key_id, expected=body.expected_version
        )
    except rules.VersionConflict as exc:
        await session.rollback()
        raise Problem(
            409,
            f"the routing rules changed meanwhile (now version {exc.current}); reload and retry",
            reason=ProblemCode.VERSION_CONFLICT,
            extra={"current_version": exc.current},
        ) from exc
    await session.commit()
    return RoutingRulesOut(
        version=version, rules=rule_set.rules, actor=who.key_id, created_at=datetime.now(UTC)
    )


@router.post("/api/v1/routing/preview", response_model=PreviewOut)
async def preview(body: PreviewIn, session: Session, _: Ops) -> PreviewOut:
    """Route a would-be order against live stock and rules; reserves nothing."""
    req = AllocationRequest(
        order_id="preview",
        shipment_id="preview-1",
        lines=[OrderLine(sku=ln.sku, quantity=ln.quantity) for ln in body.lines],
        address=Address(**body.shipping_address.model_dump()),
        shipping_method=body.shipping_method,
    )
    decision = await decide(session, req, datetime.now(UTC))
    version, outcome = decision.version, decision.outcome
    await session.rollback()
    return PreviewOut(
        decision=" + ".join(s.warehouse for s in outcome.shipments) or "backordered",
        routed=outcome.routed,
        shipments=[
            PreviewShipment(warehouse=s.warehouse, lines=s.lines) for s in outcome.shipments
        ],
        short=outcome.short,
        reasons=outcome.reasons,
        rules_version=version,
        candidates=outcome.sites,
        runners_up=outcome.runners_up,
    )
