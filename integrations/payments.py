"""Payment gateway adapter and its sandbox.

The sandbox declines amounts whose cents are ``.51`` (like a test card number would), so
the decline path can be exercised from any client.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from integrations.sandbox import SandboxService


@dataclass(frozen=True)
class GatewayResult:
    status: str  # succeeded | declined
    reference: str | None
    detail: str | None = None


class PaymentGateway(Protocol):
    async def capture(self, *, key: str, amount: Decimal, currency: str) -> GatewayResult: ...
    async def refund(self, *, key: str, amount: Decimal, currency: str) -> GatewayResult: ...
    async def void(self, *, key: str) -> GatewayResult: ...


class SandboxPaymentGateway(SandboxService):
    service = "payments"

    async def _call(self, key: str, kind: str, amount: Decimal | None) -> GatewayResult:
        async def act() -> dict[str, str | None]:
            if amount is not None and amount.quantize(Decimal("0.01")) % 1 == Decimal("0.51"):
                return {"status": "declined", "reference": None, "detail": "card declined"}
            return {
                "status": "succeeded",
                "reference": f"pay_{uuid.uuid4().hex[:16]}",
                "detail": None,
            }

        result = await self.once(key, kind, act)
        return GatewayResult(result["status"], result["reference"], result.get("detail"))

    async def capture(self, *, key: str, amount: Decimal, currency: str) -> GatewayResult:
        return await self._call(key, "capture", amount)

    async def refund(self, *, key: str, amount: Decimal, currency: str) -> GatewayResult:
        return await self._call(key, "refund", None)

    async def void(self, *, key: str) -> GatewayResult:
        return await self._call(key, "void", None)
