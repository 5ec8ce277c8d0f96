"""What the routing engine answers: the winning plan, every site's verdicts, the plans it
beat; stored with the order (``RoutingDecision``) and shown on the order page."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SiteVerdict(BaseModel):
    """One warehouse seen through every rule."""

    warehouse: str
    eligible: bool
    distance_km: float | None = None
    verdicts: dict[str, str] = Field(default_factory=dict)


class PlannedShipment(BaseModel):
    warehouse: str
    lines: dict[str, int]  # sku -> units


class PlanView(BaseModel):
    """A candidate plan and its score under each ranking rule (for the explanation)."""

    warehouses: list[str]
    scores: dict[str, float]


class RoutingOutcome(BaseModel):
    """The decision: the winning plan (empty when short), why, and what it beat."""

    shipments: list[PlannedShipment] = Field(default_factory=list)
    short: dict[str, int] = Field(default_factory=dict)  # sku -> units missing
    reasons: list[str] = Field(default_factory=list)
    sites: list[SiteVerdict] = Field(default_factory=list)
    runners_up: list[PlanView] = Field(default_factory=list)
    relaxed: list[str] = Field(default_factory=list)

    @property
    def routed(self) -> bool:
        return bool(self.shipments)
