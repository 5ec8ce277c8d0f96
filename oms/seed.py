"""The demo catalog ``oms dev`` and ``oms seed`` load: warehouses, products, stock.

Seeding is idempotent: it only inserts what is missing, so it runs on every ``oms dev``
start without touching stock that orders have since reserved or shipped, and without
overwriting products or warehouses someone edited through the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.barcodes import gtin_check_digit
from oms.settings import Settings
from store import inventory
from store.catalog import catalog_gtin
from store.db import create_engine, sessionmaker
from store.tables import Channel, ChannelCursor, InventoryLevel, Product, ProductBarcode, Warehouse
from store.tagging import ensure_default_tag_rules

SEED_REASON = "seed"


@dataclass(frozen=True)
class DemoWarehouse:
    code: str
    name: str
    country_code: str
    latitude: float
    longitude: float
    priority: int = 100
    daily_capacity: int | None = None
    timezone: str = "UTC"
    carrier_cutoff: str | None = None  # local HH:MM of the last express/overnight pickup


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    barcode: str
    weight_grams: int
    tags: list[str] = field(default_factory=list)


def _gtin(body: str) -> str:
    """Append the GS1 check digit to ``body`` (11 digits → GTIN-12, 12 → GTIN-13)."""
    return body + str(gtin_check_digit(body))


WAREHOUSES: list[DemoWarehouse] = [
    DemoWarehouse(
        "WH-PDX",
        "Portland, OR (US West)",
        "US",
        45.52,
        -122.68,
        100,
        400,
        "America/Los_Angeles",
        "16:00",
    ),
    DemoWarehouse(
        "WH-NJ",
        "Newark, NJ (US East)",
        "US",
        40.73,
        -74.17,
        100,
        600,
        "America/New_York",
        "17:00",
    ),
    DemoWarehouse(
        "WH-DAL",
        "Dallas, TX (US Central)",
        "US",
        32.78,
        -96.80,
        110,
        500,
        "America/Chicago",
        "16:30",
    ),
    DemoWarehouse(
        "WH-AMS", "Amsterdam (EU)", "NL", 52.37, 4.90, 120, 300, "Europe/Amsterdam", "15:00"
    ),
]

# The first two are the SKUs of ``shared/samples/shopify-orders-create.json`` (copied as
# ``oms/demo_order.json``): their barcodes and weights must match the sample table exactly,
# or the sample order can't pack.
PRODUCTS: list[DemoProduct] = [
    DemoProduct("MUG-CER-350", "Ceramic mug 350 ml", "4006381333931", 420, ["fragile", "kitchen"]),
    DemoProduct("TEA-SEN-100", "Sencha green tea 100 g", "5901234123457", 610, ["grocery"]),
    DemoProduct("TEA-EARL-100", "Earl Grey tea 100 g", _gtin("590123412346"), 180, ["grocery"]),
    DemoProduct("TEA-CHAI-250", "Masala chai 250 g", _gtin("590123412347"), 290, ["grocery"]),
    DemoProduct("COF-ESP-1KG", "Espresso beans 1 kg", _gtin("590123412348"), 1050, ["grocery"]),
    DemoProduct("COF-FIL-500", "Filter coffee 500 g", _gtin("590123412349"), 540, ["grocery"]),
    DemoProduct("MUG-ENA-300", "Enamel camp mug 300 ml", _gtin("400638133394"), 210, ["kitchen"]),
    DemoProduct(
        "CUP-GLS-200",
        "Double-wall glass cup 200 ml",
        _gtin("400638133395"),
        160,
        ["fragile", "kitchen"],
    ),
    DemoProduct(
        "POT-TEA-1L", "Cast-iron teapot 1 l", _gtin("400638133396"), 1600, ["kitchen", "heavy"]
    ),
    DemoProduct(
        "POT-GLS-800", "Glass teapot 800 ml", _gtin("400638133397"), 520, ["fragile", "kitchen"]
    ),
    DemoProduct("KET-ELC-17", "Electric kettle 1.7 l", _gtin("400638133398"), 1250, ["appliance"]),
    DemoProduct(
        "GRN-BUR-01", "Conical burr grinder", _gtin("400638133399"), 2300, ["appliance", "heavy"]
    ),
    DemoProduct("FIL-PAP-100", "Paper filters (100)", _gtin("871234567890"), 120, ["kitchen"]),
    DemoProduct(
        "DRP-CER-02",
        "Ceramic pour-over dripper",
        _gtin("871234567891"),
        380,
        ["fragile", "kitchen"],
    ),
    DemoProduct("SCL-DIG-01", "Digital coffee scale", _gtin("871234567892"), 450, ["appliance"]),
    DemoProduct("INF-STL-01", "Stainless tea infuser", _gtin("871234567893"), 60, ["kitchen"]),
    DemoProduct(
        "HNY-RAW-350",
        "Raw honey 350 g (glass jar)",
        _gtin("871234567894"),
        480,
        ["grocery", "fragile"],
    ),
    DemoProduct("BIS-ALM-200", "Almond biscotti 200 g", _gtin("871234567895"), 230, ["grocery"]),
    DemoProduct("TWL-LIN-02", "Linen tea towels (2)", _gtin("871234567896"), 150, ["textile"]),
    DemoProduct("CSY-KNT-01", "Knitted tea cosy", _gtin("871234567897"), 110, ["textile"]),
    # GTIN-12 (UPC-A) barcodes, as US suppliers print them.
    DemoProduct("TRY-BAM-01", "Bamboo serving tray", _gtin("03600029145"), 700, ["kitchen"]),
    DemoProduct("CAN-TIN-03", "Tea tins (set of 3)", _gtin("03600029146"), 330, ["kitchen"]),
    DemoProduct("SPN-WOD-05", "Wooden tea spoons (5)", _gtin("03600029147"), 90, ["kitchen"]),
    DemoProduct(
        "GFT-BOX-01", "Tea lover's gift box", _gtin("03600029148"), 1400, ["gift", "fragile"]
    ),
]


#: Low-stock thresholds of a few demo SKUs (units available across all warehouses).
LOW_STOCK_THRESHOLDS: dict[str, int] = {
    "MUG-CER-350": 150,
    "TEA-SEN-100": 150,
    "GRN-BUR-01": 200,
    "GFT-BOX-01": 250,
}

#: The sandbox Shopify store's access token for the demo ``shopify`` channel.
DEMO_SHOPIFY_TOKEN = "shpat_sandbox_demo"
DEMO_SHOPIFY_LOCATION = 64_000_000_001
#: The sandbox store's shop domain: orders it posts (``oms shop-order``) are written back to
#: it. The sample order's ``demo.myshopify.com`` is not this store's, so it is not.
SANDBOX_SHOP_DOMAIN = "sandbox-store.myshopify.com"


def demo_channels(api_url: str) -> list[dict[str, Any]]:
    """A point-of-sale sandbox channel, and a Shopify channel whose "store" is the API's own
    sandbox Shopify endpoint, so the real Shopify adapter runs in development."""
    return [
        {
            "code": "pos",
            "name": "Shop-floor POS (sandbox)",
            "kind": "sandbox",
            "safety_buffer": 0,
            "config": {},
        },
        {
            "code": "shopify",
            "name": "Demo Shopify store (sandbox endpoint)",
            "kind": "shopify",
            "safety_buffer": 2,
            "config": {
                "base_url": f"{api_url.rstrip('/')}/sandbox/shopify/shopify",
                "api_version": "2024-07",
                "location_id": DEMO_SHOPIFY_LOCATION,
                "access_token": DEMO_SHOPIFY_TOKEN,
                "shop_domain": SANDBOX_SHOP_DOMAIN,
                "inventory_item_ids": {
                    p.sku: 43_000_000_000 + i for i, p in enumerate(PRODUCTS, start=1)
                },
            },
        },
    ]


def stock_quantity(sku: str, warehouse: str) -> int:
    """A deterministic 50-200 units per SKU and warehouse, so stock differs by site."""
    h = sum((i + 1) * ord(c) for i, c in enumerate(f"{sku}@{warehouse}"))
    return 50 + h % 151


@dataclass
class SeedResult:
    warehouses: int = 0
    products: int = 0
    barcodes: int = 0
    stock_levels: int = 0
    thresholds: int = 0
    channels: int = 0
    tag_rules: int = 0  # 1 when the default tag rules were stored (as version 1)

    def __str__(self) -> str:
        return (
            f"inserted {self.warehouses} warehouses, {self.products} products, "
            f"{self.barcodes} barcodes, {self.stock_levels} stock levels, "
            f"{self.thresholds} low-stock thresholds, {self.channels} channels, "
            f"{self.tag_rules} tag rule sets"
        )


async def seed_catalog(session: AsyncSession, api_url: str | None = None) -> SeedResult:
    """Insert whatever of the demo catalog is missing, in the caller's transaction.

    ``api_url`` is where the worker reaches the API (the demo Shopify channel's store);
    from the settings when omitted.
    """
    result = SeedResult()
    for w in WAREHOUSES:
        inserted = await session.execute(
            insert(Warehouse)
            .values(
                code=w.code,
                name=w.name,
                country_code=w.country_code,
                latitude=w.latitude,
                longitude=w.longitude,
                priority=w.priority,
                daily_capacity=w.daily_capacity,
                timezone=w.timezone,
                carrier_cutoff=w.carrier_cutoff,
                active=True,
            )
            .on_conflict_do_nothing()
            .returning(Warehouse.code)
        )
        result.warehouses += len(inserted.all())
    for p in PRODUCTS:
        inserted = await session.execute(
            insert(Product)
            .values(sku=p.sku, name=p.name, weight_grams=p.weight_grams, tags=list(p.tags))
            .on_conflict_do_nothing()
            .returning(Product.sku)
        )
        result.products += len(inserted.all())
        inserted = await session.execute(
            insert(ProductBarcode)
            .values(gtin=catalog_gtin(p.barcode), sku=p.sku, multiplier=1)
            .on_conflict_do_nothing()
            .returning(ProductBarcode.gtin)
        )
        result.barcodes += len(inserted.all())
    existing = {
        (sku, wh)
        for sku, wh in (
            await session.execute(select(InventoryLevel.sku, InventoryLevel.warehouse))
        ).all()
    }
    for w in WAREHOUSES:
        for p in PRODUCTS:
            if (p.sku, w.code) in existing:
                continue
            await inventory.adjust(
                session,
                sku=p.sku,
                warehouse=w.code,
                delta=stock_quantity(p.sku, w.code),
                reason=SEED_REASON,
                actor="oms seed",
            )
            result.stock_levels += 1
    for sku, threshold in LOW_STOCK_THRESHOLDS.items():
        # Only where none is set: a threshold someone changed stays as they left it.
        changed = await session.execute(
            update(Product)
            .where(Product.sku == sku, Product.low_stock_threshold.is_(None))
            .values(low_stock_threshold=threshold)
            .returning(Product.sku)
        )
        result.thresholds += len(changed.all())
    for channel in demo_channels(api_url or Settings().api_base_url):
        inserted = await session.execute(
            insert(Channel)
            .values(**channel, active=True)
            .on_conflict_do_nothing()
            .returning(Channel.code)
        )
        if inserted.all():
            result.channels += 1
            session.add(ChannelCursor(channel=channel["code"], last_txid=0, last_id=0))
    result.tag_rules = int(await ensure_default_tag_rules(session))
    await session.flush()
    return result


async def seed(database_url: str, api_url: str | None = None) -> SeedResult:
    """Seed the demo catalog into the database at ``database_url`` (one transaction)."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with sessionmaker(engine)() as session, session.begin():
            return await seed_catalog(session, api_url)
    finally:
        await engine.dispose()
