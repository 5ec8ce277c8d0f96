"""Capture and reverse payments through the gateway, once per idempotency key.

The ``payment_ledger`` row is written before the gateway is called and settled after, so
an operator can see an operation that is in doubt; the gateway's own idempotency makes the
retry after a crash return the first result instead of charging twice.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from domain import names
from domain.models import PaymentRequest, PaymentResult
from integrations.payments import GatewayResult, PaymentGateway
from store.tables import PaymentLedger

_DONE = {"capture": "captured", "refund": "refunded", "void": "voided"}


class PaymentActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], gateway: PaymentGateway) -> None:
        self.sessions = sessions
        self.gateway = gateway

    async def _run(self, req: PaymentRequest) -> PaymentResult:
        async with self.sessions.begin() as session:
            await session.execute(
                insert(PaymentLedger)
                .values(
                    idempotency_key=req.idempotency_key,
                    order_id=req.order_id,
                    kind=req.kind,
                    amount=req.amount,
                    currency=req.currency,
                    status="pending",
                )
                .on_conflict_do_nothing()
            )
            row = await session.scalar(
                select(PaymentLedger).where(PaymentLedger.idempotency_key == req.idempotency_key)
            )
        assert row is not None
        if row.status != "pending":
            return self._result(req, row.status, row.gateway_ref, None)

        result: GatewayResult
        if req.kind == "capture":
            result = await self.gateway.capture(
                key=req.idempotency_key, amount=req.amount, currency=req.currency
            )
        elif req.kind == "refund":
            result = await self.gateway.refund(
                key=req.idempotency_key, amount=req.amount, currency=req.currency
            )
        else:
            result = await self.gateway.void(key=req.idempotency_key)

        async with self.sessions.begin() as session:
            await session.execute(
                update(PaymentLedger)
                .where(PaymentLedger.idempotency_key == req.idempotency_key)
                .values(status=result.status, gateway_ref=result.reference, updated_at=func.now())
            )
        return self._result(req, result.status, result.reference, result.detail)

    @staticmethod
    def _result(
        req: PaymentRequest, status: str, ref: str | None, detail: str | None
    ) -> PaymentResult:
        return PaymentResult(
            idempotency_key=req.idempotency_key,
            status=_DONE[req.kind] if status == "succeeded" else status,
            gateway_ref=ref,
            detail=detail,
        )

    @activity.defn(name=names.CAPTURE_PAYMENT)
    async def capture_payment(self, req: PaymentRequest) -> PaymentResult:
        return await self._run(req)

    @activity.defn(name=names.REVERSE_PAYMENT)
    async def reverse_payment(self, req: PaymentRequest) -> PaymentResult:
        return await self._run(req)
