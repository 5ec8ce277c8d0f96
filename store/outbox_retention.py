"""How long the inventory outbox keeps a row: until every reader is past it, and a while.

Every stock change writes an outbox row (``store.inventory.note_change``): one per
reservation, release, commit, adjustment. Channel syncs and the low-stock watch read them
in ``(txid, id)`` order, each from its own cursor, and nothing else ever deleted them: the
table grew by a row per reserved line, for ever.

A row may go once both hold:

1. every reader that still reads has moved past it: each *active* channel's cursor and
   the low-stock watch's. An inactive channel does not hold rows back (it is not read);
   a channel starts from a snapshot of every level, not from the outbox's history
   (``store.channels.create_channel``), so what was pruned is never needed again;
2. it is older than ``keep``: a window to look back at what changed when.

Until the low-stock watch has read once (its cursor row exists), nothing is pruned.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import BigInteger, delete, func, literal, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from domain.channels import OutboxPosition
from store.low_stock import WATCH_CONSUMER
from store.tables import Channel, ChannelCursor, InventoryOutbox, OutboxCursor


async def oldest_needed(session: AsyncSession) -> OutboxPosition | None:
    """The position of the slowest reader that still reads; None before the low-stock
    watch has read at all (then every row may still be needed)."""
    watch = await session.get(OutboxCursor, WATCH_CONSUMER)
    if watch is None:
        return None
    positions = union_all(
        select(ChannelCursor.last_txid.label("txid"), ChannelCursor.last_id.label("id"))
        .join(Channel, Channel.code == ChannelCursor.channel)
        .where(Channel.active),
        select(OutboxCursor.last_txid, OutboxCursor.last_id),
    ).subquery()
    row = (
        await session.execute(
            select(positions.c.txid, positions.c.id)
            .order_by(positions.c.txid, positions.c.id)
            .limit(1)
        )
    ).first()
    assert row is not None  # the watch's own row is in the union
    return OutboxPosition(txid=row.txid, id=row.id)


async def prune(session: AsyncSession, *, keep: timedelta, batch: int) -> int:
    """Delete up to ``batch`` rows every reader is past and older than ``keep``, oldest
    first; returns how many went. The caller commits."""
    upto = await oldest_needed(session)
    if upto is None:
        return 0
    doomed = (
        select(InventoryOutbox.id)
        .where(
            tuple_(InventoryOutbox.txid, InventoryOutbox.id)
            <= tuple_(literal(upto.txid, BigInteger), literal(upto.id, BigInteger)),
            InventoryOutbox.created_at < func.now() - keep,
        )
        .order_by(InventoryOutbox.txid, InventoryOutbox.id)
        .limit(batch)
        .scalar_subquery()
    )
    result = await session.execute(delete(InventoryOutbox).where(InventoryOutbox.id.in_(doomed)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
