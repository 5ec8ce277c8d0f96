"""The rules editors: routing rules, tag rules, fulfillment templates."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, JsonValue

from api.bounds import Units, Version
from api.problems import Reason
from api.schemas.orders import AddressIn, LineIn, OrderIn
from domain.routing import PlanView, RoutingRule, SiteVerdict
from domain.status import ShippingMethod
from domain.tagging import RuleExplanation, RuleProblem, TagRule
from domain.templates import TemplateSet

# --- routing rules ------------------------------------------------------------------------


class RoutingRulesOut(BaseModel):
    version: int = Field(description="0 = the built-in defaults, never saved")
    rules: list[RoutingRule]
    actor: str | None = None
    created_at: datetime | None = None


class RoutingRulesIn(BaseModel):
    rules: list[RoutingRule] = Field(min_length=1, max_length=50)
    #: The version the editor started from; a newer saved version meanwhile → 409.
    expected_version: Version | None = None


class PreviewIn(BaseModel):
    shipping_address: AddressIn
    shipping_method: ShippingMethod = ShippingMethod.STANDARD
    lines: list[LineIn] = Field(min_length=1, max_length=250)


class PreviewShipment(BaseModel):
    warehouse: str
    lines: dict[str, int]


class PreviewOut(BaseModel):
    decision: str
    routed: bool
    shipments: list[PreviewShipment]
    short: dict[str, int]
    reasons: list[str]
    rules_version: int
    candidates: list[SiteVerdict]
    runners_up: list[PlanView]


# --- tag rules ----------------------------------------------------------------------------


_RULES_DOC = (
    "Tag rules: {name, when, add_tags, priority?, enabled}; `when` is "
    '{"all": [...]}, {"any": [...]}, {"not": {...}} or {"field", "op", "value"}. '
    "Validated by the server, which answers 422 with errors [{where, why}]."
)


class TagRulesOut(BaseModel):
    version: int = Field(description="0 = the built-in defaults, never saved")
    rules: list[TagRule]
    actor: str | None = None
    created_at: datetime | None = None


class TagRulesIn(BaseModel):
    rules: list[JsonValue] = Field(max_length=500, description=_RULES_DOC)
    #: The version the editor started from; a newer saved version meanwhile → 409.
    expected_version: Version | None = None


class TagPreviewIn(OrderIn):
    """An order as ``POST /api/v1/orders`` takes it, plus what only rules look at."""

    customer_orders_count: Units = 0
    rules: list[JsonValue] | None = Field(
        max_length=500,
        default=None,
        description="an unsaved rule set to try instead of the saved one",
    )


class TagPreviewOut(BaseModel):
    tags: list[str] = Field(description="rule tags plus the order's own tags")
    priority: int
    matched: list[str]
    rules_version: int | None = Field(description="null when the posted rules were used")
    explanations: list[RuleExplanation]


class RulesInvalidBody(BaseModel):
    """The 422 problem document of a refused rule set (problem+json)."""

    title: str
    status: int
    detail: str
    reason: Reason
    errors: list[RuleProblem]


# --- fulfillment templates ----------------------------------------------------------------


class TemplatesOut(BaseModel):
    version: int
    templates: TemplateSet
    created_at: datetime | None = None


class TemplatesIn(BaseModel):
    templates: TemplateSet
    expected_version: Version | None = None


class StepOut(BaseModel):
    step: str
    sla_seconds: int
    added_by: str | None = None
