"""The operations ``bench.reservations`` times: the product's reservations (``try_reserve``,
``reserve_plan``), the plain-UPDATE baseline, and the diagnostic variants that show where
the real path's time goes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

COUNTER_START = 10**9


Key = tuple[str, str]  # (sku, warehouse)
Op = Callable[[async_sessionmaker[AsyncSession], Key, str], Awaitable[bool]]


def counter_id(key: Key) -> str:
    return f"{key[0]}@{key[1]}"


class _Refused(Exception):
    """No stock: leave the block by raising, so the transaction rolls back."""


async def reserve_one(sessions: async_sessionmaker[AsyncSession], key: Key, order_id: str) -> bool:
    """The real path, shaped like ``StockActivities._reserve_at``."""
    from store import inventory

    sku, warehouse = key
    try:
        async with sessions.begin() as session:
            if not await inventory.try_reserve(
                session,
                order_id=order_id,
                shipment_id=f"{order_id}-1",
                warehouse=warehouse,
                quantities={sku: 1},
            ):
                raise _Refused()
    except _Refused:
        return False
    return True


async def reserve_plan_one(
    sessions: async_sessionmaker[AsyncSession], key: Key, order_id: str
) -> bool:
    """What ``allocate_stock`` commits since it routes with ``domain.routing``
    (``StockActivities._reserve``): ``store.allocation.reserve_plan`` for a one-shipment
    plan (guarded UPDATE, outbox row, reservation row, the warehouse's capacity slot for
    the day) and ``resolve_backorder``, in one transaction; a False answer rolls back."""
    from store import allocation, inventory

    sku, warehouse = key
    planned = [
        allocation.PlannedReservation(
            f"{order_id}-1", warehouse, {sku: 1}, capacity=None, timezone="UTC"
        )
    ]
    try:
        async with sessions.begin() as session:
            if not await allocation.reserve_plan(
                session, order_id=order_id, shipments=planned, now=datetime.now(UTC)
            ):
                raise _Refused()
            await inventory.resolve_backorder(session, order_id)
    except _Refused:
        return False
    return True


_DECREMENT = text("UPDATE bench_counter SET qty = qty - 1 WHERE id = :id")


async def decrement_one(sessions: async_sessionmaker[AsyncSession], key: Key, _: str) -> bool:
    async with sessions.begin() as session:
        result = await session.execute(_DECREMENT, {"id": counter_id(key)})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise RuntimeError(f"bench_counter row {counter_id(key)} missing")
    return True


# Diagnostic variants: the rows try_reserve writes, written by bench-only SQL.
_GUARDED = text(
    "UPDATE inventory_levels SET reserved = reserved + 1, updated_at = now()"
    " WHERE sku = :sku AND warehouse = :wh AND on_hand - reserved >= 1"
)
_OUTBOX = text("INSERT INTO inventory_outbox (sku, warehouse) VALUES (:sku, :wh)")
_RESERVATION = text(
    "INSERT INTO reservations (order_id, shipment_id, sku, warehouse, quantity, status)"
    " VALUES (:o, :s, :sku, :wh, 1, 'reserved')"
)
_ONE_STATEMENT = text(
    """
    WITH taken AS (
        UPDATE inventory_levels SET reserved = reserved + 1, updated_at = now()
        WHERE sku = :sku AND warehouse = :wh AND on_hand - reserved >= 1
        RETURNING sku, warehouse
    ), noted AS (
        INSERT INTO inventory_outbox (sku, warehouse) SELECT sku, warehouse FROM taken
    )
    INSERT INTO reservations (order_id, shipment_id, sku, warehouse, quantity, status)
    SELECT :o, :s, sku, warehouse, 1, 'reserved' FROM taken
    """
)


async def core_same_order(
    sessions: async_sessionmaker[AsyncSession], key: Key, order_id: str
) -> bool:
    """try_reserve's three statements in its order, through Core instead of the ORM."""
    p = {"sku": key[0], "wh": key[1], "o": order_id, "s": f"{order_id}-1"}
    try:
        async with sessions.begin() as session:
            if (await session.execute(_GUARDED, p)).rowcount != 1:  # type: ignore[attr-defined]
                raise _Refused()
            await session.execute(_OUTBOX, p)
            await session.execute(_RESERVATION, p)
    except _Refused:
        return False
    return True


async def core_update_last(
    sessions: async_sessionmaker[AsyncSession], key: Key, order_id: str
) -> bool:
    """The inserts first, the guarded UPDATE last: the hot row is locked only from the
    UPDATE to the COMMIT, as in the baseline."""
    p = {"sku": key[0], "wh": key[1], "o": order_id, "s": f"{order_id}-1"}
    try:
        async with sessions.begin() as session:
            await session.execute(_OUTBOX, p)
            await session.execute(_RESERVATION, p)
            if (await session.execute(_GUARDED, p)).rowcount != 1:  # type: ignore[attr-defined]
                raise _Refused()
    except _Refused:
        return False
    return True


async def one_statement(
    sessions: async_sessionmaker[AsyncSession], key: Key, order_id: str
) -> bool:
    """The guarded UPDATE and both inserts as one statement (one round trip)."""
    p = {"sku": key[0], "wh": key[1], "o": order_id, "s": f"{order_id}-1"}
    async with sessions.begin() as session:
        result = await session.execute(_ONE_STATEMENT, p)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


OPS: dict[str, Op] = {
    "bare": decrement_one,
    "real": reserve_one,
    "plan": reserve_plan_one,
    "core-3-statements": core_same_order,
    "core-update-last": core_update_last,
    "one-statement": one_statement,
}
VARIANTS = ("core-3-statements", "core-update-last", "one-statement")
VARIANT_WORDS = {
    "core-3-statements": "try_reserve's 3 statements in its order, Core instead of ORM",
    "core-update-last": "Core, both INSERTs first, guarded UPDATE last",
    "one-statement": "one CTE statement: guarded UPDATE + both INSERTs",
}
