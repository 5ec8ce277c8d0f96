"""Routing inside the workflows: split orders, re-routing after a rejection, the order in
which backorders are served, and the no-oversell proof for routed, split allocations.

Real dev server, real worker, real Postgres; driven through the Temporal client (the HTTP
side is in ``tests/api/test_routing_api.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities.stock import StockActivities
from domain import names
from domain.models import (
    Address,
    AllocationRequest,
    AllocationResult,
    CancelInput,
    MoveInput,
    OrderLine,
    OrderState,
    PackInput,
    RejectInput,
    ScanInput,
    TrackingEvent,
)
from domain.names import fulfillment_workflow_id
from domain.status import OrderStatus, ShipmentStatus, TrackingStatus
from integrations.sandbox import SandboxBehaviour
from store import inventory
from store.tables import (
    Backorder,
    OrderEventRow,
    OrderRow,
    Reservation,
    ShipmentRow,
    Warehouse,
    WarehouseDailyLoad,
)
from tests.conftest import TEST_TASK_QUEUE, Catalog
from tests.workflows.helpers import (
    PORTLAND,
    eventually,
    order_input,
    pack_shipped,
    scan_recorded,
    start_order,
)
from tests.workflows.test_concurrency import _terminate_running, assert_consistent, level_audit
from workers.worker import WORKFLOWS, build_activities
from workflows.fulfillment import FulfillmentWorkflow
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.usefixtures("worker")

Sessions = async_sessionmaker[AsyncSession]
MakeCatalog = Callable[..., Awaitable[Catalog]]
Handle = WorkflowHandle[OrderWorkflow, OrderState]

NEWARK = PORTLAND.model_copy(
    update={
        "city": "Newark",
        "province_code": "NJ",
        "zip": "07102",
        "latitude": 40.7357,
        "longitude": -74.1724,
    }
)
DALLAS = PORTLAND.model_copy(
    update={
        "city": "Dallas",
        "province_code": "TX",
        "zip": "75201",
        "latitude": 32.78,
        "longitude": -96.80,
    }
)


def site(cat: Catalog) -> dict[str, str]:
    return {code.rsplit("-", 1)[1]: code for code in cat.warehouses}


async def shipment_row(sessions: Sessions, shipment_id: str) -> ShipmentRow:
    """Wait for the shipment's work-list row: its FulfillmentWorkflow runs and takes scans."""

    async def probe() -> ShipmentRow | None:
        async with sessions() as s:
            return await s.get(ShipmentRow, shipment_id)

    found: ShipmentRow = await eventually(probe, within=30)
    return found


async def reservations(sessions: Sessions, order_id: str) -> set[tuple[str, str, str, int, str]]:
    async with sessions() as s:
        rows = (await s.scalars(select(Reservation).where(Reservation.order_id == order_id))).all()
    return {(r.shipment_id, r.sku, r.warehouse, r.quantity, r.status) for r in rows}


async def level(sessions: Sessions, sku: str, warehouse: str) -> tuple[int, int]:
    async with sessions() as s:
        found = await inventory.levels(s, sku=sku, warehouse=warehouse)
    return (found[0].on_hand, found[0].reserved) if found else (0, 0)


async def status_is(sessions: Sessions, order_id: str, status: str) -> bool:
    async with sessions() as s:
        found = await s.scalar(select(OrderRow.status).where(OrderRow.order_id == order_id))
    return found == status


async def event_count(sessions: Sessions, order_id: str, type_: str) -> int:
    async with sessions() as s:
        n = await s.scalar(
            select(func.count())
            .select_from(OrderEventRow)
            .where(OrderEventRow.order_id == order_id, OrderEventRow.type == type_)
        )
    return int(n or 0)


async def open_backorder(sessions: Sessions, order_id: str) -> bool:
    async with sessions() as s:
        row = await s.get(Backorder, order_id)
    return row is not None and row.resolved_at is None


async def ship(
    client: Client, cat: Catalog, shipment_id: str, lines: dict[str, int]
) -> TrackingEvent:
    """Pick every unit, pack at the expected weight; the tracking number of the parcel."""
    fh = client.get_workflow_handle(fulfillment_workflow_id(shipment_id))
    weight = 0
    for sku, qty in lines.items():
        for i in range(qty):
            await fh.execute_update(
                FulfillmentWorkflow.scan, ScanInput(scan_id=f"{sku}-{i}", sku=sku)
            )
            weight += cat.weights[sku]
    packed = await pack_shipped(fh, PackInput(weight_grams=weight))
    return TrackingEvent(
        tracking_number=packed.tracking.number,
        status=TrackingStatus.DELIVERED,
        occurred_at=datetime.now(UTC),
    )


# --- splits ------------------------------------------------------------------------------


async def test_rejecting_one_parcel_of_a_split_reroutes_only_that_parcel(
    client: Client, sessions: Sessions, make_catalog: MakeCatalog
) -> None:
    """PDX (sku0) + NJ (sku1); PDX hands its parcel back; DAL takes sku0; NJ's is untouched."""
    cat = await make_catalog({"PDX": {"0": 2}, "NJ": {"1": 2}, "DAL": {"0": 2}})
    sku0, sku1 = cat.skus
    wh = site(cat)
    order = order_input([(sku0, 1), (sku1, 1)])
    oid = order.order_id
    handle = await start_order(client, order, TEST_TASK_QUEUE)
    try:
        first = await shipment_row(sessions, f"{oid}-1")
        second = await shipment_row(sessions, f"{oid}-2")
        assert (first.warehouse, second.warehouse) == (wh["PDX"], wh["NJ"])
        state = await handle.query(OrderWorkflow.details)
        assert state.status == OrderStatus.READY_TO_PICK
        assert state.routing is not None
        assert state.routing.decision == f"{wh['PDX']} + {wh['NJ']}"
        # Whoever works NJ's parcel meanwhile is not disturbed by the rejection.
        nj = client.get_workflow_handle(fulfillment_workflow_id(f"{oid}-2"))
        await scan_recorded(nj, ScanInput(scan_id="nj-0", sku=sku1), sessions)

        pdx = client.get_workflow_handle(fulfillment_workflow_id(f"{oid}-1"))
        view = await pdx.execute_update(
            FulfillmentWorkflow.reject, RejectInput(reason="shelf empty", sku=sku0)
        )
        assert view.view.status == ShipmentStatus.CANCELLED
        third = await shipment_row(sessions, f"{oid}-3")
        assert third.warehouse == wh["DAL"]
        assert [(ln["sku"], ln["quantity"]) for ln in third.lines] == [(sku0, 1)]
        assert await reservations(sessions, oid) == {
            (f"{oid}-1", sku0, wh["PDX"], 1, "released"),
            (f"{oid}-2", sku1, wh["NJ"], 1, "reserved"),
            (f"{oid}-3", sku0, wh["DAL"], 1, "reserved"),
        }
        assert await level(sessions, sku0, wh["PDX"]) == (0, 0)  # count corrected
        assert await level(sessions, sku0, wh["DAL"]) == (2, 1)
        assert await level(sessions, sku1, wh["NJ"]) == (2, 1)

        async def rerouted() -> OrderState | None:
            found = await handle.query(OrderWorkflow.details)
            return found if len(found.shipments) == 3 else None

        state = await eventually(rerouted)
        # NJ's parcel was picked meanwhile: the read model says so (the order is not told).
        assert await status_is(sessions, oid, "picking")
        assert {s.shipment_id: s.warehouse for s in state.shipments} == {
            f"{oid}-1": wh["PDX"],
            f"{oid}-2": wh["NJ"],
            f"{oid}-3": wh["DAL"],
        }
        assert state.shipments[0].status == ShipmentStatus.CANCELLED
        assert state.routing is not None and state.routing.decision == wh["DAL"]

        fh2 = client.get_workflow_handle(fulfillment_workflow_id(f"{oid}-2"))
        packed = await pack_shipped(fh2, PackInput(weight_grams=cat.weights[sku1]))
        nj_delivered = TrackingEvent(
            tracking_number=packed.tracking.number,
            status=TrackingStatus.DELIVERED,
            occurred_at=datetime.now(UTC),
        )
        dal_delivered = await ship(client, cat, f"{oid}-3", {sku0: 1})
        await eventually(lambda: status_is(sessions, oid, "shipped"))
        await fh2.signal(FulfillmentWorkflow.track, nj_delivered)
        await client.get_workflow_handle(fulfillment_workflow_id(f"{oid}-3")).signal(
            FulfillmentWorkflow.track, dal_delivered
        )
        final = await handle.result()
        assert final.status == OrderStatus.DELIVERED
        assert {s.shipment_id: s.status for s in final.shipments} == {
            f"{oid}-1": ShipmentStatus.CANCELLED,
            f"{oid}-2": ShipmentStatus.DELIVERED,
            f"{oid}-3": ShipmentStatus.DELIVERED,
        }
        assert await level(sessions, sku0, wh["DAL"]) == (1, 0)
        assert await level(sessions, sku1, wh["NJ"]) == (1, 0)
    finally:
        await _terminate_running([handle])


async def test_cancelling_a_split_order_releases_every_warehouse(
    client: Client, sessions: Sessions, make_catalog: MakeCatalog
) -> None:
    cat = await make_catalog({"PDX": {"0": 5}, "NJ": {"0": 5}}, n_products=1)
    sku = cat.skus[0]
    wh = site(cat)
    order = order_input([(sku, 8)])
    oid = order.order_id
    handle = await start_order(client, order, TEST_TASK_QUEUE)
    try:
        rows = [await shipment_row(sessions, f"{oid}-{n}") for n in (1, 2)]
        assert {r.warehouse: r.lines[0]["quantity"] for r in rows} == {wh["PDX"]: 5, wh["NJ"]: 3}
        assert await level(sessions, sku, wh["PDX"]) == (5, 5)
        assert await level(sessions, sku, wh["NJ"]) == (5, 3)
        result = await handle.execute_update(OrderWorkflow.cancel, CancelInput(reason="test"))
        assert result.status == OrderStatus.CANCELLED
        final = await handle.result()
        assert {s.status for s in final.shipments} == {ShipmentStatus.CANCELLED}
        assert await level(sessions, sku, wh["PDX"]) == (5, 0)
        assert await level(sessions, sku, wh["NJ"]) == (5, 0)
        assert {r[4] for r in await reservations(sessions, oid)} == {"released"}
        for n in (1, 2):
            desc = await client.get_workflow_handle(
                fulfillment_workflow_id(f"{oid}-{n}")
            ).describe()
            assert desc.status is not None and desc.status.name == "COMPLETED"
    finally:
        await _terminate_running([handle])


# --- backorders: arrival order is kept whatever the wake-up order ------------------------


async def test_an_earlier_backorder_keeps_its_claim_when_a_later_one_wakes_first(
    client: Client, sessions: Sessions, make_catalog: MakeCatalog
) -> None:
    """Stock arrives (no signal); the *later* waiter is woken first and must not take it."""
    cat = await make_catalog({}, n_products=1)
    sku = cat.skus[0]
    pdx = site(cat)["PDX"]
    early, late = order_input([(sku, 2)]), order_input([(sku, 2)])
    handles: list[Handle] = []
    try:
        handles.append(await start_order(client, early, TEST_TASK_QUEUE))
        await eventually(lambda: status_is(sessions, early.order_id, "backordered"))
        handles.append(await start_order(client, late, TEST_TASK_QUEUE))
        await eventually(lambda: status_is(sessions, late.order_id, "backordered"))
        h_early, h_late = handles

        async with sessions.begin() as s:
            await inventory.adjust(s, sku=sku, warehouse=pdx, delta=2, reason="test")
        await h_late.signal(OrderWorkflow.stock_available)

        async def late_rechecked() -> bool:
            return await event_count(sessions, late.order_id, "backordered") >= 2

        await eventually(late_rechecked)  # it looked, and found the units claimed
        assert await level(sessions, sku, pdx) == (2, 0)
        assert await reservations(sessions, late.order_id) == set()
        assert await open_backorder(sessions, late.order_id)
        state = await h_late.query(OrderWorkflow.details)
        assert state.status == OrderStatus.BACKORDERED
        assert state.routing is not None and state.routing.decision == "backordered"
        assert any("held for earlier backorders" in r for r in state.routing.reasons)

        await h_early.signal(OrderWorkflow.stock_available)
        row = await shipment_row(sessions, f"{early.order_id}-1")
        assert row.warehouse == pdx
        assert await level(sessions, sku, pdx) == (2, 2)
        assert not await open_backorder(sessions, early.order_id)
        assert await open_backorder(sessions, late.order_id)

        async with sessions.begin() as s:
            await inventory.adjust(s, sku=sku, warehouse=pdx, delta=2, reason="test")
        await h_late.signal(OrderWorkflow.stock_available)
        assert (await shipment_row(sessions, f"{late.order_id}-1")).warehouse == pdx
        assert await level(sessions, sku, pdx) == (4, 4)
        assert not await open_backorder(sessions, late.order_id)
    finally:
        await _terminate_running(handles)


# --- the concurrency proof ---------------------------------------------------------------

#: Allocations talking to Postgres at once (each holds one connection at a time).
IN_FLIGHT = 16


async def test_hundreds_of_routed_allocations_never_oversell(
    sessions: Sessions, make_catalog: MakeCatalog
) -> None:
    """300 allocations at once through the routing engine, over three warehouses.

    Hot SKUs 0-2 have a handful of units spread over the sites (some orders need a split
    by quantity); SKU 3 is only at PDX and SKU 4 only at NJ, with plenty, so every order
    for exactly those two splits into two parcels. Afterwards: no level is negative or
    over-reserved, every level's reserved column equals its live reservation rows, no SKU
    has more reserved than exists, capacity counters match the shipments, and every order
    either holds exactly its lines or waits as a backorder (never both, never part).
    """
    stock = {
        "PDX": {"0": 3, "1": 1, "3": 2000},
        "NJ": {"0": 2, "1": 3, "2": 4, "4": 2000},
        "DAL": {"0": 2, "1": 2, "2": 1},
    }
    cat = await make_catalog(stock, n_products=5)
    wh = site(cat)
    async with sessions.begin() as s:  # a limit nobody reaches: the slots are counted
        await s.execute(
            update(Warehouse)
            .where(Warehouse.code.in_(cat.warehouses))
            .values(daily_capacity=100_000)
        )
    total = Counter[str]()
    for per in stock.values():
        for i, q in per.items():
            total[cat.skus[int(i)]] += q
    rng = random.Random(20240611)
    addresses: list[Address] = [PORTLAND, NEWARK, DALLAS]
    requests: list[AllocationRequest] = []
    for n in range(300):
        k = rng.choice([1, 2])
        picked = rng.sample(range(5), k=k) if n % 10 else [3, 4]
        oid = f"conc-{cat.prefix}-{n:03d}"
        requests.append(
            AllocationRequest(
                order_id=oid,
                shipment_id=f"{oid}-1",
                lines=[OrderLine(sku=cat.skus[i], quantity=rng.randint(1, 3)) for i in picked],
                address=rng.choice(addresses),
            )
        )
    activities = StockActivities(sessions)
    # All 300 are started at once; IN_FLIGHT of them talk to Postgres at a time, so the
    # test keeps working when the shared server is near its connection limit.
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def allocate(req: AllocationRequest) -> AllocationResult:
        async with gate:
            return await activities.allocate_stock(req)

    results: list[AllocationResult] = list(await asyncio.gather(*map(allocate, requests)))

    audit = await level_audit(sessions, cat.skus)
    assert_consistent(audit)
    reserved = Counter[str]()
    for sku, _wh, _on_hand, units, _rows in audit:
        reserved[sku] += units
    for sku in cat.skus:
        assert reserved[sku] <= total[sku], f"{sku}: {reserved[sku]} reserved of {total[sku]}"
    # The hot SKUs are fought over: some orders win, some wait.
    outcomes = Counter(r.backordered for r in results)
    assert outcomes[True] and outcomes[False], outcomes

    ids = [r.order_id for r in requests]
    async with sessions() as s:
        rows = (
            await s.scalars(
                select(Reservation).where(
                    Reservation.order_id.in_(ids), Reservation.status == "reserved"
                )
            )
        ).all()
        waiting = {
            b.order_id: b
            for b in (
                await s.scalars(
                    select(Backorder).where(
                        Backorder.order_id.in_(ids), Backorder.resolved_at.is_(None)
                    )
                )
            ).all()
        }
        loads = dict(
            (
                await s.execute(
                    select(WarehouseDailyLoad.warehouse, func.sum(WarehouseDailyLoad.shipments))
                    .where(WarehouseDailyLoad.warehouse.in_(cat.warehouses))
                    .group_by(WarehouseDailyLoad.warehouse)
                )
            ).all()
        )
    held: dict[str, list[Reservation]] = {}
    for row in rows:
        held.setdefault(row.order_id, []).append(row)

    splits = 0
    shipments_at = Counter[str]()
    for req, res in zip(requests, results, strict=True):
        wanted = {ln.sku: ln.quantity for ln in req.lines}
        mine = held.get(req.order_id, [])
        if res.backordered:
            assert mine == [], f"{req.order_id} is backordered yet holds stock"
            assert req.order_id in waiting, f"{req.order_id} lost its place in line"
            # It claims the whole need of what it is short of, and wakes on any of its SKUs.
            assert waiting[req.order_id].quantities == {
                sku: q for sku, q in wanted.items() if sku in res.short_skus
            }
            assert waiting[req.order_id].skus == sorted(wanted)
            assert res.routing.decision == "backordered"
            continue
        assert req.order_id not in waiting, f"{req.order_id} holds stock yet waits"
        got = Counter[str]()
        for row in mine:
            got[row.sku] += row.quantity
        assert dict(got) == wanted, f"{req.order_id}: reserved {dict(got)} for {wanted}"
        # The rows are exactly the shipments the activity answered with.
        answered = {
            (s.shipment_id, ln.sku, s.warehouse, ln.quantity)
            for s in res.shipments
            for ln in s.lines
        }
        assert {(r.shipment_id, r.sku, r.warehouse, r.quantity) for r in mine} == answered
        parcels = {s.warehouse for s in res.shipments}
        assert len(parcels) == len(res.shipments), "two parcels from one warehouse"
        assert {s.shipment_id for s in res.shipments} == {
            f"{req.order_id}-{i + 1}" for i in range(len(res.shipments))
        }
        assert set(res.routing.decision.split(" + ")) == parcels
        splits += len(res.shipments) > 1
        shipments_at.update(parcels)
        if set(wanted) == {cat.skus[3], cat.skus[4]}:
            assert {s.warehouse for s in res.shipments} == {wh["PDX"], wh["NJ"]}
    # Every tenth order wants exactly SKUs 3 and 4: those can only ship as two parcels.
    ample = [
        r for r in results if {ln.sku for s in r.shipments for ln in s.lines} == set(cat.skus[3:])
    ]
    assert len(ample) >= 30 and splits >= 30
    # One capacity slot per shipment, none leaked by a plan that lost its race.
    assert {w: int(n) for w, n in loads.items()} == dict(shipments_at)


# --- move and reject races ---------------------------------------------------------------


async def test_moving_a_shipment_back_home_is_seen_by_the_order(
    client: Client, sessions: Sessions, make_catalog: MakeCatalog
) -> None:
    cat = await make_catalog({"PDX": {"0": 3}, "NJ": {"0": 3}}, n_products=1)
    sku = cat.skus[0]
    wh = site(cat)
    order = order_input([(sku, 1)])
    oid = order.order_id
    handle = await start_order(client, order, TEST_TASK_QUEUE)
    try:
        assert (await shipment_row(sessions, f"{oid}-1")).warehouse == wh["PDX"]
        fh = client.get_workflow_handle(fulfillment_workflow_id(f"{oid}-1"))
        for to in (wh["NJ"], wh["PDX"]):
            answer = await fh.execute_update(FulfillmentWorkflow.move, MoveInput(warehouse=to))
            assert answer.view.warehouse == to

            async def order_sees(to: str = to) -> OrderState | None:
                state = await handle.query(OrderWorkflow.details)
                return state if state.shipments[0].warehouse == to else None

            await eventually(order_sees)
        assert await reservations(sessions, oid) == {(f"{oid}-1", sku, wh["PDX"], 1, "reserved")}
        assert await level(sessions, sku, wh["PDX"]) == (3, 1)
        assert await level(sessions, sku, wh["NJ"]) == (3, 0)
        assert await event_count(sessions, oid, "shipment_moved") >= 2
    finally:
        await _terminate_running([handle])


async def test_two_parcels_rejected_together_are_both_rerouted(
    client: Client, sessions: Sessions, make_catalog: MakeCatalog
) -> None:
    """Both warehouses of a split hand their parcel back; DAL has everything meanwhile.

    The two re-routes of one order run at once (their allocations are held until both
    parcels are handed back, so this is what happens whenever two rejections overlap).
    Each must get its own shipment with its own lines, every line reserved exactly once.
    Without the order's re-route lock both requests carried the same ``next_seq`` and named
    their parcel ``<order>-3``: the second child failed to start and one line stayed
    reserved under ``-3`` without anyone to pick it.
    """
    cat = await make_catalog({"PDX": {"0": 1}, "NJ": {"1": 1}})
    sku0, sku1 = cat.skus
    wh = site(cat)
    stock = StockActivities(sessions)
    gate = asyncio.Event()

    @activity.defn(name=names.ALLOCATE_STOCK)
    async def gated_allocate(req: AllocationRequest) -> AllocationResult:
        if req.exclude:  # a re-route after a rejection
            await gate.wait()
        return await stock.allocate_stock(req)

    activities = [
        a
        for a in build_activities(sessions, SandboxBehaviour(latency_ms=(1, 5)))
        if a.__name__ != "allocate_stock"
    ]
    queue = f"reroute-{uuid.uuid4().hex[:8]}"
    order = order_input([(sku0, 1), (sku1, 1)])
    oid = order.order_id
    async with Worker(
        client,
        task_queue=queue,
        workflows=list(WORKFLOWS),
        activities=[*activities, gated_allocate],
    ):
        handle = await start_order(client, order, queue)
        try:
            first = await shipment_row(sessions, f"{oid}-1")
            second = await shipment_row(sessions, f"{oid}-2")
            assert {first.warehouse, second.warehouse} == {wh["PDX"], wh["NJ"]}
            async with sessions.begin() as s:
                for sku in (sku0, sku1):
                    await inventory.adjust(s, sku=sku, warehouse=wh["DAL"], delta=3, reason="t")
            children = [
                client.get_workflow_handle(fulfillment_workflow_id(f"{oid}-{n}")) for n in (1, 2)
            ]
            await asyncio.gather(
                *(
                    c.execute_update(FulfillmentWorkflow.reject, RejectInput(reason="shelf empty"))
                    for c in children
                )
            )
            for c in children:  # both handed back before either re-route allocates
                await c.result()
            gate.set()

            async def both_reserved() -> set[tuple[str, str, str, int, str]] | None:
                rows = {r for r in await reservations(sessions, oid) if r[4] == "reserved"}
                return rows if sum(r[3] for r in rows) >= 2 else None

            held = await eventually(both_reserved, within=30)
            assert sorted((r[1], r[2], r[3]) for r in held) == [
                (sku0, wh["DAL"], 1),
                (sku1, wh["DAL"], 1),
            ]
            reserved = sorted((r[0], r[1], r[2], r[3]) for r in held)

            async def parcels() -> list[tuple[str, str, str, int]]:
                state = await handle.query(OrderWorkflow.details)
                return sorted(
                    (s.shipment_id, ln.sku, s.warehouse, ln.quantity)
                    for s in state.shipments
                    if s.status != ShipmentStatus.CANCELLED
                    for ln in s.lines
                )

            async def adopted() -> bool:
                return await parcels() == reserved

            with contextlib.suppress(AssertionError):
                await eventually(adopted, within=30)
            # Every live parcel of the order holds exactly its reserved lines...
            assert await parcels() == reserved
            # ...and is a running workflow with those lines.
            for shipment_id in {r[0] for r in held}:
                fh = client.get_workflow_handle(fulfillment_workflow_id(shipment_id))
                view = await fh.query(FulfillmentWorkflow.details)
                assert sorted(ln.sku for ln in view.lines) == sorted(
                    r[1] for r in held if r[0] == shipment_id
                )
        finally:
            gate.set()
            await _terminate_running([handle])
