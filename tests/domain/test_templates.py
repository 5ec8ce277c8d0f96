"""Fulfillment templates: which steps and SLAs an order's tags resolve to."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain.templates import (
    DEFAULT_TEMPLATES,
    Step,
    Template,
    TemplateSet,
    plan_for,
)

BASE = DEFAULT_TEMPLATES.base_sla_seconds


@pytest.mark.parametrize(
    ("tags", "steps"),
    [
        ([], ["verify", "pay", "allocate", "pick", "pack", "ship"]),
        (["fragile"], ["verify", "pay", "allocate", "pick", "packaging_check", "pack", "ship"]),
        (
            ["high-value"],
            ["verify", "pay", "allocate", "pick", "pack_verification", "pack", "ship"],
        ),
        (
            ["High-Value", " fragile "],
            [
                "verify",
                "pay",
                "allocate",
                "pick",
                "packaging_check",
                "pack_verification",
                "pack",
                "ship",
            ],
        ),
        (["high-priority"], ["verify", "pay", "allocate", "pick", "pack", "ship"]),
        (["vip", "international"], ["verify", "pay", "allocate", "pick", "pack", "ship"]),
    ],
)
def test_tags_choose_the_steps(tags: list[str], steps: list[str]) -> None:
    assert [p.step.value for p in plan_for(tags).steps] == steps


def test_added_steps_name_the_tag_that_added_them() -> None:
    plan = plan_for(["fragile", "high-value"])
    added = {p.step: p.added_by for p in plan.steps if p.added_by}
    assert added == {Step.PACKAGING_CHECK: "fragile", Step.PACK_VERIFICATION: "high-value"}
    assert plan.tags == ["fragile", "high-value"]


def test_high_priority_halves_every_sla() -> None:
    normal, urgent = plan_for([]), plan_for(["high-priority"])
    for step in (Step.PICK, Step.PACK, Step.SHIP):
        assert urgent.sla(step) == (normal.sla(step) or 0) // 2
    assert normal.sla(Step.PICK) == BASE[Step.PICK]


def test_a_template_can_override_one_sla() -> None:
    templates = TemplateSet(
        base_sla_seconds=BASE,
        templates=[Template(tag="same-day", sla_seconds={Step.PICK: 600}, sla_factor=0.5)],
    )
    plan = plan_for(["same-day"], templates)
    assert plan.sla(Step.PICK) == 300
    assert plan.sla(Step.PACK) == BASE[Step.PACK] // 2
    assert plan.sla(Step.PACKAGING_CHECK) is None  # not a step of this order


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"tag": "x", "adds": ["pick"]}, "can only add"),
        ({"tag": "x", "sla_seconds": {"pick": 0}}, "positive"),
        ({"tag": "x", "sla_factor": 2}, "less than or equal"),
        ({"tag": "", "adds": []}, "at least 1"),
        ({"tag": "x", "colour": "red"}, "Extra inputs"),
    ],
)
def test_invalid_templates_are_refused(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Template.model_validate(raw)


def test_a_template_set_needs_every_base_sla_and_one_template_per_tag() -> None:
    partial: dict[Step, int] = {k: v for k, v in BASE.items() if k != Step.SHIP}
    with pytest.raises(ValidationError, match="missing"):
        TemplateSet(base_sla_seconds=partial)
    with pytest.raises(ValidationError, match="repeated"):
        TemplateSet(base_sla_seconds=BASE, templates=[Template(tag="a"), Template(tag="a")])


def test_the_defaults_round_trip_through_json() -> None:
    again = TemplateSet.model_validate_json(DEFAULT_TEMPLATES.model_dump_json())
    assert again == DEFAULT_TEMPLATES
