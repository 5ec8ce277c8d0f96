"""A channel edit (Shopify's ``orders/edited``) through the real workflows when the
worker dies between the stock change and its answer: the retried ``shrink_shipment``
finds the units already released and gives back nothing more; the edit repeated is a
no-op. (The HTTP path, end to end: tests/api/test_shopify_writeback.py.)"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from activities.stock import StockActivities
from domain import names
from domain.models import LineEdit, OrderState, ReleaseInput, ShrinkRequest
from domain.status import OrderStatus
from integrations.sandbox import SandboxBehaviour
from store.tables import InventoryLevel, Reservation, ShipmentRow
from tests.conftest import Catalog
from tests.workflows.helpers import eventually, order_input, start_order
from tests.workflows.test_concurrency import _terminate_running
from workers.worker import WORKFLOWS, build_activities
from workflows.order import OrderWorkflow


async def test_a_shrink_whose_answer_is_lost_releases_the_units_once(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    make_catalog: Callable[..., Awaitable[Catalog]],
) -> None:
    cat = await make_catalog({"PDX": {"0": 10, "1": 10}})
    sku0, sku1 = cat.skus
    pdx = cat.warehouses[0]
    stock = StockActivities(sessions)
    calls: list[int] = []

    @activity.defn(name=names.SHRINK_SHIPMENT)
    async def shrink_then_crash_once(req: ShrinkRequest) -> int:
        released = await stock.shrink_shipment(req)  # committed
        calls.append(released)
        if len(calls) == 1:
            raise RuntimeError("worker lost after the commit, before the answer")
        return released

    activities = [
        a
        for a in build_activities(sessions, SandboxBehaviour(latency_ms=(1, 3)))
        if a.__name__ != "shrink_shipment"
    ]
    order = order_input([(sku0, 3), (sku1, 1)])
    order.lines[0].external_id, order.lines[1].external_id = "li-1", "li-2"
    queue = f"edits-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=list(WORKFLOWS),
        activities=[*activities, shrink_then_crash_once],
    ):
        handle = await start_order(client, order, queue)
        try:
            shipment_id = f"{order.order_id}-1"

            async def listed() -> ShipmentRow | None:
                async with sessions() as s:
                    return await s.get(ShipmentRow, shipment_id)

            await eventually(listed, within=30)

            async def level() -> tuple[int, int]:
                async with sessions() as s:
                    row = await s.scalar(
                        select(InventoryLevel).where(
                            InventoryLevel.sku == sku0, InventoryLevel.warehouse == pdx
                        )
                    )
                    assert row is not None
                    return row.reserved, row.on_hand - row.reserved

            assert await level() == (3, 7)
            edit = LineEdit(edit_id="e-1", removed={"li-1": 2})
            answer = await handle.execute_update(OrderWorkflow.note_edit, edit)
            assert answer.outcome == "applied"

            async def shrunk() -> dict[str, int] | None:
                async with sessions() as s:
                    row = await s.get(ShipmentRow, shipment_id, populate_existing=True)
                    lines = {ln["sku"]: ln["quantity"] for ln in row.lines} if row else {}
                return lines if lines.get(sku0) == 1 else None

            assert await eventually(shrunk, within=30) == {sku0: 1, sku1: 1}
            assert calls == [2, 0]  # the retry found the units already released
            assert await level() == (1, 9)
            again = await handle.execute_update(OrderWorkflow.note_edit, edit)
            assert again.outcome == "duplicate"
            assert await level() == (1, 9)
            state = await handle.query(OrderWorkflow.details)
            assert [(ln.sku, ln.quantity) for ln in state.shipments[0].lines] == [
                (sku0, 1),
                (sku1, 1),
            ]
        finally:
            await _terminate_running([handle])


async def test_an_edit_while_held_before_allocation_changes_what_is_allocated(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    make_catalog: Callable[..., Awaitable[Catalog]],
) -> None:
    """Held for risk, nothing reserved yet: the edit changes the order's lines, and the
    allocation after the release reserves the edited quantities only."""
    cat = await make_catalog({"PDX": {"0": 10, "1": 10}})
    sku0, sku1 = cat.skus
    order = order_input([(sku0, 3), (sku1, 1)], risk_level="high")
    order.lines[0].external_id, order.lines[1].external_id = "li-1", "li-2"
    queue = f"edits-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=list(WORKFLOWS),
        activities=build_activities(sessions, SandboxBehaviour(latency_ms=(1, 3))),
    ):
        handle = await start_order(client, order, queue)
        try:

            async def held() -> OrderState | None:
                state = await handle.query(OrderWorkflow.details)
                return state if state.status == OrderStatus.ON_HOLD else None

            state = await eventually(held, within=30)
            edit = LineEdit(edit_id="e-1", removed={"li-1": 2, "li-2": 1})
            answer = await handle.execute_update(OrderWorkflow.note_edit, edit)
            assert answer.outcome == "applied"
            [hold] = state.holds
            await handle.execute_update(
                OrderWorkflow.release_hold, ReleaseInput(hold_id=hold.hold_id)
            )
            shipment_id = f"{order.order_id}-1"

            async def listed() -> ShipmentRow | None:
                async with sessions() as s:
                    return await s.get(ShipmentRow, shipment_id)

            row = await eventually(listed, within=30)
            assert {ln["sku"]: ln["quantity"] for ln in row.lines} == {sku0: 1}
            async with sessions() as s:
                reserved = dict(
                    (
                        await s.execute(
                            select(Reservation.sku, Reservation.quantity).where(
                                Reservation.order_id == order.order_id,
                                Reservation.status == "reserved",
                            )
                        )
                    ).all()
                )
            assert reserved == {sku0: 1}
        finally:
            await _terminate_running([handle])
