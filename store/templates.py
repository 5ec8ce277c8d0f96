"""The fulfillment templates in force: a versioned rule set (kind ``templates``).

Stored as a one-element list holding the whole ``TemplateSet``; no saved version means
the built-in defaults (version 0).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain.templates import DEFAULT_TEMPLATES, TemplateSet
from store import rules

KIND = "templates"


async def load_templates(session: AsyncSession) -> tuple[int, TemplateSet]:
    stored = await rules.current(session, KIND)
    if stored is None or not stored.rules:
        return 0, DEFAULT_TEMPLATES
    return stored.version, TemplateSet.model_validate(stored.rules[0])


async def save_templates(
    session: AsyncSession, templates: TemplateSet, *, actor: str | None, expected: int | None
) -> int:
    return await rules.save(
        session, KIND, [templates.model_dump(mode="json")], actor=actor, expected=expected
    )
