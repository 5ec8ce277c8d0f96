"""Helpers to start and drive orders straight through the Temporal client."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowHandle

from domain.models import (
    Address,
    OrderInput,
    OrderLine,
    OrderOptions,
    OrderState,
    PackInput,
    PackResult,
    ScanInput,
    ScanResult,
    ShipmentView,
    Tracking,
)
from domain.names import order_workflow_id
from domain.status import FinancialStatus, ShipmentStatus, ShippingMethod
from store.projection import write_shipment
from workflows.fulfillment import FulfillmentWorkflow
from workflows.order import OrderWorkflow

PORTLAND = Address(
    name="Mara Lindqvist",
    address1="418 Alder Street",
    city="Portland",
    province_code="OR",
    zip="97205",
    country_code="US",
    latitude=45.5189,
    longitude=-122.6793,
)


def order_input(
    lines: list[tuple[str, int]],
    *,
    financial_status: FinancialStatus = FinancialStatus.PAID,
    total: str = "50.00",
    address: Address = PORTLAND,
    options: OrderOptions | None = None,
    **overrides: Any,
) -> OrderInput:
    order_id = f"t-{uuid.uuid4().hex[:10]}"
    return OrderInput(
        order_id=order_id,
        external_id=order_id,
        channel="test",
        name=f"#{order_id}",
        email="buyer@example.com",
        customer_orders_count=3,
        shipping_address=address,
        shipping_method=ShippingMethod.STANDARD,
        lines=[OrderLine(sku=s, quantity=q, unit_price=Decimal("10")) for s, q in lines],
        financial_status=financial_status,
        total=Decimal(total),
        created_at=datetime.now(UTC),
        options=options or OrderOptions(),
        **overrides,
    )


async def start_order(
    client: Client, order: OrderInput, task_queue: str
) -> WorkflowHandle[OrderWorkflow, OrderState]:
    return await client.start_workflow(
        OrderWorkflow.run, order, id=order_workflow_id(order.order_id), task_queue=task_queue
    )


async def eventually(
    probe: Callable[[], Any], *, within: float = 20.0, interval: float = 0.1
) -> Any:
    """Poll an async ``probe`` until it returns something truthy (behaviour, not timing)."""
    deadline = asyncio.get_running_loop().time() + within
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met in {within}s; last value: {last!r}")


async def scan_recorded(
    handle: WorkflowHandle[Any, Any], scan: ScanInput, sessions: async_sessionmaker[AsyncSession]
) -> ScanResult:
    """A scan Update, and its answer's row written as the API writes it (the floor's moves
    reach the read model with the Update's answer, not through the order)."""
    result: ScanResult = await handle.execute_update(FulfillmentWorkflow.scan, scan)
    if result.record is not None:
        async with sessions.begin() as session:
            await write_shipment(session, result.record)
    return result


@dataclass(frozen=True)
class Shipped:
    """A packed shipment once its label came (generation 9 answers the pack first)."""

    tracking: Tracking
    label_url: str | None
    #: What the pack Update itself answered.
    answer: PackResult


async def pack_shipped(
    handle: WorkflowHandle[Any, Any],
    pack: PackInput,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    *,
    within: float = 20.0,
) -> Shipped:
    """Pack, write the answer's row as the API does, then wait for the label and the ship."""
    answer: PackResult = await handle.execute_update(FulfillmentWorkflow.pack, pack)
    if answer.record is not None and sessions is not None:
        async with sessions.begin() as session:
            await write_shipment(session, answer.record)

    async def shipped() -> ShipmentView | None:
        view: ShipmentView = await handle.query(FulfillmentWorkflow.details)
        ok = view.tracking is not None and view.status not in PACKING_STATES
        return view if ok else None

    view = await eventually(shipped, within=within)
    assert view.tracking is not None
    return Shipped(tracking=view.tracking, label_url=view.label_url, answer=answer)


#: A shipment still on its way to the carrier.
PACKING_STATES = frozenset({ShipmentStatus.OPEN, ShipmentStatus.PICKING, ShipmentStatus.PACKED})
