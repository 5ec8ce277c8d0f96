"""Saved views: named filter sets stored per key, optionally shared by an admin.

The filters are stored as given (validated by the API's model), so a view keeps meaning
what it meant when saved; the list applies them exactly as it applies query parameters.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import SavedView


async def visible_views(session: AsyncSession, key_id: str) -> list[SavedView]:
    """The key's own views and every shared one, shared first, then by name."""
    rows = await session.scalars(
        select(SavedView)
        .where(or_(SavedView.key_id == key_id, SavedView.shared))
        .order_by(SavedView.shared.desc(), SavedView.name, SavedView.view_id)
    )
    return list(rows.all())


async def get_view(session: AsyncSession, view_id: str) -> SavedView | None:
    return await session.get(SavedView, view_id)


async def create_view(
    session: AsyncSession, key_id: str, name: str, filters: dict[str, Any], shared: bool
) -> SavedView:
    """Store a view; the caller commits."""
    view = SavedView(
        view_id=secrets.token_hex(8), key_id=key_id, name=name, filters=filters, shared=shared
    )
    session.add(view)
    await session.flush()
    return view


async def delete_view(session: AsyncSession, view: SavedView) -> None:
    await session.delete(view)
    await session.flush()
