"""The routing rule set (what ops configure and Postgres stores) and the warehouse as
routing sees it (``Site``); the rules' meaning is in ``domain.routing``'s docstring."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, model_validator

from domain.status import ShippingMethod


class RuleType(StrEnum):
    DAILY_CAPACITY = "daily_capacity"
    SHIPPING_METHOD_CUTOFF = "shipping_method_cutoff"
    MINIMIZE_SHIPMENTS = "minimize_shipments"
    STAY_IN_MARKET = "stay_in_market"
    CLOSEST = "closest"
    PRIORITY_RANK = "priority_rank"
    MOST_STOCK = "most_stock"


FILTERS = frozenset({RuleType.DAILY_CAPACITY, RuleType.SHIPPING_METHOD_CUTOFF})


class RoutingRule(BaseModel):
    """One rule of the ordered rule set, as stored in Postgres and edited through the API."""

    type: RuleType
    enabled: bool = True
    #: ``shipping_method_cutoff`` only: the methods the cut-off applies to.
    methods: list[ShippingMethod] = Field(default_factory=lambda: [ShippingMethod.OVERNIGHT])

    model_config = {"extra": "forbid"}


class RoutingRules(BaseModel):
    """A whole rule set; validated on save (each type at most once)."""

    rules: list[RoutingRule]

    @model_validator(mode="after")
    def _each_type_once(self) -> RoutingRules:
        seen: set[RuleType] = set()
        for rule in self.rules:
            if rule.type in seen:
                raise ValueError(f"rule {rule.type.value!r} appears more than once")
            seen.add(rule.type)
        return self


DEFAULT_RULES = RoutingRules(
    rules=[
        RoutingRule(type=RuleType.DAILY_CAPACITY),
        RoutingRule(type=RuleType.SHIPPING_METHOD_CUTOFF),
        RoutingRule(type=RuleType.MINIMIZE_SHIPMENTS),
        RoutingRule(type=RuleType.STAY_IN_MARKET),
        RoutingRule(type=RuleType.CLOSEST),
        RoutingRule(type=RuleType.PRIORITY_RANK),
    ]
)


class WarehousePlace(Protocol):
    """What routing reads of a warehouse (the ``warehouses`` row, or a bench's stand-in)."""

    @property
    def code(self) -> str: ...
    @property
    def country_code(self) -> str: ...
    @property
    def latitude(self) -> float: ...
    @property
    def longitude(self) -> float: ...
    @property
    def priority(self) -> int: ...
    @property
    def daily_capacity(self) -> int | None: ...
    @property
    def timezone(self) -> str: ...
    @property
    def carrier_cutoff(self) -> str | None: ...


@dataclass(frozen=True)
class Site:
    """A warehouse as routing sees it: place, rank, capacity, cut-off and stock."""

    code: str
    country_code: str
    latitude: float
    longitude: float
    priority: int = 100
    available: dict[str, int] = field(default_factory=dict)
    daily_capacity: int | None = None
    shipments_today: int = 0
    timezone: str = "UTC"
    carrier_cutoff: str | None = None  # local "HH:MM"

    @classmethod
    def of(cls, w: WarehousePlace, available: dict[str, int], shipments_today: int = 0) -> Site:
        """The warehouse ``w`` with its stock for the order and today's shipments."""
        return cls(
            code=w.code,
            country_code=w.country_code,
            latitude=w.latitude,
            longitude=w.longitude,
            priority=w.priority,
            available=available,
            daily_capacity=w.daily_capacity,
            shipments_today=shipments_today,
            timezone=w.timezone,
            carrier_cutoff=w.carrier_cutoff,
        )

    def cutoff_passed(self, now: datetime) -> bool:
        if not self.carrier_cutoff:
            return False
        hh, mm = (int(p) for p in self.carrier_cutoff.split(":"))
        local = now.astimezone(ZoneInfo(self.timezone))
        return local.time() >= time(hh, mm)
