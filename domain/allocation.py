"""Choosing a warehouse for an order: small named steps over plain data.

The spine's strategy: among active warehouses that hold every line in stock, the nearest
to the shipping address wins (ties go to the lower priority rank). The full routing engine
(splits, markets, capacity, cut-offs) replaces this later; its contract stays: a ranked list
of candidates plus a human explanation of each verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.geo import haversine_km, locate
from domain.models import Address, OrderLine


@dataclass(frozen=True)
class WarehouseStock:
    """A warehouse and what it has available of the SKUs an order asks for."""

    code: str
    latitude: float
    longitude: float
    priority: int
    available: dict[str, int]


@dataclass(frozen=True)
class Candidate:
    code: str
    distance_km: float | None
    complete: bool
    verdict: str


def rank_warehouses(
    warehouses: list[WarehouseStock], lines: list[OrderLine], address: Address
) -> list[Candidate]:
    """All warehouses, best first; only ``complete`` ones can take the order whole."""
    point = locate(address.latitude, address.longitude, address.country_code)
    needed: dict[str, int] = {}
    for line in lines:
        needed[line.sku] = needed.get(line.sku, 0) + line.quantity

    ranked: list[tuple[tuple[int, float, int, str], Candidate]] = []
    for wh in warehouses:
        short = [sku for sku, qty in sorted(needed.items()) if wh.available.get(sku, 0) < qty]
        distance = haversine_km(point[0], point[1], wh.latitude, wh.longitude) if point else None
        where = f"{distance:.0f} km away" if distance is not None else "distance unknown"
        verdict = (
            f"{wh.code}: all lines in stock, {where}, priority {wh.priority}"
            if not short
            else f"{wh.code}: short of {', '.join(short)}"
        )
        key = (
            0 if not short else 1,
            distance if distance is not None else 1e9,
            wh.priority,
            wh.code,
        )
        ranked.append((key, Candidate(wh.code, distance, not short, verdict)))
    ranked.sort(key=lambda pair: pair[0])
    return [c for _, c in ranked]
