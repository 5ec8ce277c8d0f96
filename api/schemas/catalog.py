"""Warehouses, products and stock levels (the catalog routes)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.bounds import (
    Barcode,
    Grams,
    Latitude,
    Longitude,
    Rank,
    Sku,
    Tag,
    Units,
    UnitsDelta,
    WarehouseCode,
    ZoneName,
)

# --- catalog ------------------------------------------------------------------------------


class WarehouseIn(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=200)
    country_code: str = Field(min_length=2, max_length=2)
    latitude: Latitude
    longitude: Longitude
    priority: Rank = 100
    daily_capacity: Units | None = None
    active: bool = True
    timezone: ZoneName = Field(default="UTC", description="IANA zone for its day and cut-off")
    carrier_cutoff: str | None = Field(
        default=None,
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="local HH:MM after which express/overnight miss today's pickup",
    )

    @model_validator(mode="after")
    def _known_zone(self) -> WarehouseIn:
        _check_zone(self.timezone)
        return self


def _check_zone(zone: str | None) -> None:
    if zone is None:
        return
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {zone!r}") from exc


class WarehousePatch(BaseModel):
    """Ops tuning a warehouse: what routing reads (rank, capacity, cut-off, active)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    priority: Rank | None = None
    daily_capacity: Units | None = None
    active: bool | None = None
    timezone: ZoneName | None = None
    carrier_cutoff: str | None = Field(default=None, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")

    @model_validator(mode="after")
    def _known_zone(self) -> WarehousePatch:
        _check_zone(self.timezone)
        return self


class WarehouseOut(WarehouseIn):
    model_config = ConfigDict(from_attributes=True)


class PackagingBarcode(BaseModel):
    """A case or inner-pack barcode: one scan of it picks ``quantity`` units."""

    barcode: Barcode
    quantity: int = Field(ge=2, le=100_000)


class ProductIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=300)
    barcodes: list[Barcode] = Field(default_factory=list, max_length=50)
    weight_grams: Grams
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    packaging: list[PackagingBarcode] = Field(default_factory=list, max_length=20)


class ProductOut(BaseModel):
    sku: str
    name: str
    barcodes: list[str]
    weight_grams: int
    tags: list[str]
    packaging: list[PackagingBarcode] = Field(default_factory=list)


class AdjustmentIn(BaseModel):
    sku: Sku
    warehouse: WarehouseCode
    delta: UnitsDelta | None = None
    on_hand: Units | None = None
    reason: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _one_of(self) -> AdjustmentIn:
        if (self.delta is None) == (self.on_hand is None):
            raise ValueError("give exactly one of delta or on_hand")
        return self


class LevelOut(BaseModel):
    sku: str
    warehouse: str
    on_hand: int
    reserved: int
    available: int
