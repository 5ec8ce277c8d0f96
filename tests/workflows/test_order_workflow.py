"""OrderWorkflow + FulfillmentWorkflow end to end on the real dev server and Postgres."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowUpdateFailedError

from domain.models import CancelInput, PackInput, ScanInput, TrackingEvent
from domain.names import fulfillment_workflow_id
from domain.status import FinancialStatus, OrderStatus, TrackingStatus
from store import inventory
from store.tables import (
    LabelLedger,
    OrderEventRow,
    OrderRow,
    PaymentLedger,
    Reservation,
    ShipmentRow,
)
from tests.conftest import TEST_TASK_QUEUE
from tests.workflows.helpers import (
    eventually,
    order_input,
    pack_shipped,
    scan_recorded,
    start_order,
)
from workflows.fulfillment import FulfillmentWorkflow
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.usefixtures("worker")


async def order_status(sessions, order_id):  # type: ignore[no-untyped-def]
    async with sessions() as s:
        return await s.scalar(select(OrderRow.status).where(OrderRow.order_id == order_id))


async def test_authorized_order_is_captured_picked_packed_and_delivered(
    client: Client, sessions, make_catalog
) -> None:
    cat = await make_catalog()
    sku0, sku1 = cat.skus
    order = order_input([(sku0, 2), (sku1, 1)], financial_status=FinancialStatus.AUTHORIZED)
    handle = await start_order(client, order, TEST_TASK_QUEUE)

    await eventually(lambda: order_status(sessions, order.order_id))
    ship_id = f"{order.order_id}-1"
    fh = client.get_workflow_handle(fulfillment_workflow_id(ship_id))

    async def child_running() -> bool:
        try:
            await fh.describe()
            return True
        except Exception:
            return False

    await eventually(child_running)
    r = await fh.execute_update(FulfillmentWorkflow.scan, ScanInput(scan_id="a", sku=sku0))
    assert (r.accepted, r.picked, r.remaining) == (True, 1, 1)
    again = await fh.execute_update(FulfillmentWorkflow.scan, ScanInput(scan_id="a", sku=sku0))
    assert again.picked == 1  # same scan_id counts once
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await fh.execute_update(
            FulfillmentWorkflow.scan, ScanInput(scan_id="b", sku=sku1, quantity=2)
        )
    assert refused.value.cause.type == "over_scan"  # type: ignore[attr-defined]
    with pytest.raises(WorkflowUpdateFailedError) as missing:
        await fh.execute_update(FulfillmentWorkflow.pack, PackInput(weight_grams=700))
    assert missing.value.cause.type == "items_missing"  # type: ignore[attr-defined]
    await fh.execute_update(FulfillmentWorkflow.scan, ScanInput(scan_id="c", sku=sku0))
    await fh.execute_update(FulfillmentWorkflow.scan, ScanInput(scan_id="d", sku=sku1))
    expected = 2 * cat.weights[sku0] + cat.weights[sku1]
    with pytest.raises(WorkflowUpdateFailedError) as heavy:
        await fh.execute_update(FulfillmentWorkflow.pack, PackInput(weight_grams=expected * 3))
    assert heavy.value.cause.type == "weight_mismatch"  # type: ignore[attr-defined]
    packed = await pack_shipped(fh, PackInput(weight_grams=expected + 60))
    assert packed.tracking.number.startswith("SBX")

    async def committed() -> dict[str, tuple[int, int]] | None:
        """Stock after the ship's commit (an activity that may land just after the
        workflow reports the shipment on its way)."""
        async with sessions() as s:
            levels = await inventory.levels(s, warehouse=cat.warehouses[0])
        found = {lv.sku: (lv.on_hand, lv.reserved) for lv in levels}
        return found if found[sku0][1] == found[sku1][1] == 0 else None

    levels = await eventually(committed)
    assert (levels[sku0], levels[sku1]) == ((8, 0), (9, 0))

    for status in (TrackingStatus.IN_TRANSIT, TrackingStatus.DELIVERED):
        await fh.signal(
            FulfillmentWorkflow.track,
            TrackingEvent(
                tracking_number=packed.tracking.number, status=status, occurred_at=datetime.now(UTC)
            ),
        )
    final = await handle.result()
    assert final.status == OrderStatus.DELIVERED
    assert await order_status(sessions, order.order_id) == "delivered"
    async with sessions() as s:
        captures = await s.scalar(
            select(func.count())
            .select_from(PaymentLedger)
            .where(PaymentLedger.order_id == order.order_id, PaymentLedger.kind == "capture")
        )
        labels = await s.scalar(
            select(func.count())
            .select_from(LabelLedger)
            .where(LabelLedger.order_id == order.order_id)
        )
        types = list(
            (
                await s.scalars(
                    select(OrderEventRow.type)
                    .where(OrderEventRow.order_id == order.order_id)
                    .order_by(OrderEventRow.at, OrderEventRow.id)
                )
            ).all()
        )
    assert (captures, labels) == (1, 1)
    for t in (
        "received",
        "verified",
        "payment_captured",
        "allocated",
        "picked",
        "label_purchased",
        "shipped",
        "tracking_delivered",
    ):
        assert t in types


async def test_cancel_before_pick_restores_stock_and_refunds(
    client: Client, sessions, make_catalog
) -> None:
    cat = await make_catalog()
    order = order_input([(cat.skus[0], 3)], financial_status=FinancialStatus.AUTHORIZED)
    handle = await start_order(client, order, TEST_TASK_QUEUE)
    await eventually(lambda: _status_is(sessions, order.order_id, "ready_to_pick"))
    result = await handle.execute_update(
        OrderWorkflow.cancel, CancelInput(reason="customer changed mind")
    )
    assert result.status == OrderStatus.CANCELLED
    final = await handle.result()
    assert final.status == OrderStatus.CANCELLED
    async with sessions() as s:
        level = (await inventory.levels(s, sku=cat.skus[0], warehouse=cat.warehouses[0]))[0]
        reservations = (
            await s.scalars(
                select(Reservation.status).where(Reservation.order_id == order.order_id)
            )
        ).all()
        payments = dict(
            (
                await s.execute(
                    select(PaymentLedger.kind, PaymentLedger.status).where(
                        PaymentLedger.order_id == order.order_id
                    )
                )
            ).all()
        )
    assert (level.on_hand, level.reserved) == (10, 0)
    assert list(reservations) == ["released"]
    assert payments == {"capture": "succeeded", "refund": "succeeded"}


async def _status_is(sessions, order_id, status):  # type: ignore[no-untyped-def]
    return await order_status(sessions, order_id) == status


async def test_a_serial_is_picked_once_per_shipment(client: Client, make_catalog) -> None:  # type: ignore[no-untyped-def]
    """The workflow's own guard: two scans of one serialised unit (e.g. racing handhelds)."""
    cat = await make_catalog(n_products=1)
    order = order_input([(cat.skus[0], 2)])
    await start_order(client, order, TEST_TASK_QUEUE)
    fh = client.get_workflow_handle(fulfillment_workflow_id(f"{order.order_id}-1"))

    async def first_scan():  # type: ignore[no-untyped-def]
        try:
            return await fh.execute_update(
                FulfillmentWorkflow.scan, ScanInput(scan_id="s1", sku=cat.skus[0], serial="A1")
            )
        except Exception:
            return None

    assert (await eventually(first_scan)).picked == 1
    with pytest.raises(WorkflowUpdateFailedError) as again:
        await fh.execute_update(
            FulfillmentWorkflow.scan, ScanInput(scan_id="s2", sku=cat.skus[0], serial="A1")
        )
    assert again.value.cause.type == "duplicate_serial"  # type: ignore[attr-defined]
    other = await fh.execute_update(
        FulfillmentWorkflow.scan, ScanInput(scan_id="s3", sku=cat.skus[0], serial="A2")
    )
    assert other.picked == 2


async def _floor_signals(fh) -> int:  # type: ignore[no-untyped-def]
    """How many times the shipment told its order something (SignalExternal commands)."""
    history = await fh.fetch_history()
    return sum(
        1
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED
    )


@pytest.mark.parametrize("units", [1, 3])
async def test_the_order_hears_of_no_floor_move(
    client: Client, sessions, make_catalog, units: int
) -> None:
    """Scans move the shipment's row (written with each scan's answer) and the read model
    rolls the order up to picking, then packing; the order workflow is told nothing."""
    cat = await make_catalog(n_products=1)
    sku = cat.skus[0]
    order = order_input([(sku, units)])
    handle = await start_order(client, order, TEST_TASK_QUEUE)
    ship_id = f"{order.order_id}-1"
    fh = client.get_workflow_handle(fulfillment_workflow_id(ship_id))
    # The shipment is in the work list once its workflow takes scans.
    await eventually(lambda: _shipment_status(sessions, ship_id))
    assert await order_status(sessions, order.order_id) == "ready_to_pick"

    first = await scan_recorded(fh, ScanInput(scan_id="s1", sku=sku, quantity=1), sessions)
    assert first.remaining == units - 1
    if units > 1:
        assert await order_status(sessions, order.order_id) == "picking"
        await scan_recorded(fh, ScanInput(scan_id="s2", sku=sku, quantity=units - 1), sessions)
    assert await order_status(sessions, order.order_id) == "packing"
    async with sessions() as s:
        row = await s.get(ShipmentRow, ship_id)
    assert row is not None and row.status == "picking"
    assert [(ln["sku"], ln["picked"]) for ln in row.lines] == [(sku, units)]
    assert "pick" in row.steps_done
    assert await _floor_signals(fh) == 0
    # The workflow itself still says the order is on the floor, ready to pick.
    assert (await handle.query(OrderWorkflow.details)).status == OrderStatus.READY_TO_PICK


async def _shipment_status(sessions, shipment_id):  # type: ignore[no-untyped-def]
    async with sessions() as s:
        return await s.scalar(
            select(ShipmentRow.status).where(ShipmentRow.shipment_id == shipment_id)
        )
