"""Fulfillment templates: the steps an order goes through, chosen by its tags.

The default template is verify → pay → allocate → pick → pack → ship. A tag may add steps
(``fragile`` a packaging check before pack, ``high-value`` a second scan of every item at
the pack station) and tighten SLAs (``high-priority``). Templates are data (stored as a
versioned rule set, editable through the API); the workflow resolves them once, at start,
into a ``StepPlan`` it keeps in its state, so the steps an order must take never change
under it and none can be skipped.

Every step has an SLA; breaching it does not fail the order but marks it stuck until the
step completes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, model_validator


class Step(StrEnum):
    VERIFY = "verify"
    PAY = "pay"
    ALLOCATE = "allocate"
    PICK = "pick"
    PACKAGING_CHECK = "packaging_check"
    PACK_VERIFICATION = "pack_verification"
    PACK = "pack"
    SHIP = "ship"


#: Where each step sits; extra steps slot in between the default ones.
STEP_ORDER: tuple[Step, ...] = (
    Step.VERIFY,
    Step.PAY,
    Step.ALLOCATE,
    Step.PICK,
    Step.PACKAGING_CHECK,
    Step.PACK_VERIFICATION,
    Step.PACK,
    Step.SHIP,
)
DEFAULT_STEPS = (Step.VERIFY, Step.PAY, Step.ALLOCATE, Step.PICK, Step.PACK, Step.SHIP)
#: Steps a template may add to the default ones.
OPTIONAL_STEPS = frozenset({Step.PACKAGING_CHECK, Step.PACK_VERIFICATION})

HOUR = 3600
#: An SLA: at most a year (a timer beyond that is a typo, and a huge one overflows).
SlaSeconds = Annotated[int, Field(le=366 * 24 * HOUR)]


class Template(BaseModel):
    """What one tag changes: extra steps, SLA overrides (seconds), SLA scaling."""

    model_config = {"extra": "forbid"}

    tag: str = Field(min_length=1, max_length=64)
    adds: list[Step] = Field(default_factory=list)
    sla_seconds: dict[Step, SlaSeconds] = Field(default_factory=dict)
    #: Multiplies every SLA of the order (0.5 = twice as tight); the smallest factor wins.
    sla_factor: float = Field(default=1.0, gt=0, le=1.0)

    @model_validator(mode="after")
    def _only_optional_steps(self) -> Template:
        wrong = [s.value for s in self.adds if s not in OPTIONAL_STEPS]
        if wrong:
            raise ValueError(
                f"a template can only add {sorted(s.value for s in OPTIONAL_STEPS)}, not {wrong}"
            )
        bad = [s.value for s, v in self.sla_seconds.items() if v <= 0]
        if bad:
            raise ValueError(f"SLA must be positive seconds: {bad}")
        return self


class TemplateSet(BaseModel):
    """The base SLAs plus one template per tag (a tag at most once)."""

    model_config = {"extra": "forbid"}

    base_sla_seconds: dict[Step, SlaSeconds]
    templates: list[Template] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> TemplateSet:
        missing = [s.value for s in STEP_ORDER if s not in self.base_sla_seconds]
        if missing:
            raise ValueError(f"base_sla_seconds needs every step; missing {missing}")
        tags = [t.tag for t in self.templates]
        dupes = sorted({t for t in tags if tags.count(t) > 1})
        if dupes:
            raise ValueError(f"one template per tag; repeated: {dupes}")
        return self


DEFAULT_TEMPLATES = TemplateSet(
    base_sla_seconds={
        Step.VERIFY: 15 * 60,
        Step.PAY: 24 * HOUR,
        Step.ALLOCATE: 4 * HOUR,
        Step.PICK: 4 * HOUR,
        Step.PACKAGING_CHECK: 1 * HOUR,
        Step.PACK_VERIFICATION: 1 * HOUR,
        Step.PACK: 2 * HOUR,
        Step.SHIP: 24 * HOUR,
    },
    templates=[
        Template(tag="fragile", adds=[Step.PACKAGING_CHECK]),
        Template(tag="high-value", adds=[Step.PACK_VERIFICATION]),
        Template(tag="high-priority", sla_factor=0.5),
    ],
)


class PlannedStep(BaseModel):
    step: Step
    sla_seconds: int
    #: The tag whose template added this step (None for the default steps).
    added_by: str | None = None


class StepPlan(BaseModel):
    """An order's resolved template: its steps in order, each with its SLA."""

    steps: list[PlannedStep]
    tags: list[str] = Field(default_factory=list)

    def has(self, step: Step) -> bool:
        return any(p.step == step for p in self.steps)

    def sla(self, step: Step) -> int | None:
        return next((p.sla_seconds for p in self.steps if p.step == step), None)


def plan_for(tags: list[str], templates: TemplateSet = DEFAULT_TEMPLATES) -> StepPlan:
    """Resolve the steps and SLAs for an order carrying ``tags``."""
    wanted = {t.strip().lower() for t in tags}
    applied = [t for t in templates.templates if t.tag.lower() in wanted]
    added: dict[Step, str] = {}
    sla = dict(templates.base_sla_seconds)
    factor = 1.0
    for t in applied:
        for step in t.adds:
            added.setdefault(step, t.tag)
        sla.update(t.sla_seconds)
        factor = min(factor, t.sla_factor)
    steps = [
        PlannedStep(step=s, sla_seconds=max(1, int(sla[s] * factor)), added_by=added.get(s))
        for s in STEP_ORDER
        if s in DEFAULT_STEPS or s in added
    ]
    return StepPlan(steps=steps, tags=sorted(t.tag for t in applied))
