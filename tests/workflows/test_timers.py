"""Long waits, on the time-skipping test server: days pass in milliseconds.

The server is ``temporal-test-server`` (no visibility); the worker runs the real activities
against the session's real Postgres. While the test awaits a workflow result the server
skips time whenever nothing is running; ``env.sleep`` skips a given span explicitly.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from domain.models import CancelInput, OrderOptions
from domain.status import FinancialStatus, OrderStatus
from domain.templates import Step, TemplateSet
from store import inventory
from store.tables import Backorder, OrderEventRow, OrderRow, PaymentLedger, Reservation
from tests.workflows.helpers import order_input, start_order
from workflows.order import OrderWorkflow

Sessions = async_sessionmaker[AsyncSession]
QUEUE = f"timers-{uuid.uuid4().hex[:8]}"
DAY = 24 * 3600


async def events(sessions: Sessions, order_id: str) -> list[tuple[str, dict[str, Any]]]:
    async with sessions() as s:
        rows = await s.execute(
            select(OrderEventRow.type, OrderEventRow.detail)
            .where(OrderEventRow.order_id == order_id)
            .order_by(OrderEventRow.at, OrderEventRow.id)
        )
        return [(t, d) for t, d in rows.all()]


async def row_status(sessions: Sessions, order_id: str) -> str | None:
    async with sessions() as s:
        return await s.scalar(select(OrderRow.status).where(OrderRow.order_id == order_id))


#: These tests are about the payment and backorder timers. Step SLAs (tested in
#: test_templates_and_slas.py) are pushed out of the way: a breach fired inside a skipped
#: interval writes the projection from a local activity, and the time-skipping server
#: can skip past that workflow task's timeout while it runs, over and over.
QUIET = TemplateSet(base_sla_seconds={step: 365 * DAY for step in Step})


@pytest.mark.usefixtures("skipping_worker")
async def test_unpaid_pending_order_is_cancelled_when_payment_times_out(
    skipping_env: WorkflowEnvironment, sessions: Sessions, make_catalog: Any
) -> None:
    cat = await make_catalog()
    order = order_input(
        [(cat.skus[0], 1)],
        financial_status=FinancialStatus.PENDING,
        options=OrderOptions(payment_timeout_seconds=3 * DAY),
        templates=QUIET,
    )
    handle = await start_order(skipping_env.client, order, QUEUE)
    before = await skipping_env.get_current_time()

    final = await handle.result()  # three days pass here

    assert await skipping_env.get_current_time() - before >= timedelta(days=3)
    assert final.status == OrderStatus.CANCELLED
    assert final.cancel_reason == "payment not received in time"
    assert final.payment == "pending"  # nothing was ever taken, so nothing is reversed
    assert await row_status(sessions, order.order_id) == "cancelled"
    log = await events(sessions, order.order_id)
    types = [t for t, _ in log]
    assert dict(log)["payment_timeout"] == {"waited_seconds": 3 * DAY}
    assert types.index("payment_timeout") < types.index("cancelled")
    assert "payment_confirmed" not in types and "allocated" not in types
    async with sessions() as s:
        payments = (
            await s.scalars(
                select(PaymentLedger.kind).where(PaymentLedger.order_id == order.order_id)
            )
        ).all()
        reservations = (
            await s.scalars(select(Reservation.id).where(Reservation.order_id == order.order_id))
        ).all()
        level = (await inventory.levels(s, sku=cat.skus[0], warehouse=cat.warehouses[0]))[0]
    assert (list(payments), list(reservations)) == ([], [])
    assert (level.on_hand, level.reserved) == (10, 0)


@pytest.mark.usefixtures("skipping_worker")
async def test_payment_received_before_the_timeout_allocates_and_outlives_the_timer(
    skipping_env: WorkflowEnvironment, sessions: Sessions, make_catalog: Any
) -> None:
    cat = await make_catalog()
    order = order_input(
        [(cat.skus[0], 2)],
        financial_status=FinancialStatus.PENDING,
        options=OrderOptions(payment_timeout_seconds=3 * DAY),
        templates=QUIET,
    )
    handle = await start_order(skipping_env.client, order, QUEUE)
    try:
        await skipping_env.sleep(timedelta(days=1))  # a day into the wait
        assert (await handle.query(OrderWorkflow.details)).status == OrderStatus.AWAITING_PAYMENT
        await handle.signal(OrderWorkflow.payment_received)

        await skipping_env.sleep(timedelta(days=5))  # well past the payment timeout
        state = await handle.query(OrderWorkflow.details)
        assert state.status == OrderStatus.READY_TO_PICK
        assert state.payment == "paid"
        assert [s.warehouse for s in state.shipments] == [cat.warehouses[0]]
        assert await row_status(sessions, order.order_id) == "ready_to_pick"
        types = [t for t, _ in await events(sessions, order.order_id)]
        assert types.index("payment_confirmed") < types.index("allocated")
        assert "payment_timeout" not in types and "cancelled" not in types
        async with sessions() as s:
            level = (await inventory.levels(s, sku=cat.skus[0], warehouse=cat.warehouses[0]))[0]
        assert (level.on_hand, level.reserved) == (10, 2)
    finally:
        await handle.execute_update(OrderWorkflow.cancel, CancelInput(reason="test done"))
    assert (await handle.result()).status == OrderStatus.CANCELLED


@pytest.mark.usefixtures("skipping_worker")
async def test_backorder_recheck_timer_allocates_stock_that_arrived_without_a_signal(
    skipping_env: WorkflowEnvironment, sessions: Sessions, make_catalog: Any
) -> None:
    """A missed ``stock_available`` signal is covered by the periodic recheck."""
    cat = await make_catalog({}, n_products=1)
    order = order_input(
        [(cat.skus[0], 1)],
        options=OrderOptions(backorder_recheck_seconds=6 * 3600),
        templates=QUIET,
    )
    handle = await start_order(skipping_env.client, order, QUEUE)
    try:
        await skipping_env.sleep(timedelta(hours=1))
        assert (await handle.query(OrderWorkflow.details)).status == OrderStatus.BACKORDERED
        async with sessions.begin() as s:  # stock arrives; nobody tells the order
            await inventory.adjust(
                s, sku=cat.skus[0], warehouse=cat.warehouses[1], delta=3, reason="test restock"
            )

        await skipping_env.sleep(timedelta(hours=6))
        state = await handle.query(OrderWorkflow.details)
        assert state.status == OrderStatus.READY_TO_PICK
        assert [s.warehouse for s in state.shipments] == [cat.warehouses[1]]
        types = [t for t, _ in await events(sessions, order.order_id)]
        assert types.index("backordered") < types.index("backorder_recheck")
        assert types.index("backorder_recheck") < types.index("allocated")
        async with sessions() as s:
            resolved = await s.scalar(
                select(Backorder.resolved_at).where(Backorder.order_id == order.order_id)
            )
        assert resolved is not None
    finally:
        await handle.execute_update(OrderWorkflow.cancel, CancelInput(reason="test done"))
    assert (await handle.result()).status == OrderStatus.CANCELLED
