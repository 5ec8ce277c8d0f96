"""Cancelling an order: undo in reverse what was done (reservations, the payment), tell
the customer, and tell the sales channel unless the cancel came from it."""

from __future__ import annotations

from decimal import Decimal

from temporalio import workflow

from domain import names
from domain.models import ReleaseRequest
from domain.status import PAYMENT_TAKEN, FinancialStatus, OrderStatus, ShipmentStatus
from domain.writeback import WritebackKind, cancel_reason_code
from workflows import patches, policies
from workflows.order.channel import ChannelWrites
from workflows.order.journal import Journal
from workflows.order.payment import Payments
from workflows.order.state import OrderData


async def compensate(
    data: OrderData, journal: Journal, payments: Payments, channel: ChannelWrites
) -> None:
    """Undo in reverse: shipments (labels), reservations, payment; then tell the customer."""
    journal.event("cancelling", reason=data.cancel_reason)
    # A backorder that never got stock has nothing reserved, but its row in `backorders`
    # must be closed too, or stock adjustments keep waking a finished workflow.
    # release_stock does both and is idempotent; patched so older histories replay.
    if data.allocated or (
        data.backordered and patches.in_force(data.gen, patches.RELEASE_BACKORDER_ON_CANCEL)
    ):
        await workflow.execute_activity(
            names.RELEASE_STOCK,
            ReleaseRequest(order_id=data.order.order_id, reason=data.cancel_reason or ""),
            start_to_close_timeout=policies.DATABASE_TIMEOUT,
            retry_policy=policies.DATABASE,
        )
        for view in data.shipments.values():
            view.status = ShipmentStatus.CANCELLED
        journal.event("stock_released")
    if data.payment in PAYMENT_TAKEN:
        await payments.reverse("refund", data.order.total)
    elif data.order.financial_status == FinancialStatus.AUTHORIZED:
        await payments.reverse("void", Decimal("0"))
    data.holds.clear()
    await journal.notify("cancelled")
    journal.event("cancelled", reason=data.cancel_reason)
    if data.cancel_source != "shopify":
        # Shopify stops expecting a shipment; one cancelled there already knows.
        channel.put(
            WritebackKind.CANCEL,
            "cancel",
            cancel_reason=cancel_reason_code(data.cancel_reason or ""),
            refund=data.cancel_flags.refund,
            restock=data.cancel_flags.restock,
            note=data.cancel_reason,
        )
    await journal.set_status(OrderStatus.CANCELLED)
