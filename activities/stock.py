"""Allocation (choose a warehouse + reserve), release and commit of stock."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from domain.allocation import rank_warehouses
from domain.models import (
    AllocationRequest,
    AllocationResult,
    CommitRequest,
    ReleaseRequest,
    RoutingDecision,
    ShipmentLine,
)
from store import inventory
from store.tables import Product
from workflows import names


class _LostRace(Exception):
    """Rolls back a reservation attempt that found less stock than the ranking saw."""


class StockActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn(name=names.ALLOCATE_STOCK)
    async def allocate_stock(self, req: AllocationRequest) -> AllocationResult:
        """Reserve the whole order at the best warehouse that has it, or record a backorder.

        Idempotent: a retry after a crash finds the reservations it already made.
        """
        wanted = Counter[str]()
        for line in req.lines:
            wanted[line.sku] += line.quantity
        async with self.sessions() as session:
            weights = dict(
                (
                    await session.execute(
                        select(Product.sku, Product.weight_grams).where(
                            Product.sku.in_(list(wanted))
                        )
                    )
                ).all()
            )
            lines = [
                ShipmentLine(sku=sku, quantity=qty, weight_grams=weights.get(sku, 0))
                for sku, qty in sorted(wanted.items())
            ]
            held = await inventory.existing_reservations(session, req.shipment_id)
            if held:
                warehouse = held[0].warehouse
                return AllocationResult(
                    shipment_id=req.shipment_id,
                    warehouse=warehouse,
                    lines=lines,
                    routing=RoutingDecision(
                        decision=warehouse, reasons=["reservation already held for this shipment"]
                    ),
                )
            unknown = sorted(set(wanted) - set(weights))
            stock = await inventory.stock_for(session, list(wanted))
            ranked = rank_warehouses(stock, req.lines, req.address)
            await session.rollback()
            reasons = [c.verdict for c in ranked]
            if unknown:
                reasons.insert(0, "not in the catalog: " + ", ".join(unknown))
            for candidate in ranked:
                if not candidate.complete or unknown:
                    continue
                if not await self._reserve_at(req, candidate.code, wanted):
                    reasons.append(f"{candidate.code}: lost the stock to a concurrent order")
                    continue
                return AllocationResult(
                    shipment_id=req.shipment_id,
                    warehouse=candidate.code,
                    lines=lines,
                    routing=RoutingDecision(
                        decision=candidate.code,
                        reasons=[f"chosen {candidate.code}: nearest warehouse with every line"]
                        + reasons,
                    ),
                )
            # Short: SKUs no single warehouse has enough of. Any SKU of the order arriving
            # anywhere may make it allocatable, so the backorder waits on all of them.
            short = sorted(
                sku
                for sku, qty in wanted.items()
                if not any(w.available.get(sku, 0) >= qty for w in stock)
            )
            async with session.begin():
                await inventory.record_backorder(session, req.order_id, sorted(wanted))
            return AllocationResult(
                shipment_id=req.shipment_id,
                backordered=True,
                short_skus=short or sorted(wanted),
                routing=RoutingDecision(decision="backordered", reasons=reasons),
            )

    async def _reserve_at(
        self, req: AllocationRequest, warehouse: str, wanted: Counter[str]
    ) -> bool:
        """One all-or-nothing transaction: reserve every line and close any backorder.

        The shipment's row in the work list is written by its FulfillmentWorkflow once it
        runs, so a picker never sees a shipment that cannot take scans yet.
        """
        try:
            async with self.sessions.begin() as session:
                if not await inventory.try_reserve(
                    session,
                    order_id=req.order_id,
                    shipment_id=req.shipment_id,
                    warehouse=warehouse,
                    quantities=dict(wanted),
                ):
                    raise _LostRace()
                await inventory.resolve_backorder(session, req.order_id)
        except _LostRace:
            return False
        return True

    @activity.defn(name=names.RELEASE_STOCK)
    async def release_stock(self, req: ReleaseRequest) -> int:
        async with self.sessions.begin() as session:
            return await inventory.release_order(session, req.order_id)

    @activity.defn(name=names.COMMIT_STOCK)
    async def commit_stock(self, req: CommitRequest) -> int:
        async with self.sessions.begin() as session:
            return await inventory.commit_shipment(session, req.shipment_id)
