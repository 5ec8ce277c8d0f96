"""Reading the inventory outbox: what changed since a reader's cursor, and how much is there.

Readers walk ``(txid, id)`` order and see only rows whose writing transaction is older than
every transaction still running (see :class:`store.tables.InventoryOutbox` for why ids
alone would lose rows). Writes happen in ``store.inventory.note_change``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ColumnElement, Text, cast, exists, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from domain.channels import OutboxPosition
from store.tables import InventoryLevel, InventoryOutbox, Warehouse

#: Pending rows are counted up to here: the figure is for dashboards and alerts, and a
#: count should not scan a million rows on every scrape.
PENDING_CAP = 100_000


def _settled() -> ColumnElement[bool]:
    """Rows whose transaction finished before any transaction still in flight began."""
    xmin = cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)
    return InventoryOutbox.txid < xmin


def _after(pos: OutboxPosition) -> ColumnElement[bool]:
    return tuple_(InventoryOutbox.txid, InventoryOutbox.id) > tuple_(
        literal(pos.txid, BigInteger), literal(pos.id, BigInteger)
    )


async def read_after(
    session: AsyncSession, pos: OutboxPosition, limit: int
) -> list[tuple[int, int, str]]:
    """Up to ``limit`` settled rows after ``pos``, as ``(txid, id, sku)`` in read order."""
    rows = await session.execute(
        select(InventoryOutbox.txid, InventoryOutbox.id, InventoryOutbox.sku)
        .where(_after(pos), _settled())
        .order_by(InventoryOutbox.txid, InventoryOutbox.id)
        .limit(limit)
    )
    return [(t, i, s) for t, i, s in rows.all()]


async def unsettled_after(session: AsyncSession, pos: OutboxPosition) -> bool:
    """Committed rows after ``pos`` that a reader may not take yet (an older transaction
    is still running): worth reading again in a moment rather than at the next poll."""
    return bool(await session.scalar(select(exists().where(_after(pos), ~_settled()))))


async def pending_after(session: AsyncSession, pos: OutboxPosition) -> int:
    """Rows after ``pos`` (settled or not), counted up to :data:`PENDING_CAP`."""
    capped = select(InventoryOutbox.id).where(_after(pos)).limit(PENDING_CAP).subquery()
    return int(await session.scalar(select(func.count()).select_from(capped)) or 0)


async def total_available(session: AsyncSession, skus: list[str]) -> dict[str, int]:
    """Units available (on hand less reserved) per SKU across active warehouses.

    A SKU with no level anywhere is absent (callers read it as 0).
    """
    if not skus:
        return {}
    rows = await session.execute(
        select(
            InventoryLevel.sku,
            func.sum(InventoryLevel.on_hand - InventoryLevel.reserved),
        )
        .join(Warehouse, Warehouse.code == InventoryLevel.warehouse)
        .where(Warehouse.active, InventoryLevel.sku.in_(skus))
        .group_by(InventoryLevel.sku)
    )
    return {sku: int(qty or 0) for sku, qty in rows.all()}
