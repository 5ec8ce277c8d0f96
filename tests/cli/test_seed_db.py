"""Seeding writes the demo catalog once and never overwrites what happened since."""

from __future__ import annotations

from sqlalchemy import func, select

from domain.barcodes import normalize_gtin
from oms.seed import PRODUCTS, WAREHOUSES, seed, stock_quantity
from store import inventory
from store.db import create_engine, sessionmaker
from store.tables import InventoryAdjustment, Product, ProductBarcode, Warehouse


async def test_seed_is_idempotent_and_keeps_later_changes(cli_database_url: str) -> None:
    first = await seed(cli_database_url)
    assert first.warehouses == len(WAREHOUSES)
    assert first.products == len(PRODUCTS)
    assert first.barcodes == len(PRODUCTS)
    assert first.stock_levels == len(WAREHOUSES) * len(PRODUCTS)

    engine = create_engine(cli_database_url, pool_size=1)
    try:
        sessions = sessionmaker(engine)
        async with sessions.begin() as s:
            mug = await s.get(ProductBarcode, normalize_gtin("4006381333931"))
            assert mug is not None and mug.sku == "MUG-CER-350"
            level = (await inventory.levels(s, sku="TEA-SEN-100", warehouse="WH-PDX"))[0]
            assert level.on_hand == stock_quantity("TEA-SEN-100", "WH-PDX")
            reasons = set((await s.scalars(select(InventoryAdjustment.reason))).all())
            assert reasons == {"seed"}
            # Stock moves after seeding (an order ships, a count) ...
            await inventory.adjust(
                s, sku="TEA-SEN-100", warehouse="WH-PDX", on_hand=3, reason="cycle count"
            )

        again = await seed(cli_database_url)
        assert (again.warehouses, again.products, again.barcodes, again.stock_levels) == (
            0,
            0,
            0,
            0,
        )
        async with sessions.begin() as s:
            # ... and a second seed leaves it alone.
            level = (await inventory.levels(s, sku="TEA-SEN-100", warehouse="WH-PDX"))[0]
            assert level.on_hand == 3
            assert await s.scalar(select(func.count()).select_from(Warehouse)) == len(WAREHOUSES)
            assert await s.scalar(select(func.count()).select_from(Product)) == len(PRODUCTS)
    finally:
        await engine.dispose()
