"""``shrink_shipment`` on real Postgres: a channel edit's units leave a shipment's
reservations once, however often the activity runs (a retry after a crash that committed,
a replayed workflow, the same edit delivered again)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.stock import StockActivities
from domain.models import ShrinkRequest
from store import inventory
from store.tables import InventoryLevel, Reservation
from tests.conftest import Catalog


async def _levels(
    sessions: async_sessionmaker[AsyncSession], skus: list[str], warehouse: str
) -> dict[str, tuple[int, int]]:
    """SKU → (reserved, available)."""
    async with sessions() as s:
        rows = await s.scalars(
            select(InventoryLevel).where(
                InventoryLevel.sku.in_(skus), InventoryLevel.warehouse == warehouse
            )
        )
        return {r.sku: (r.reserved, r.on_hand - r.reserved) for r in rows}


async def test_units_are_released_once_however_often_the_shrink_runs(
    sessions: async_sessionmaker[AsyncSession],
    make_catalog: Callable[..., Awaitable[Catalog]],
) -> None:
    cat = await make_catalog({"PDX": {"0": 10, "1": 10}})
    sku0, sku1 = cat.skus
    pdx = cat.warehouses[0]
    order_id = f"EDIT-{uuid.uuid4().hex[:8]}"
    shipment_id = f"{order_id}-1"
    async with sessions.begin() as s:
        assert await inventory.try_reserve(
            s,
            order_id=order_id,
            shipment_id=shipment_id,
            warehouse=pdx,
            quantities={sku0: 3, sku1: 2},
        )
    assert await _levels(sessions, cat.skus, pdx) == {sku0: (3, 7), sku1: (2, 8)}
    stock = StockActivities(sessions)

    lowered = ShrinkRequest(order_id=order_id, shipment_id=shipment_id, keep={sku0: 1, sku1: 2})
    assert await stock.shrink_shipment(lowered) == 2
    assert await stock.shrink_shipment(lowered) == 0  # the retry finds it done
    assert await _levels(sessions, cat.skus, pdx) == {sku0: (1, 9), sku1: (2, 8)}

    emptied = ShrinkRequest(order_id=order_id, shipment_id=shipment_id, keep={sku0: 0, sku1: 0})
    assert await stock.shrink_shipment(emptied) == 3
    assert await stock.shrink_shipment(emptied) == 0
    assert await stock.shrink_shipment(lowered) == 0  # an older target never re-reserves
    assert await _levels(sessions, cat.skus, pdx) == {sku0: (0, 10), sku1: (0, 10)}
    async with sessions() as s:
        statuses = set(
            await s.scalars(select(Reservation.status).where(Reservation.order_id == order_id))
        )
    assert statuses == {"released"}
