"""Overselling is impossible, not unlikely: concurrent orders and reservations on hot stock.

Real dev server, real worker, real Postgres. The invariants checked everywhere:
``0 <= reserved <= on_hand`` and ``reserved == sum(reservations.quantity)`` of the rows
still ``reserved`` for that level, read in one statement so they come from one snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.shipping import ShippingActivities
from activities.stock import StockActivities
from domain import names
from domain.models import (
    CancelInput,
    CommitRequest,
    LabelRequest,
    LabelResult,
    OrderState,
    PackInput,
    PackResult,
    ScanInput,
)
from domain.names import fulfillment_workflow_id
from domain.status import LabelStatus, OrderStatus, ShipmentStatus
from integrations.carriers import SandboxCarrier
from integrations.sandbox import SandboxBehaviour
from store import inventory
from store.tables import (
    Backorder,
    InventoryLevel,
    LabelLedger,
    OrderEventRow,
    OrderRow,
    Reservation,
    SandboxOperation,
)
from tests.conftest import TEST_TASK_QUEUE
from tests.workflows.helpers import eventually, order_input, start_order
from workers.worker import WORKFLOWS, build_activities
from workflows.fulfillment import FulfillmentWorkflow
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.usefixtures("worker")

Sessions = async_sessionmaker[AsyncSession]


async def level_audit(sessions: Sessions, skus: list[str]) -> list[tuple[str, str, int, int, int]]:
    """(sku, warehouse, on_hand, reserved, sum of live reservation rows) per level, one snapshot."""
    held = (
        select(func.coalesce(func.sum(Reservation.quantity), 0))
        .where(
            and_(
                Reservation.sku == InventoryLevel.sku,
                Reservation.warehouse == InventoryLevel.warehouse,
                Reservation.status == "reserved",
            )
        )
        .scalar_subquery()
    )
    async with sessions() as s:
        rows = await s.execute(
            select(
                InventoryLevel.sku,
                InventoryLevel.warehouse,
                InventoryLevel.on_hand,
                InventoryLevel.reserved,
                held,
            )
            .where(InventoryLevel.sku.in_(skus))
            .order_by(InventoryLevel.sku, InventoryLevel.warehouse)
        )
        return [(r[0], r[1], r[2], r[3], int(r[4])) for r in rows.all()]


def assert_consistent(audit: list[tuple[str, str, int, int, int]]) -> None:
    for sku, wh, on_hand, reserved, rows in audit:
        assert 0 <= reserved <= on_hand, f"{sku}@{wh}: on_hand={on_hand} reserved={reserved}"
        assert reserved == rows, f"{sku}@{wh}: reserved column {reserved} != rows {rows}"


async def statuses(sessions: Sessions, order_ids: list[str]) -> Counter[str]:
    async with sessions() as s:
        rows = await s.scalars(select(OrderRow.status).where(OrderRow.order_id.in_(order_ids)))
        return Counter(rows.all())


async def test_twenty_orders_race_for_five_units(
    client: Client, sessions: Sessions, make_catalog: Any
) -> None:
    cat = await make_catalog({"PDX": {"0": 5}}, n_products=1)
    sku, pdx = cat.skus[0], cat.warehouses[0]
    orders = [order_input([(sku, 1)]) for _ in range(20)]
    ids = [o.order_id for o in orders]
    handles: list[WorkflowHandle[OrderWorkflow, OrderState]] = list(
        await asyncio.gather(*(start_order(client, o, TEST_TASK_QUEUE) for o in orders))
    )
    try:

        async def settled() -> Counter[str] | None:
            # Checked on every poll, not only at the end: no intermediate state oversells.
            assert_consistent(await level_audit(sessions, [sku]))
            counts = await statuses(sessions, ids)
            done = counts["ready_to_pick"] + counts["backordered"]
            return counts if done == 20 else None

        counts = await eventually(settled, within=60)
        assert counts == Counter({"ready_to_pick": 5, "backordered": 15})

        audit = await level_audit(sessions, [sku])
        assert audit == [(sku, pdx, 5, 5, 5)]
        async with sessions() as s:
            reserved_orders = set(
                (
                    await s.scalars(
                        select(Reservation.order_id).where(
                            Reservation.sku == sku, Reservation.status == "reserved"
                        )
                    )
                ).all()
            )
            waiting = set(
                (
                    await s.scalars(
                        select(Backorder.order_id).where(
                            Backorder.order_id.in_(ids), Backorder.resolved_at.is_(None)
                        )
                    )
                ).all()
            )
            ready = set(
                (
                    await s.scalars(
                        select(OrderRow.order_id).where(
                            OrderRow.order_id.in_(ids), OrderRow.status == "ready_to_pick"
                        )
                    )
                ).all()
            )
            event_types = Counter(
                (
                    await s.scalars(
                        select(OrderEventRow.type).where(
                            OrderEventRow.order_id.in_(ids),
                            OrderEventRow.type.in_(["allocated", "backordered"]),
                        )
                    )
                ).all()
            )
        # Exactly the five allocated orders hold one unit each; the rest wait as backorders.
        assert reserved_orders == ready and len(ready) == 5
        assert waiting == set(ids) - ready and len(waiting) == 15
        assert event_types == Counter({"allocated": 5, "backordered": 15})

        # The workflows agree with the read model.
        details = await asyncio.gather(*(h.query(OrderWorkflow.details) for h in handles))
        by_status = Counter(d.status for d in details)
        assert by_status == Counter({OrderStatus.READY_TO_PICK: 5, OrderStatus.BACKORDERED: 15})
        for d in details:
            if d.status == OrderStatus.READY_TO_PICK:
                assert [s.warehouse for s in d.shipments] == [pdx]
            else:
                assert d.shipments == []

        # Cancelling all twenty gives every unit back.
        results = await asyncio.gather(
            *(h.execute_update(OrderWorkflow.cancel, CancelInput(reason="test")) for h in handles)
        )
        assert {r.status for r in results} == {OrderStatus.CANCELLED}
        finals = await asyncio.gather(*(h.result() for h in handles))
        assert {f.status for f in finals} == {OrderStatus.CANCELLED}
        assert await level_audit(sessions, [sku]) == [(sku, pdx, 5, 0, 0)]
        async with sessions() as s:
            res = Counter(
                (await s.scalars(select(Reservation.status).where(Reservation.sku == sku))).all()
            )
        assert res == Counter({"released": 5})
    finally:
        await _terminate_running(handles)


async def test_cancelled_backorder_is_no_longer_waiting(
    client: Client, sessions: Sessions, make_catalog: Any
) -> None:
    cat = await make_catalog({}, n_products=1)
    order = order_input([(cat.skus[0], 1)])
    handle = await start_order(client, order, TEST_TASK_QUEUE)
    try:
        await eventually(lambda: _has_status(sessions, order.order_id, "backordered"))
        await handle.execute_update(OrderWorkflow.cancel, CancelInput(reason="test"))
        assert (await handle.result()).status == OrderStatus.CANCELLED
        async with sessions() as s:
            waiting = await inventory.backorders_waiting_for(s, cat.skus[0])
        assert order.order_id not in waiting
    finally:
        await _terminate_running([handle])


async def _has_status(sessions: Sessions, order_id: str, status: str) -> bool:
    return (await statuses(sessions, [order_id]))[status] == 1


async def _terminate_running(handles: list[WorkflowHandle[Any, Any]]) -> None:
    """Leave nothing running for the next test (a failed assertion must not leak workflows)."""

    async def stop(h: WorkflowHandle[Any, Any]) -> None:
        with contextlib.suppress(RPCError):  # already closed
            await h.terminate("test cleanup")

    await asyncio.gather(*(stop(h) for h in handles))


class _Short(Exception):
    """Rolls the transaction back, as ``allocate_stock`` does when it loses a race."""


async def _reserve(
    sessions: Sessions, n: int, warehouse: str, quantities: dict[str, int]
) -> tuple[str, dict[str, int], bool]:
    try:
        async with sessions.begin() as s:
            if not await inventory.try_reserve(
                s,
                order_id=f"race-{n}",
                shipment_id=f"race-{n}-1",
                warehouse=warehouse,
                quantities=quantities,
            ):
                raise _Short()  # all or nothing: undo the lines already reserved
    except _Short:
        return warehouse, quantities, False
    return warehouse, quantities, True


async def test_hundreds_of_direct_reservations_never_oversell(
    sessions: Sessions, make_catalog: Any
) -> None:
    stock = {"PDX": {"0": 17, "1": 9, "2": 4}, "NJ": {"0": 6, "1": 12}, "DAL": {"2": 11}}
    cat = await make_catalog(stock, n_products=3)
    sites = {site: code for site, code in zip(("PDX", "NJ", "DAL"), cat.warehouses, strict=True)}
    on_hand = {
        (cat.skus[int(i)], sites[site]): q for site, per in stock.items() for i, q in per.items()
    }
    rng = random.Random(1729)
    cells = list(on_hand)
    # 200 single-unit requests, ~4x the stock of every level: each level must sell out exactly.
    requests = [rng.choice(cells) for _ in range(200)]
    results = await asyncio.gather(
        *(_reserve(sessions, n, wh, {sku: 1}) for n, (sku, wh) in enumerate(requests))
    )
    won = Counter((sku, wh) for wh, q, ok in results if ok for sku in q)
    assert won == Counter(on_hand)
    audit = await level_audit(sessions, cat.skus)
    assert_consistent(audit)
    assert {(sku, wh): (oh, r) for sku, wh, oh, r, _ in audit} == {
        c: (q, q) for c, q in on_hand.items()
    }


async def test_concurrent_multi_line_reservations_are_all_or_nothing(
    sessions: Sessions, make_catalog: Any
) -> None:
    """Many orders each wanting all three hot SKUs, in every line order, at once.

    Row locks are taken in sorted SKU order, so no two transactions deadlock (a deadlock
    would surface as an exception from ``gather``); a request that finds one line short
    leaves nothing reserved.
    """
    stock = {site: {"0": 25, "1": 18, "2": 30} for site in ("PDX", "NJ", "DAL")}
    cat = await make_catalog(stock, n_products=3)
    rng = random.Random(42)
    requests: list[tuple[str, dict[str, int]]] = []
    for _ in range(200):
        wh = rng.choice(cat.warehouses)
        skus = rng.sample(cat.skus, k=rng.randint(1, 3))
        requests.append((wh, {sku: rng.randint(1, 3) for sku in skus}))
    results = await asyncio.gather(
        *(_reserve(sessions, 1000 + n, wh, q) for n, (wh, q) in enumerate(requests))
    )
    taken = Counter[tuple[str, str]]()
    for wh, q, ok in results:
        if ok:
            for sku, qty in q.items():
                taken[(sku, wh)] += qty
    assert any(ok for *_, ok in results) and not all(ok for *_, ok in results)
    audit = await level_audit(sessions, cat.skus)
    assert_consistent(audit)
    for sku, wh, on_hand, reserved, _rows in audit:
        assert reserved == taken[(sku, wh)], f"{sku}@{wh}"
        assert on_hand == stock["PDX"][str(cat.skus.index(sku))]  # same stock at every site


async def _exists(handle: WorkflowHandle[Any, Any]) -> bool:
    try:
        await handle.describe()
    except RPCError:
        return False
    return True


@contextlib.asynccontextmanager
async def _worker_with(
    client: Client, sessions: Sessions, gated: Any, replaces: str
) -> AsyncIterator[str]:
    """A worker on a queue of its own whose activity ``replaces`` is ``gated`` (the real
    activity behind a gate, so a race is hit every time); yields the queue."""
    activities = [
        a
        for a in build_activities(sessions, SandboxBehaviour(latency_ms=(1, 5)))
        if a.__name__ != replaces
    ]
    queue = f"race-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client, task_queue=queue, workflows=list(WORKFLOWS), activities=[*activities, gated]
    ):
        yield queue


async def _packing(
    client: Client, sessions: Sessions, queue: str, sku: str, weight: int
) -> tuple[Any, WorkflowHandle[Any, Any], WorkflowHandle[Any, Any], Any]:
    """A one-unit order, picked, its pack Update accepted: (order, handle, child, pack)."""
    order = order_input([(sku, 1)])
    handle = await start_order(client, order, queue)
    fh = client.get_workflow_handle(fulfillment_workflow_id(f"{order.order_id}-1"))
    try:
        await eventually(lambda: _has_status(sessions, order.order_id, "ready_to_pick"))
        await eventually(lambda: _exists(fh))  # the order says so just before the child runs
        await fh.execute_update(FulfillmentWorkflow.scan, ScanInput(scan_id="s1", sku=sku))
        pack = await fh.start_update(
            FulfillmentWorkflow.pack,
            PackInput(weight_grams=weight),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
    except BaseException:
        await _terminate_running([handle])  # nothing left on a queue nobody serves
        raise
    return order, handle, fh, pack


async def test_cancel_racing_the_label_gives_the_packer_the_truth(
    client: Client, sessions: Sessions, make_catalog: Any
) -> None:
    """Cancel lands after the label is bought, while stock is being committed.

    Either outcome is acceptable (shipped, or cancelled with the label voided), but what
    the packer reads about the shipment (its label status and tracking; the pack itself
    answered ``pending`` at once) must match what happened to the parcel. ``commit_stock``
    is the real activity behind a gate, so the race is hit every time.
    """
    gate, entered = asyncio.Event(), asyncio.Event()
    stock = StockActivities(sessions)

    @activity.defn(name=names.COMMIT_STOCK)
    async def gated_commit(req: CommitRequest) -> int:
        entered.set()
        await gate.wait()
        return await stock.commit_stock(req)

    cat = await make_catalog()
    sku = cat.skus[0]
    async with _worker_with(client, sessions, gated_commit, "commit_stock") as queue:
        order, handle, fh, pack = await _packing(client, sessions, queue, sku, cat.weights[sku])
        try:
            await asyncio.wait_for(entered.wait(), 20)
            cancel = await handle.start_update(
                OrderWorkflow.cancel,
                CancelInput(reason="customer changed mind"),
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            )
            gate.set()
            packed: PackResult = await pack.result()
            assert packed.label_status == LabelStatus.PENDING  # it never waited for the label
            with contextlib.suppress(WorkflowUpdateFailedError):
                await cancel.result()
            shipment = await fh.query(FulfillmentWorkflow.details)
            if shipment.status == ShipmentStatus.CANCELLED:
                # The label bought for it is voided, and the unit is back on the shelf.
                assert shipment.label_status == LabelStatus.VOIDED
                want = (["voided"], (10, 0), ["released"])
            else:
                assert shipment.status == ShipmentStatus.SHIPPED
                assert shipment.label_status == LabelStatus.READY
                assert shipment.tracking is not None
                want = (["purchased"], (9, 0), ["committed"])

            async def effects() -> tuple[list[str], tuple[int, int], list[str]]:
                async with sessions() as s:
                    labels = list(
                        await s.scalars(
                            select(LabelLedger.status).where(LabelLedger.order_id == order.order_id)
                        )
                    )
                    level = await s.get(InventoryLevel, (sku, cat.warehouses[0]))
                    held = list(
                        await s.scalars(
                            select(Reservation.status).where(Reservation.order_id == order.order_id)
                        )
                    )
                assert level is not None
                return labels, (level.on_hand, level.reserved), held

            async def settled() -> bool:
                return await effects() == want

            with contextlib.suppress(AssertionError):  # the assert below says what is wrong
                await eventually(settled)
            assert await effects() == want
        finally:
            gate.set()
            await _terminate_running([handle])


async def test_cancel_while_the_label_is_bought_voids_it_and_restores_stock(
    client: Client, sessions: Sessions, make_catalog: Any
) -> None:
    """Cancel lands while ``buy_label`` runs (before the point of no return): the pack had
    answered ``pending``; the shipment ends cancelled, the label just bought is voided at
    the carrier, and the unit is back on the shelf. ``buy_label`` is the real activity
    behind a gate (the cancelled attempt is waited for, so its label is voided, not lost)."""
    gate, entered = asyncio.Event(), asyncio.Event()
    shipping = ShippingActivities(sessions, SandboxCarrier(sessions, SandboxBehaviour((1, 5))))

    @activity.defn(name=names.BUY_LABEL)
    async def gated_label(req: LabelRequest) -> LabelResult:
        entered.set()
        await gate.wait()
        return await shipping.buy_label(req)

    cat = await make_catalog()
    sku = cat.skus[0]
    async with _worker_with(client, sessions, gated_label, "buy_label") as queue:
        order, handle, fh, pack = await _packing(client, sessions, queue, sku, cat.weights[sku])
        try:
            await asyncio.wait_for(entered.wait(), 20)
            await handle.start_update(
                OrderWorkflow.cancel,
                CancelInput(reason="customer changed mind"),
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            )

            async def child_told() -> bool:
                history = await fh.fetch_history()
                return any(
                    e.workflow_execution_signaled_event_attributes.signal_name == "cancel"
                    for e in history.events
                    if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
                )

            await eventually(child_told)
            gate.set()
            assert (await pack.result()).label_status == LabelStatus.PENDING
            final = await handle.result()
            assert final.status == OrderStatus.CANCELLED
            async with sessions() as s:
                labels = (
                    await s.execute(
                        select(LabelLedger.status, LabelLedger.tracking_number).where(
                            LabelLedger.order_id == order.order_id
                        )
                    )
                ).all()
                carrier = (
                    await s.scalars(
                        select(SandboxOperation.kind).where(
                            SandboxOperation.service == "carrier",
                            SandboxOperation.idempotency_key.like(f"%-{order.order_id}%"),
                        )
                    )
                ).all()
                level = await s.get(InventoryLevel, (sku, cat.warehouses[0]))
                held = (
                    await s.scalars(
                        select(Reservation.status).where(Reservation.order_id == order.order_id)
                    )
                ).all()
            [(label_status, number)] = labels
            assert label_status == "voided" and number
            assert sorted(carrier) == ["label", "void"]
            assert level is not None and (level.on_hand, level.reserved) == (10, 0)
            assert list(held) == ["released"]
        finally:
            gate.set()
            await _terminate_running([handle])
