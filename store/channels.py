"""Sales channels, their outbox cursors and the pushes they accepted.

The cursor moves only after a batch's pushes succeeded (and only from where that batch
started, so a second attempt still running cannot move it twice); ``channel_pushes`` holds
the last quantity each channel accepted per SKU, so unchanged quantities are not re-sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.channels import OutboxPosition
from store import outbox
from store.inventory import note_every_level
from store.tables import Channel, ChannelCursor, ChannelPush


class ChannelExists(Exception):
    """A channel with that code exists already."""


async def create_channel(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    kind: str,
    safety_buffer: int = 0,
    config: dict[str, Any] | None = None,
    active: bool = True,
) -> Channel:
    """Add a channel with its cursor at the start of the outbox. The caller commits.

    A snapshot of every level goes into the outbox with it, so the first drain is a full
    sync: every SKU is pushed once, however long ago its stock last changed (older outbox
    rows may have been pruned: ``store.outbox_retention``). Other readers see the snapshot
    too; a channel whose quantity did not change is not pushed again.

    Raises:
        ChannelExists: the code is taken.
    """
    if await session.get(Channel, code) is not None:
        raise ChannelExists(code)
    row = Channel(
        code=code,
        name=name,
        kind=kind,
        safety_buffer=safety_buffer,
        config=dict(config or {}),
        active=active,
    )
    session.add(row)
    await session.flush()
    session.add(ChannelCursor(channel=code, last_txid=0, last_id=0))
    await note_every_level(session)
    await session.flush()
    return row


async def change_channel(session: AsyncSession, row: Channel, changes: dict[str, Any]) -> bool:
    """Apply ``changes`` (``name``, ``safety_buffer``, ``config``, ``active``). The caller
    commits.

    Returns whether the channel needs a full sync: it is active afterwards and was
    reactivated or given another buffer or config. A snapshot of every level then goes
    into the outbox, as at creation, because what it should hold changed for SKUs whose
    stock did not move, and rows written while it was paused may have been pruned (its
    cursor does not hold them back: ``store.outbox_retention``). Quantities it already
    holds are not pushed again.
    """
    was_active = row.active
    changed = {k: v for k, v in changes.items() if getattr(row, k) != v}
    for key, value in changed.items():
        setattr(row, key, value)
    resync = row.active and (not was_active or "safety_buffer" in changed or "config" in changed)
    if resync:
        await note_every_level(session)
    await session.flush()
    return resync


async def get_channel(session: AsyncSession, code: str) -> Channel | None:
    return await session.get(Channel, code)


async def writeback_channel_for(session: AsyncSession, shop_domain: str) -> str | None:
    """The active ``shopify`` channel whose ``config.shop_domain`` is ``shop_domain`` and
    whose write-back is on (``config.writeback``, default on): it hears what happens to the
    shop's orders (docs/decisions/0009-shopify-write-back.md)."""
    rows = await session.scalars(
        select(Channel)
        .where(
            Channel.kind == "shopify",
            Channel.active,
            Channel.config["shop_domain"].astext == shop_domain.strip().lower(),
        )
        .order_by(Channel.code)
    )
    for row in rows:
        if row.config.get("writeback", True) is not False:
            return row.code
    return None


async def active_channel_codes(session: AsyncSession) -> list[str]:
    return list(
        await session.scalars(select(Channel.code).where(Channel.active).order_by(Channel.code))
    )


@dataclass(frozen=True)
class ChannelSummary:
    channel: Channel
    cursor: OutboxPosition
    lag: int
    last_push_at: datetime | None
    pushed_skus: int


async def cursor_of(session: AsyncSession, code: str) -> OutboxPosition:
    row = await session.get(ChannelCursor, code)
    return OutboxPosition(txid=row.last_txid, id=row.last_id) if row else OutboxPosition()


async def list_channels(session: AsyncSession, code: str | None = None) -> list[ChannelSummary]:
    """Every channel (or the one named ``code``) with its cursor, outbox rows still to go
    and its last push."""
    channels_q = select(Channel).order_by(Channel.code)
    pushes_q = select(ChannelPush.channel, func.max(ChannelPush.pushed_at), func.count())
    if code is not None:
        channels_q = channels_q.where(Channel.code == code)
        pushes_q = pushes_q.where(ChannelPush.channel == code)
    channels = (await session.scalars(channels_q)).all()
    pushes = {
        channel: (last, n)
        for channel, last, n in (
            await session.execute(pushes_q.group_by(ChannelPush.channel))
        ).all()
    }
    out = []
    for ch in channels:
        cursor = await cursor_of(session, ch.code)
        last, n = pushes.get(ch.code, (None, 0))
        out.append(
            ChannelSummary(ch, cursor, await outbox.pending_after(session, cursor), last, int(n))
        )
    return out


async def recent_pushes(
    session: AsyncSession, code: str, *, sku: str | None = None, limit: int = 100
) -> list[ChannelPush]:
    query = (
        select(ChannelPush)
        .where(ChannelPush.channel == code)
        .order_by(ChannelPush.pushed_at.desc(), ChannelPush.sku)
        .limit(limit)
    )
    if sku:
        query = query.where(ChannelPush.sku == sku)
    return list((await session.scalars(query)).all())


async def last_pushed(session: AsyncSession, code: str, skus: list[str]) -> dict[str, int]:
    rows = await session.execute(
        select(ChannelPush.sku, ChannelPush.available).where(
            ChannelPush.channel == code, ChannelPush.sku.in_(skus)
        )
    )
    return {sku: qty for sku, qty in rows.all()}


async def record_push(
    session: AsyncSession, *, channel: str, sku: str, available: int, idempotency_key: str
) -> None:
    await session.execute(
        insert(ChannelPush)
        .values(channel=channel, sku=sku, available=available, idempotency_key=idempotency_key)
        .on_conflict_do_update(
            index_elements=[ChannelPush.channel, ChannelPush.sku],
            set_={
                "available": available,
                "idempotency_key": idempotency_key,
                "pushed_at": func.now(),
            },
        )
    )


async def advance_cursor(
    session: AsyncSession, code: str, after: OutboxPosition, upto: OutboxPosition
) -> bool:
    """Move the cursor from ``after`` to ``upto``; False if it was no longer at ``after``."""
    await session.execute(
        insert(ChannelCursor).values(channel=code, last_txid=0, last_id=0).on_conflict_do_nothing()
    )
    moved = await session.execute(
        update(ChannelCursor)
        .where(
            ChannelCursor.channel == code,
            ChannelCursor.last_txid == after.txid,
            ChannelCursor.last_id == after.id,
        )
        .values(last_txid=upto.txid, last_id=upto.id, updated_at=func.now())
    )
    return bool(moved.rowcount)  # type: ignore[attr-defined]
