"""What an order carries to be tagged deterministically in its workflow, and the tags it
ends up with: its rules' outcome merged with its own tags.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from domain.tagging.evaluation import TagOutcome, evaluate, facts_for
from domain.tagging.rules import TagRuleSet
from domain.tagging.text import fold_text

if TYPE_CHECKING:  # domain.models imports this package (TaggingContext): no runtime import
    from domain.models import OrderInput


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
        if text and fold_text(text) not in seen:
            seen[fold_text(text)] = text
    return sorted(seen.values(), key=lambda t: (fold_text(t), t))


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
