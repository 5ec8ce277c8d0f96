"""Versioned rule sets (routing, tags): every save is a new version, never an edit.

The newest version is in force; decisions record the version that made them, so "why did
this order go there?" can still be answered after the rules changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import RuleSet


@dataclass(frozen=True)
class StoredRules:
    kind: str
    version: int
    rules: list[Any]
    actor: str | None
    created_at: datetime | None


class VersionConflict(Exception):
    """Someone saved a newer version since the caller read ``expected``."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the rules are at version {current}")
        self.current = current


async def current(session: AsyncSession, kind: str) -> StoredRules | None:
    row = await session.scalar(
        select(RuleSet).where(RuleSet.kind == kind).order_by(RuleSet.version.desc()).limit(1)
    )
    if row is None:
        return None
    return StoredRules(row.kind, row.version, row.rules, row.actor, row.created_at)


async def save(
    session: AsyncSession,
    kind: str,
    rules: list[Any],
    *,
    actor: str | None,
    expected: int | None = None,
) -> int:
    """Store ``rules`` as the next version and return it.

    ``expected`` (the version the editor started from) turns a lost edit into a
    ``VersionConflict`` instead of silently overwriting a colleague's change. The
    primary key (kind, version) settles two saves racing for the same number.
    """
    latest = await session.scalar(
        select(func.coalesce(func.max(RuleSet.version), 0)).where(RuleSet.kind == kind)
    )
    latest = int(latest or 0)
    if expected is not None and expected != latest:
        raise VersionConflict(latest)
    result = await session.execute(
        insert(RuleSet)
        .values(kind=kind, version=latest + 1, rules=rules, actor=actor)
        .on_conflict_do_nothing()
        .returning(RuleSet.version)
    )
    version = result.scalar_one_or_none()
    if version is None:
        raise VersionConflict(latest + 1)
    return int(version)
