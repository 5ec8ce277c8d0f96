"""The order's payment: confirmed before allocation (paid, paid later by ``orders/paid``,
or an authorization captured now), and reversed when the order is cancelled."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from temporalio import workflow

from domain import names
from domain.models import PaymentRequest, PaymentResult
from domain.status import FinancialStatus, HoldReason, OrderStatus, PaymentState
from workflows import patches, policies
from workflows.order.holds import Holds, check_cancel
from workflows.order.journal import Journal
from workflows.order.state import OrderData


class Payments:
    def __init__(self, data: OrderData, journal: Journal, holds: Holds) -> None:
        self.data = data
        self.journal = journal
        self.holds = holds

    async def confirm(self) -> None:
        data, order = self.data, self.data.order
        fs = order.financial_status
        if fs == FinancialStatus.PAID:
            data.payment = PaymentState.PAID
            self.journal.event("payment_confirmed", how="paid at checkout")
            return
        if fs == FinancialStatus.PENDING:
            await self._wait_for_payment()
            return
        # authorized: capture now, once, whatever the retries.
        attempt = 0
        while True:
            attempt += 1
            # Made here, so a retried or replayed capture is the same charge
            # (docs/decisions/0018-idempotency-keys-made-in-workflows.md).
            key = f"capture-{order.order_id}" + (f"-{attempt}" if attempt > 1 else "")
            result: PaymentResult = await workflow.execute_activity(
                names.CAPTURE_PAYMENT,
                PaymentRequest(
                    order_id=order.order_id,
                    amount=order.total,
                    currency=order.currency,
                    idempotency_key=key,
                ),
                result_type=PaymentResult,
                start_to_close_timeout=policies.EXTERNAL_TIMEOUT,
                retry_policy=policies.EXTERNAL,
            )
            if result.status == "captured":
                data.payment = PaymentState.CAPTURED
                self.journal.event("payment_captured", gateway_ref=result.gateway_ref, key=key)
                return
            # A decline is an answer: hold the order until someone sorts it out.
            self.holds.place(HoldReason.AWAITING_PAYMENT, f"capture declined: {result.detail}")
            self.journal.event("payment_declined", detail=result.detail, key=key)
            await self.holds.proceed()

    async def _wait_for_payment(self) -> None:
        """A pending payment: wait for ``orders/paid``; the order is cancelled when it does
        not come in time."""
        data = self.data
        await self.journal.set_status(OrderStatus.AWAITING_PAYMENT)
        timeout = timedelta(seconds=data.order.options.payment_timeout_seconds)
        try:
            await workflow.wait_condition(
                lambda: data.paid_signal or data.cancel_reason is not None, timeout=timeout
            )
        except TimeoutError:
            data.cancel_reason = "payment not received in time"
            self.journal.event("payment_timeout", waited_seconds=int(timeout.total_seconds()))
        check_cancel(data)
        data.payment = PaymentState.PAID
        self.journal.event("payment_confirmed", how="orders/paid")
        if patches.in_force(data.gen, patches.PAID_ORDER_LEAVES_AWAITING_PAYMENT):
            # Paid: allocation is next and writes the projection. Without this a hold
            # met on the way resumed to `awaiting_payment`, and releasing it told the
            # person the paid order was waiting for its payment.
            await self.journal.set_status(OrderStatus.RECEIVED, flush=False)

    async def reverse(self, kind: str, amount: Decimal) -> None:
        """Refund a taken payment or void an authorization, once (key made here)."""
        order = self.data.order
        result: PaymentResult = await workflow.execute_activity(
            names.REVERSE_PAYMENT,
            PaymentRequest(
                order_id=order.order_id,
                amount=amount,
                currency=order.currency,
                idempotency_key=f"{kind}-{order.order_id}",
                kind=kind,
            ),
            result_type=PaymentResult,
            start_to_close_timeout=policies.EXTERNAL_TIMEOUT,
            retry_policy=policies.EXTERNAL,
        )
        self.data.payment = PaymentState(result.status)
        self.journal.event("payment_reversed", status=result.status, gateway_ref=result.gateway_ref)
