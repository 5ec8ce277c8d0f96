"""Catalog: warehouses, products and their barcodes (create and read).

Shared by the API and the seed script. Barcodes are stored as GTIN-14 so a UPC-A and its
EAN-13 form resolve to the same product.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.barcodes import parse_scan
from store.tables import Product, ProductBarcode, Warehouse


def catalog_gtin(code: str) -> str:
    """The GTIN-14 a product barcode is stored under: the same key a scan resolves to
    (UPC-E expanded, UPC-A/EAN-13 zero-padded), so whatever a scanner reads matches.

    Raises:
        ValueError: not a valid GTIN / UPC-E, or a GS1 element string instead of a GTIN.
    """
    scanned = parse_scan(code.strip(), date.today())  # the date only matters for GS1 dates
    if scanned.source == "gs1":
        raise ValueError(f"{code!r} is a GS1 element string; give the product's GTIN")
    return scanned.gtin


class BarcodeTaken(Exception):
    """A barcode already belongs to another product."""

    def __init__(self, gtin: str, sku: str) -> None:
        super().__init__(f"barcode {gtin} already belongs to {sku}")
        self.gtin, self.sku = gtin, sku


class AlreadyExists(Exception):
    """The code/sku is already in the catalog."""


@dataclass
class ProductInfo:
    sku: str
    name: str
    weight_grams: int
    tags: list[str] = field(default_factory=list)
    barcodes: list[str] = field(default_factory=list)
    #: Case / inner-pack barcodes → units one scan of them stands for.
    packaging: dict[str, int] = field(default_factory=dict)


async def create_warehouse(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    country_code: str,
    latitude: float,
    longitude: float,
    priority: int = 100,
    daily_capacity: int | None = None,
    active: bool = True,
    timezone: str = "UTC",
    carrier_cutoff: str | None = None,
) -> Warehouse:
    """Add a warehouse. The caller commits.

    Raises:
        AlreadyExists: the code is taken.
    """
    if await session.get(Warehouse, code) is not None:
        raise AlreadyExists(f"warehouse {code} exists")
    row = Warehouse(
        code=code,
        name=name,
        country_code=country_code.upper(),
        latitude=latitude,
        longitude=longitude,
        priority=priority,
        daily_capacity=daily_capacity,
        active=active,
        timezone=timezone,
        carrier_cutoff=carrier_cutoff,
    )
    session.add(row)
    await session.flush()
    return row


async def list_warehouses(session: AsyncSession) -> list[Warehouse]:
    return list((await session.scalars(select(Warehouse).order_by(Warehouse.code))).all())


async def get_warehouse(session: AsyncSession, code: str) -> Warehouse | None:
    return await session.get(Warehouse, code)


async def create_product(
    session: AsyncSession,
    *,
    sku: str,
    name: str,
    weight_grams: int,
    barcodes: list[str],
    tags: list[str] | None = None,
    packaging: dict[str, int] | None = None,
) -> ProductInfo:
    """Add a product with its unit and packaging barcodes (normalised to GTIN-14).

    ``packaging`` maps a case or inner-pack barcode to the units it holds, so one scan of a
    case of 6 picks 6. Every barcode, unit or packaging, is unique across the catalog. The
    caller commits.

    Raises:
        ValueError: a barcode has a bad check digit or length, or a pack holds < 2 units.
        AlreadyExists: the sku is taken.
        BarcodeTaken: a barcode belongs to another product.
    """
    units = {catalog_gtin(b): 1 for b in barcodes}
    for code, qty in (packaging or {}).items():
        if qty < 2:
            raise ValueError(f"packaging barcode {code} must hold at least 2 units, not {qty}")
        gtin = catalog_gtin(code)
        if gtin in units:
            raise ValueError(f"barcode {code} is listed twice")
        units[gtin] = qty
    if await session.get(Product, sku) is not None:
        raise AlreadyExists(f"product {sku} exists")
    if units:
        taken = (
            await session.execute(
                select(ProductBarcode.gtin, ProductBarcode.sku).where(
                    ProductBarcode.gtin.in_(list(units))
                )
            )
        ).first()
        if taken is not None:
            raise BarcodeTaken(taken[0], taken[1])
    session.add(Product(sku=sku, name=name, weight_grams=weight_grams, tags=list(tags or [])))
    await session.flush()
    for gtin, qty in units.items():
        session.add(ProductBarcode(gtin=gtin, sku=sku, multiplier=qty))
    await session.flush()
    return ProductInfo(
        sku,
        name,
        weight_grams,
        list(tags or []),
        [g for g, q in units.items() if q == 1],
        {g: q for g, q in units.items() if q > 1},
    )


async def get_product(session: AsyncSession, sku: str) -> ProductInfo | None:
    row = await session.get(Product, sku)
    if row is None:
        return None
    codes = (
        await session.execute(
            select(ProductBarcode.gtin, ProductBarcode.multiplier)
            .where(ProductBarcode.sku == sku)
            .order_by(ProductBarcode.gtin)
        )
    ).all()
    return ProductInfo(
        row.sku,
        row.name,
        row.weight_grams,
        list(row.tags or []),
        [g for g, q in codes if q == 1],
        {g: q for g, q in codes if q > 1},
    )


async def missing_skus(session: AsyncSession, skus: list[str]) -> list[str]:
    """The SKUs of ``skus`` that are not in the catalog, sorted."""
    if not skus:
        return []
    found = set((await session.scalars(select(Product.sku).where(Product.sku.in_(skus)))).all())
    return sorted(set(skus) - found)


async def load_weights(session: AsyncSession, skus: list[str]) -> dict[str, int]:
    """Grams per unit of each SKU of ``skus`` that is in the catalog (the pack check's
    expected weight); SKUs not in the catalog are left out."""
    return dict(
        (
            await session.execute(
                select(Product.sku, Product.weight_grams).where(Product.sku.in_(skus))
            )
        ).all()
    )
