"""Request and response models of channel sync, CSV import and low stock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.bounds import ShopifyId, Units, UnitsDelta
from domain.channels import ChannelKind

# --- channels -----------------------------------------------------------------------------


class ChannelIn(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=200)
    kind: ChannelKind
    #: Units per SKU held back from this channel (it is offered available - buffer, >= 0).
    safety_buffer: Units = 0
    #: Adapter settings; see README "Channel sync" (secrets are never shown back).
    config: dict[str, Any] = Field(default_factory=dict)
    active: bool = True


class ChannelChange(BaseModel):
    """What ``PATCH /api/v1/channels/{code}`` may change; the code and kind stay."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    safety_buffer: Units | None = None
    #: Replaces the whole config (secrets included: they are never shown back).
    config: dict[str, Any] | None = None
    #: False pauses the channel (its sync workflow ends); True resumes it with a full sync.
    active: bool | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> ChannelChange:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give name, safety_buffer, config or active")
        nulls = sorted(k for k in self.model_fields_set if getattr(self, k) is None)
        if nulls:
            raise ValueError(f"{', '.join(nulls)}: give a value, not null")
        return self

    def changes(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.model_fields_set}


class ChannelOut(BaseModel):
    code: str
    name: str
    kind: str
    safety_buffer: int
    config: dict[str, Any]
    active: bool
    created_at: datetime
    workflow_id: str
    #: Outbox rows the channel has not been brought past yet (capped at 100000).
    lag: int = 0
    last_push_at: datetime | None = None
    pushed_skus: int = 0


class ChannelChanged(ChannelOut):
    #: A full sync was started (reactivated, new buffer or config): every SKU is re-offered.
    resync: bool
    #: As in ``ChannelCreated``: False when Temporal could not be reached.
    sync_started: bool


class ChannelCreated(ChannelOut):
    #: False when Temporal could not be reached: the worker starts it at its next start,
    #: or ``POST /api/v1/channels/{code}/sync`` does now.
    sync_started: bool


class ChannelPushOut(BaseModel):
    sku: str
    available: int
    idempotency_key: str
    pushed_at: datetime


class SyncRequested(BaseModel):
    workflow_id: str
    status: str = "poked"


# --- sandbox Shopify ------------------------------------------------------------------------


class ShopifyInventoryLevelSet(BaseModel):
    """Shopify's ``inventory_levels/set.json`` body."""

    location_id: ShopifyId
    inventory_item_id: ShopifyId
    available: UnitsDelta
    disconnect_if_necessary: bool = False


class ShopifyInventoryLevel(BaseModel):
    inventory_item_id: int
    location_id: int
    available: int
    updated_at: datetime
    admin_graphql_api_id: str


class ShopifyInventoryLevelAnswer(BaseModel):
    inventory_level: ShopifyInventoryLevel


# --- CSV import -----------------------------------------------------------------------------


class ImportSummary(BaseModel):
    #: Data rows in the file.
    rows: int
    #: Rows that changed a level (a count equal to the level is recorded, but changes nothing).
    applied: int
    unchanged: int
    #: Distinct SKUs in the file.
    skus: int


# --- low stock ------------------------------------------------------------------------------


class ThresholdIn(BaseModel):
    #: Below this many units available (all active warehouses) the SKU is low on stock;
    #: null removes the threshold.
    threshold: Units | None


class ThresholdOut(BaseModel):
    sku: str
    threshold: int | None
    available: int
    below: bool


class LowStockOut(BaseModel):
    sku: str
    name: str
    threshold: int
    available: int
    #: When the current ``low_stock`` event was raised (null until the watch has seen it).
    since: datetime | None
