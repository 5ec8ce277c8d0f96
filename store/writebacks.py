"""The write-back ledger (``channel_writebacks``): each write a workflow asked of a sales
channel, by the workflow's key, with what the channel calls the result."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.writeback import WritebackRequest
from store.tables import ChannelWriteback


async def find(session: AsyncSession, key: str) -> ChannelWriteback | None:
    return await session.get(ChannelWriteback, key)


async def record(
    session: AsyncSession,
    request: WritebackRequest,
    *,
    status: str,
    remote_id: str | None = None,
    existing: bool = False,
    detail: str | None = None,
) -> None:
    """Insert or settle the row of ``request.key``. A ``done`` row never changes again."""
    values: dict[str, Any] = {
        "key": request.key,
        "channel": request.channel,
        "order_id": request.order_id,
        "kind": request.kind.value,
        "status": status,
        "remote_id": remote_id,
        "existing": existing,
        "request": request.model_dump(mode="json"),
        "detail": detail,
    }
    await session.execute(
        insert(ChannelWriteback)
        .values(**values)
        .on_conflict_do_update(
            index_elements=[ChannelWriteback.key],
            set_={
                "status": status,
                "remote_id": remote_id,
                "existing": existing,
                "detail": detail,
                "updated_at": func.now(),
            },
            where=ChannelWriteback.status != "done",
        )
    )


async def for_order(session: AsyncSession, order_id: str) -> list[ChannelWriteback]:
    return list(
        (
            await session.scalars(
                select(ChannelWriteback)
                .where(ChannelWriteback.order_id == order_id)
                .order_by(ChannelWriteback.created_at, ChannelWriteback.key)
            )
        ).all()
    )
