"""Carrier adapter (label purchase and void) and its sandbox."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select

from integrations.sandbox import SandboxService, TransientRemoteError
from store.tables import SandboxOperation


@dataclass(frozen=True)
class Label:
    carrier: str
    tracking_number: str
    tracking_url: str
    label_url: str


class Carrier(Protocol):
    name: str

    async def buy_label(
        self, *, key: str, service_level: str, weight_grams: int, destination: str
    ) -> Label: ...

    async def void_label(self, *, key: str, tracking_number: str) -> bool: ...

    async def find_label(self, *, key: str) -> Label | None:
        """The label the carrier sold under ``key``, if it did (a purchase whose answer
        was lost): looked up before buying under another key, so none is bought twice."""
        ...


class SandboxCarrier(SandboxService):
    service = "carrier"
    name = "sandbox"

    async def buy_label(
        self, *, key: str, service_level: str, weight_grams: int, destination: str
    ) -> Label:
        async def act() -> dict[str, str]:
            number = "SBX" + uuid.uuid4().hex[:12].upper()
            return {
                "tracking_number": number,
                "tracking_url": f"https://track.sandbox-carrier.test/{number}",
                "label_url": f"https://labels.sandbox-carrier.test/{number}.pdf",
            }

        r = await self.once(key, "label", act)
        return Label(self.name, r["tracking_number"], r["tracking_url"], r["label_url"])

    async def find_label(self, *, key: str) -> Label | None:
        await self.behaviour.delay()
        if self.behaviour.fails():
            raise TransientRemoteError(f"{self.service}: upstream timeout (lookup)")
        async with self.sessions() as session:
            r = await session.scalar(
                select(SandboxOperation.result).where(
                    SandboxOperation.idempotency_key == key, SandboxOperation.kind == "label"
                )
            )
        if r is None:
            return None
        return Label(self.name, r["tracking_number"], r["tracking_url"], r["label_url"])

    async def void_label(self, *, key: str, tracking_number: str) -> bool:
        async def act() -> dict[str, str]:
            return {"voided": tracking_number}

        await self.once(key, "void", act)
        return True
