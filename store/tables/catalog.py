"""The catalog: warehouses (and their daily load), products and their barcodes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.tables.base import Base, now_column


class Warehouse(Base):
    __tablename__ = "warehouses"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country_code: Mapped[str] = mapped_column(String(2))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    daily_capacity: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: IANA zone the warehouse's day and carrier cut-off are counted in.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    #: Local "HH:MM" after which express/overnight parcels miss today's carrier pickup.
    carrier_cutoff: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = now_column()


class WarehouseDailyLoad(Base):
    """Shipments a warehouse accepted on one local day; the capacity rule's counter.

    Incremented in the reservation's transaction with a predicate against the capacity, so
    two concurrent allocations cannot both take the last slot.
    """

    __tablename__ = "warehouse_daily_load"
    warehouse: Mapped[str] = mapped_column(ForeignKey("warehouses.code"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    shipments: Mapped[int] = mapped_column(Integer, default=0)


class Product(Base):
    __tablename__ = "products"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    weight_grams: Mapped[int] = mapped_column(Integer)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    #: Below this many units available (all warehouses), a ``low_stock`` event is raised.
    low_stock_threshold: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = now_column()


class ProductBarcode(Base):
    """A barcode (normalised to GTIN-14) is unique across the catalog."""

    __tablename__ = "product_barcodes"
    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku", ondelete="CASCADE"), index=True)
    multiplier: Mapped[int] = mapped_column(Integer, default=1)
