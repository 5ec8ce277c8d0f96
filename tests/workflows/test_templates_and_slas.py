"""Step SLAs on the time-skipping test server: breaches mark an order stuck, never fail it.

Like ``test_timers.py``: the server is ``temporal-test-server`` and the worker runs the
real activities against the session's Postgres. Each order is given a template with a
short pick SLA (``OrderInput.templates``); ``env.sleep`` skips server time past it.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.floor import with_floor_steps
from domain.models import (
    AddressChange,
    CancelInput,
    OrderInput,
    OrderState,
    PackInput,
    ScanInput,
    TrackingEvent,
)
from domain.names import fulfillment_workflow_id
from domain.status import OrderStatus, StuckReason, TrackingStatus
from domain.templates import DEFAULT_TEMPLATES, Step, TemplateSet
from store import orders as read
from store.tables import OrderEventRow, OrderRow
from tests.workflows.helpers import (
    eventually,
    order_input,
    pack_shipped,
    scan_recorded,
    start_order,
)
from workflows.fulfillment import FulfillmentWorkflow
from workflows.order import STUCK, OrderWorkflow

Sessions = async_sessionmaker[AsyncSession]
Handle = WorkflowHandle[OrderWorkflow, OrderState]
QUEUE = f"slas-{uuid.uuid4().hex[:8]}"
TEN_MINUTES = 600


def templates(**sla: int) -> TemplateSet:
    """The default templates with some base SLAs (seconds) changed."""
    base = dict(DEFAULT_TEMPLATES.base_sla_seconds)
    base.update({Step(k): v for k, v in sla.items()})
    return TemplateSet(base_sla_seconds=base, templates=DEFAULT_TEMPLATES.templates)


def short_pick_order(sku: str, units: int = 1, **overrides: Any) -> OrderInput:
    return order_input([(sku, units)], templates=templates(pick=TEN_MINUTES), **overrides)


async def events(sessions: Sessions, order_id: str) -> list[tuple[str, dict[str, Any]]]:
    async with sessions() as s:
        rows = await s.execute(
            select(OrderEventRow.type, OrderEventRow.detail)
            .where(OrderEventRow.order_id == order_id)
            .order_by(OrderEventRow.at, OrderEventRow.id)
        )
        return [(t, d) for t, d in rows.all()]


async def projected(sessions: Sessions, order_id: str) -> OrderRow | None:
    async with sessions() as s:
        return await s.get(OrderRow, order_id)


async def stuck_attribute(handle: Handle) -> bool | None:
    return (await handle.describe()).typed_search_attributes.get(STUCK)


async def step_active(handle: Handle, step: str, sessions: Sessions | None = None) -> OrderState:
    """Wait (in real time, the server clock locked) until ``step`` is the current step.

    With ``sessions``, the floor steps are read as the API reads them: the order's view
    with what its shipments' rows say (the order does not hear floor moves)."""

    async def probe() -> OrderState | None:
        state = await handle.query(OrderWorkflow.details)
        if sessions is not None:
            async with sessions() as s:
                rows = await read.shipments_of(s, state.order_id)
            floor = [read.shipment_view(r) for r in rows]
            state = state.model_copy(update={"steps": with_floor_steps(state.steps, floor)})
        active = [v.step for v in state.steps if v.state == "active"]
        return state if active == [step] else None

    result: OrderState = await eventually(probe)
    return result


async def pick_all(
    skipping_env: WorkflowEnvironment, order: OrderInput, sessions: Sessions
) -> WorkflowHandle[Any, Any]:
    fh = skipping_env.client.get_workflow_handle(fulfillment_workflow_id(f"{order.order_id}-1"))
    for line in order.lines:
        for n in range(line.quantity):
            await scan_recorded(fh, ScanInput(scan_id=f"{line.sku}-{n}", sku=line.sku), sessions)
    return fh


async def cancel(*handles: Handle) -> None:
    """Cancel every order before awaiting any result: while a test awaits a result the
    server skips time, and an order left waiting on nothing would skip to its timeout."""
    for handle in handles:
        await handle.execute_update(OrderWorkflow.cancel, CancelInput(reason="test done"))
    for handle in handles:
        assert (await handle.result()).status == OrderStatus.CANCELLED


@pytest.mark.usefixtures("skipping_worker")
async def test_a_breached_pick_sla_marks_the_order_stuck_until_picked(
    skipping_env: WorkflowEnvironment, sessions: Sessions, make_catalog: Any
) -> None:
    cat = await make_catalog()
    order = short_pick_order(cat.skus[0], 2)
    handle = await start_order(skipping_env.client, order, QUEUE)
    try:
        state = await step_active(handle, "pick")
        pick = next(v for v in state.steps if v.step == "pick")
        assert pick.sla_seconds == TEN_MINUTES and pick.started_at is not None
        assert pick.due_at == pick.started_at + timedelta(seconds=TEN_MINUTES)
        assert state.stuck is None
        assert await stuck_attribute(handle) in (None, False)

        await skipping_env.sleep(timedelta(minutes=11))

        state = await handle.query(OrderWorkflow.details)
        assert state.stuck is not None
        assert (state.stuck.step, state.stuck.sla_seconds) == ("pick", TEN_MINUTES)
        assert state.stuck.since == pick.due_at
        assert state.status == OrderStatus.READY_TO_PICK  # a breach changes nothing else
        views = {v.step: v for v in state.steps}
        assert views["pick"].breached and views["pick"].state == "active"
        assert not any(v.breached for s, v in views.items() if s != "pick")

        async def marked() -> OrderRow | None:
            row = await projected(sessions, order.order_id)
            return row if row is not None and row.stuck else None

        row = await eventually(marked)
        assert str(row.summary["stuck_reason"]).startswith("pick: over its SLA of 10 min")
        assert ("stuck", {"step": "pick", "sla_seconds": TEN_MINUTES}) in await events(
            sessions, order.order_id
        )
        assert await stuck_attribute(handle) is True

        await pick_all(skipping_env, order, sessions)

        async def cleared() -> OrderState | None:
            s = await handle.query(OrderWorkflow.details)
            return s if s.stuck is None else None

        state = await eventually(cleared)
        assert {v.step: v.state for v in state.steps}["pick"] == "done"
        assert {v.step: v.breached for v in state.steps}["pick"] is True  # the record stays

        async def unmarked() -> OrderRow | None:
            row = await projected(sessions, order.order_id)
            return row if row is not None and not row.stuck else None

        await eventually(unmarked)
        log = await events(sessions, order.order_id)
        unstuck = [d for t, d in log if t == "unstuck"]
        assert len(unstuck) == 1 and unstuck[0]["step"] == "pick"
        assert unstuck[0]["stuck_seconds"] >= 60
        types = [t for t, _ in log]
        assert types.count("stuck") == 1
        assert types.index("stuck") < types.index("unstuck")
        assert await stuck_attribute(handle) is False
    finally:
        await cancel(handle)


@pytest.mark.usefixtures("skipping_worker")
async def test_an_ops_flag_keeps_the_order_stuck_after_its_step_breach_ends(
    skipping_env: WorkflowEnvironment, sessions: Sessions, make_catalog: Any
) -> None:
    """The ``Stuck`` search attribute on-call filters by stays true while anything still
    holds the order stuck: here an address change that came after picking started."""
    cat = await make_catalog()
    sku = cat.skus[0]
    order = short_pick_order(sku, 2)
    handle = await start_order(skipping_env.client, order, QUEUE)
    try:
        await step_active(handle, "pick")
        fh = skipping_env.client.get_workflow_handle(fulfillment_workflow_id(f"{order.order_id}-1"))
        await scan_recorded(fh, ScanInput(scan_id="first", sku=sku), sessions)
        await skipping_env.sleep(timedelta(minutes=11))

        async def breached() -> OrderState | None:
            st = await handle.query(OrderWorkflow.details)
            return st if st.stuck is not None and st.stuck.step == "pick" else None

        await eventually(breached)
        moved = order.shipping_address.model_copy(update={"city": "Newark", "province_code": "NJ"})
        flagged = await handle.execute_update(
            OrderWorkflow.change_address, AddressChange(address=moved)
        )
        assert flagged.outcome == "flagged"
        assert await stuck_attribute(handle) is True

        await scan_recorded(fh, ScanInput(scan_id="second", sku=sku), sessions)

        async def breach_over() -> OrderState | None:
            st = await handle.query(OrderWorkflow.details)
            return st if st.stuck is not None and st.stuck.step != "pick" else None

        state = await eventually(breach_over)
        assert state.stuck is not None
        assert state.stuck.reason == StuckReason.ADDRESS_CHANGED_AFTER_PICK
        assert "unstuck" in [t for t, _ in await events(sessions, order.order_id)]
        assert await stuck_attribute(handle) is True
    finally:
        await cancel(handle)


@pytest.mark.usefixtures("skipping_worker")
async def test_an_order_done_within_every_sla_is_never_stuck(
    skipping_env: WorkflowEnvironment, sessions: Sessions, make_catalog: Any
) -> None:
    cat = await make_catalog()
    sku = cat.skus[0]
    every_step = {step.value: TEN_MINUTES for step in Step}
    order = order_input([(sku, 1)], templates=templates(**every_step))
    handle = await start_order(skipping_env.client, order, QUEUE)
    await step_active(handle, "pick")
    await skipping_env.sleep(timedelta(minutes=5))  # half the pick SLA

    fh = await pick_all(skipping_env, order, sessions)
    await step_active(handle, "pack", sessions)
    await skipping_env.sleep(timedelta(minutes=5))  # half the pack SLA, counted from pick
    packed = await pack_shipped(fh, PackInput(weight_grams=cat.weights[sku]))

    async def shipped() -> OrderState | None:
        s = await handle.query(OrderWorkflow.details)
        return s if s.status == OrderStatus.SHIPPED else None

    state = await eventually(shipped)
    assert all(v.state == "done" for v in state.steps), state.steps
    await skipping_env.sleep(timedelta(days=2))  # long after: nothing is left to breach
    await fh.signal(
        FulfillmentWorkflow.track,
        TrackingEvent(
            tracking_number=packed.tracking.number,
            status=TrackingStatus.DELIVERED,
            occurred_at=datetime.now(UTC),
        ),
    )
    final = await handle.result()

    assert final.status == OrderStatus.DELIVERED
    assert final.stuck is None
    assert not any(v.breached for v in final.steps)
    types = [t for t, _ in await events(sessions, order.order_id)]
    assert "stuck" not in types and "unstuck" not in types
    row = await projected(sessions, order.order_id)
    assert row is not None and row.stuck is False
    assert await stuck_attribute(handle) in (None, False)


@pytest.mark.usefixtures("skipping_worker")
async def test_a_high_priority_order_breaches_at_half_the_time(
    skipping_env: WorkflowEnvironment, sessions: Sessions, make_catalog: Any
) -> None:
    cat = await make_catalog()
    normal = short_pick_order(cat.skus[0])
    urgent = short_pick_order(cat.skus[1], tags=["high-priority"])
    normal_h = await start_order(skipping_env.client, normal, QUEUE)
    urgent_h = await start_order(skipping_env.client, urgent, QUEUE)
    try:
        normal_state = await step_active(normal_h, "pick")
        urgent_state = await step_active(urgent_h, "pick")
        assert {v.step: v.sla_seconds for v in urgent_state.steps} == {
            v.step: v.sla_seconds // 2 for v in normal_state.steps
        }

        await skipping_env.sleep(timedelta(minutes=4))
        assert (await urgent_h.query(OrderWorkflow.details)).stuck is None

        await skipping_env.sleep(timedelta(minutes=2))  # 6 min: past 5, not 10
        stuck = (await urgent_h.query(OrderWorkflow.details)).stuck
        assert stuck is not None and (stuck.step, stuck.sla_seconds) == ("pick", TEN_MINUTES // 2)
        assert (await normal_h.query(OrderWorkflow.details)).stuck is None

        await skipping_env.sleep(timedelta(minutes=5))  # 11 min: both
        stuck = (await normal_h.query(OrderWorkflow.details)).stuck
        assert stuck is not None and (stuck.step, stuck.sla_seconds) == ("pick", TEN_MINUTES)
        for o in (normal, urgent):
            log = await events(sessions, o.order_id)
            assert [d["sla_seconds"] for t, d in log if t == "stuck"] == [
                TEN_MINUTES // 2 if o is urgent else TEN_MINUTES
            ]
    finally:
        await cancel(normal_h, urgent_h)


@pytest.mark.usefixtures("skipping_worker")
async def test_cancelling_stuck_orders_clears_the_mark_and_completes_cleanly(
    skipping_env: WorkflowEnvironment, sessions: Sessions, make_catalog: Any
) -> None:
    """Several at once, so the watchdog's own clearing write races the completion."""
    cat = await make_catalog(n_products=4)
    orders = [short_pick_order(sku) for sku in cat.skus]
    handles = [await start_order(skipping_env.client, o, QUEUE) for o in orders]
    for handle in handles:
        await step_active(handle, "pick")
    await skipping_env.sleep(timedelta(minutes=11))
    for handle in handles:
        assert (await handle.query(OrderWorkflow.details)).stuck is not None

    await asyncio.gather(
        *(
            h.execute_update(OrderWorkflow.cancel, CancelInput(reason="stuck too long"))
            for h in handles
        )
    )
    for order, handle in zip(orders, handles, strict=True):
        final = await handle.result()
        assert final.status == OrderStatus.CANCELLED
        assert final.stuck is None
        types = [t for t, _ in await events(sessions, order.order_id)]
        assert types.count("stuck") == 1 and types.count("unstuck") == 1
        assert types.index("stuck") < types.index("unstuck")
        row = await projected(sessions, order.order_id)
        assert row is not None and row.stuck is False and row.status == "cancelled"
        assert await stuck_attribute(handle) is False
        # No workflow task failed or timed out on the way: the watchdog clearing the mark
        # while the order completed used to leave a command after the completion.
        history = await handle.fetch_history()
        kinds = [e.WhichOneof("attributes") for e in history.events]
        bad = {"workflow_task_failed_event_attributes", "workflow_task_timed_out_event_attributes"}
        assert not bad & set(kinds), kinds
        assert kinds[-1] == "workflow_execution_completed_event_attributes"
