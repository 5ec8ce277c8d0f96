"""API keys and saved list views: who calls, and what they keep."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from api.bounds import WarehouseCode
from api.filters import Filters

# --- keys ---------------------------------------------------------------------------------


class KeyCreate(BaseModel):
    role: Literal["admin", "ops", "staff", "integration"]
    warehouse: WarehouseCode | None = None
    name: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _staff_needs_warehouse(self) -> KeyCreate:
        if self.role == "staff" and not self.warehouse:
            raise ValueError("a staff key needs a warehouse")
        return self


class KeyCreated(BaseModel):
    key: str
    key_id: str


class KeyRevoked(BaseModel):
    key_id: str
    revoked: bool = True


# --- saved views --------------------------------------------------------------------------


class ViewIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    filters: Filters = Field(default_factory=Filters)
    shared: bool = False


class ViewOut(BaseModel):
    view_id: str
    name: str
    filters: Filters
    shared: bool
    mine: bool
    created_at: datetime
