"""The carrier protocol (rates, label purchase with an idempotency key, void, tracking
links) and its sandbox.

A carrier hands back the label itself (PDF for desktop printers, ZPL for thermal ones):
the OMS keeps it in its label ledger and serves it from its own API, so a packer never
depends on the carrier's site being up to print (docs/decisions/0005-labels-and-the-road.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import select

from domain.models import Address
from integrations.labels import LabelContent, render_pdf, render_zpl
from integrations.sandbox import SandboxService, TransientRemoteError
from store.tables import SandboxOperation


@dataclass(frozen=True)
class Rate:
    """One service a carrier offers for a parcel, with its price and promised days."""

    carrier: str
    service_level: str
    amount: Decimal
    currency: str
    days: int


@dataclass(frozen=True)
class Label:
    """A purchased label: the tracking number and the printable label in both formats."""

    carrier: str
    tracking_number: str
    tracking_url: str
    service_level: str
    weight_grams: int
    ship_from: Address
    ship_to: Address
    pdf: bytes
    zpl: str


class Carrier(Protocol):
    name: str

    async def rates(
        self, *, ship_from: Address, ship_to: Address, weight_grams: int
    ) -> list[Rate]: ...

    async def buy_label(
        self,
        *,
        key: str,
        ship_from: Address,
        ship_to: Address,
        service_level: str,
        weight_grams: int,
        reference: str = "",
    ) -> Label:
        """Buy once per ``key``: a retry with the same key gets the same label back."""
        ...

    async def void_label(self, *, key: str, tracking_number: str) -> bool: ...

    async def find_label(self, *, key: str) -> Label | None:
        """The label the carrier sold under ``key``, if it did (a purchase whose answer
        was lost): looked up before buying under another key, so none is bought twice."""
        ...

    def tracking_url(self, tracking_number: str) -> str: ...


#: The sandbox's services: (price for the first kg, price per further kg, days).
SANDBOX_SERVICES: dict[str, tuple[Decimal, Decimal, int]] = {
    "standard": (Decimal("5.90"), Decimal("1.10"), 4),
    "express": (Decimal("12.50"), Decimal("2.00"), 2),
    "overnight": (Decimal("24.00"), Decimal("3.50"), 1),
}


_BLANK_FACTS: dict[str, Any] = {
    "service_level": "standard",
    "weight_grams": 0,
    "ship_from": {},
    "ship_to": {},
    "reference": "",
}


class SandboxCarrier(SandboxService):
    """A carrier that behaves like a remote one (latency, transient failures, remembered
    idempotency keys) and prints real labels.

    What it remembers for a purchase is the label's facts (number, service, weight,
    addresses: a few hundred bytes in ``sandbox_operations``), not the PDF: the label is
    drawn from them, identically, on every answer to that key.
    """

    service = "carrier"
    name = "sandbox"

    async def rates(self, *, ship_from: Address, ship_to: Address, weight_grams: int) -> list[Rate]:
        await self.behaviour.delay()
        extra_kg = max(0, -(-weight_grams // 1000) - 1)
        abroad = ship_from.country_code.upper() != ship_to.country_code.upper()
        return [
            Rate(
                self.name,
                level,
                (base + per_kg * extra_kg) * (2 if abroad else 1),
                "USD",
                days + (3 if abroad else 0),
            )
            for level, (base, per_kg, days) in SANDBOX_SERVICES.items()
        ]

    def tracking_url(self, tracking_number: str) -> str:
        return f"https://track.sandbox-carrier.test/{tracking_number}"

    async def buy_label(
        self,
        *,
        key: str,
        ship_from: Address,
        ship_to: Address,
        service_level: str,
        weight_grams: int,
        reference: str = "",
    ) -> Label:
        async def act() -> dict[str, Any]:
            return {
                "tracking_number": "SBX" + uuid.uuid4().hex[:12].upper(),
                "service_level": service_level,
                "weight_grams": weight_grams,
                "ship_from": ship_from.model_dump(mode="json"),
                "ship_to": ship_to.model_dump(mode="json"),
                "reference": reference,
            }

        facts = await self.once(key, "label", act)
        asked = {
            "service_level": service_level,
            "weight_grams": weight_grams,
            "ship_from": ship_from.model_dump(mode="json"),
            "ship_to": ship_to.model_dump(mode="json"),
            "reference": reference,
        }
        return self._label({**asked, **facts})

    async def find_label(self, *, key: str) -> Label | None:
        await self.behaviour.delay()
        if self.behaviour.fails():
            raise TransientRemoteError(f"{self.service}: upstream timeout (lookup)")
        async with self.sessions() as session:
            facts = await session.scalar(
                select(SandboxOperation.result).where(
                    SandboxOperation.idempotency_key == key, SandboxOperation.kind == "label"
                )
            )
        return None if facts is None else self._label(dict(facts))

    def _label(self, facts: dict[str, Any]) -> Label:
        """The label drawn from remembered facts. A purchase remembered before labels were
        printed has only the number: the rest falls back to what the retry asked for, or
        to blanks."""
        facts = {**_BLANK_FACTS, **facts}
        content = LabelContent(
            carrier=self.name,
            tracking_number=facts["tracking_number"],
            service_level=facts["service_level"],
            weight_grams=int(facts["weight_grams"]),
            ship_from=Address.model_validate(facts["ship_from"]),
            ship_to=Address.model_validate(facts["ship_to"]),
            reference=facts.get("reference", ""),
        )
        return Label(
            carrier=self.name,
            tracking_number=content.tracking_number,
            tracking_url=self.tracking_url(content.tracking_number),
            service_level=content.service_level,
            weight_grams=content.weight_grams,
            ship_from=content.ship_from,
            ship_to=content.ship_to,
            pdf=render_pdf(content),
            zpl=render_zpl(content),
        )

    async def void_label(self, *, key: str, tracking_number: str) -> bool:
        async def act() -> dict[str, str]:
            return {"voided": tracking_number}

        await self.once(key, "void", act)
        return True
