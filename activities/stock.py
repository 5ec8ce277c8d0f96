"""Allocation (route + reserve), moving and rejecting shipments, release and commit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from domain import names
from domain.models import (
    AllocatedShipment,
    AllocationRequest,
    AllocationResult,
    CommitRequest,
    MoveRequest,
    MoveResult,
    RejectRequest,
    ReleaseRequest,
    RerouteRequest,
    RerouteResult,
    RoutingDecision,
    ShipmentLine,
    ShrinkRequest,
)
from domain.routing import RoutingOutcome
from store import allocation, catalog, inventory
from store.projection import write_shipment
from store.tables import Reservation

#: A plan that loses its stock to a concurrent order is re-routed this many times before
#: the order waits as a backorder (the next stock change or recheck tries again).
ROUTING_ATTEMPTS = 3


class _LostRace(Exception):
    """Rolls back a plan whose stock or capacity went to a concurrent order meanwhile."""


def decision_of(version: int, outcome: RoutingOutcome, extra: list[str]) -> RoutingDecision:
    return RoutingDecision(
        decision=" + ".join(s.warehouse for s in outcome.shipments) or "backordered",
        reasons=extra + outcome.reasons,
        rules_version=version,
        candidates=outcome.sites,
        runners_up=outcome.runners_up,
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


class StockActivities:
    """``clock`` is what routing and the daily capacity counters take as "now" (a test
    pins it to a time of day instead of depending on when it runs)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.sessions = sessions
        self.clock = clock

    @activity.defn(name=names.ALLOCATE_STOCK)
    async def allocate_stock(self, req: AllocationRequest) -> AllocationResult:
        """Route the lines and reserve the winning plan, or record a backorder.

        Idempotent: a retry after a crash finds the reservations it already made.
        """
        wanted = Counter[str]()
        for line in req.lines:
            wanted[line.sku] += line.quantity
        async with self.sessions() as session:
            weights = await catalog.load_weights(session, list(wanted))
            held = await self._held(session, req, weights)
            if held is not None:
                return held
            await session.rollback()

        unknown = sorted(set(wanted) - set(weights))
        notes: list[str] = []
        if unknown:
            notes.append("not in the catalog: " + ", ".join(unknown))
        version, outcome = 0, RoutingOutcome()
        for _ in range(ROUTING_ATTEMPTS):
            now = self.clock()
            async with self.sessions() as session:
                routed = await allocation.decide(session, req, now)
            version, outcome = routed.version, routed.outcome
            if unknown or not outcome.routed:
                break
            planned = routed.planned(req.order_id, req.next_seq)
            if await self._reserve(req.order_id, planned, now, routed.backordered):
                shipments = [
                    AllocatedShipment(
                        shipment_id=p.shipment_id,
                        warehouse=p.warehouse,
                        lines=_lines(p.quantities, weights),
                    )
                    for p in planned
                ]
                return AllocationResult(
                    shipment_id=shipments[0].shipment_id,
                    warehouse=shipments[0].warehouse,
                    lines=shipments[0].lines,
                    shipments=shipments,
                    routing=decision_of(version, outcome, notes),
                )
            notes.append("lost stock or capacity to a concurrent order; routed again")

        short = sorted(outcome.short) if outcome.short else sorted(wanted)
        # The whole need of each short SKU: the units on the shelf now are part of it.
        claims = {sku: wanted[sku] for sku in short if sku in wanted}
        async with self.sessions.begin() as session:
            await inventory.record_backorder(session, req.order_id, sorted(wanted), claims)
        decision = decision_of(version, outcome, notes)
        decision.decision = "backordered"
        return AllocationResult(
            shipment_id=req.shipment_id,
            backordered=True,
            short_skus=sorted(set(unknown) | set(short)),
            routing=decision,
        )

    async def _held(
        self, session: AsyncSession, req: AllocationRequest, weights: dict[str, int]
    ) -> AllocationResult | None:
        """Reservations an earlier attempt of this allocation already made, if any."""
        rows = [
            r
            for r in await inventory.list_order_reservations(session, req.order_id)
            if r.shipment_id not in req.existing
        ]
        if not rows:
            return None
        by_shipment: dict[str, list[Reservation]] = {}
        for r in rows:
            by_shipment.setdefault(r.shipment_id, []).append(r)
        shipments = [
            AllocatedShipment(
                shipment_id=sid,
                warehouse=rs[0].warehouse,
                lines=_lines({r.sku: r.quantity for r in rs}, weights),
            )
            for sid, rs in by_shipment.items()
        ]
        return AllocationResult(
            shipment_id=shipments[0].shipment_id,
            warehouse=shipments[0].warehouse,
            lines=shipments[0].lines,
            shipments=shipments,
            routing=RoutingDecision(
                decision=" + ".join(s.warehouse for s in shipments),
                reasons=["reservation already held for this order"],
            ),
        )

    async def _reserve(
        self,
        order_id: str,
        planned: list[allocation.PlannedReservation],
        now: datetime,
        backordered: bool,
    ) -> bool:
        """One transaction: reserve every shipment of the plan and close any backorder.

        Each shipment's row in the work list is written by its FulfillmentWorkflow once it
        runs, so a picker never sees a shipment that cannot take scans yet.
        """
        try:
            async with self.sessions.begin() as session:
                if not await allocation.reserve_plan(
                    session, order_id=order_id, shipments=planned, now=now
                ):
                    raise _LostRace()
                if backordered:
                    await inventory.resolve_backorder(session, order_id)
        except _LostRace:
            return False
        return True

    @activity.defn(name=names.MOVE_SHIPMENT)
    async def move_shipment(self, req: MoveRequest) -> MoveResult:
        """Move a shipment's reservations to another warehouse in one transaction.

        The reservation rows change warehouse in place (release at the old site, reserve
        at the new one, re-checking its stock and capacity); if anything is short, nothing
        changes. Idempotent: rows already at the target are left alone.
        """
        now = self.clock()
        try:
            async with self.sessions.begin() as session:
                rows = await inventory.lock_shipment_reservations(session, req.shipment_id)
                to_move = [r for r in rows if r.warehouse != req.to_warehouse]
                if not rows:
                    return MoveResult(moved=False, detail="the shipment holds no reservations")
                if not to_move:
                    return MoveResult(moved=True, detail="already there")
                await allocation.free_slots(session, Reservation.shipment_id == req.shipment_id)
                for r in to_move:
                    short = await allocation.shift_reservation(session, r, req.to_warehouse)
                    if short is not None:
                        raise _LostRace(short)
                if not await allocation.take_slot(session, req.to_warehouse, now):
                    raise _LostRace(f"{req.to_warehouse} is at its daily capacity")
        except _LostRace as exc:
            return MoveResult(moved=False, detail=str(exc))
        return MoveResult(moved=True, detail=f"moved to {req.to_warehouse}")

    @activity.defn(name=names.REROUTE_SHIPMENT)
    async def reroute_shipment(self, req: RerouteRequest) -> RerouteResult:
        """Route an open shipment's lines for its new address; when one other warehouse is
        now the best, move the reservations there (``move_shipment``: one transaction,
        nothing changes if the target is short). A split or a shortage keeps it where it
        is: the shipment is already reserved and would only get worse."""
        async with self.sessions() as session:
            routed = await allocation.decide(
                session,
                AllocationRequest(
                    order_id=req.order_id,
                    shipment_id=req.shipment_id,
                    lines=req.lines,
                    address=req.address,
                    shipping_method=req.shipping_method,
                    priority=req.priority,
                ),
                self.clock(),
            )
        shipments = routed.outcome.shipments if routed.outcome.routed else []
        if len(shipments) != 1:
            return RerouteResult(
                warehouse=req.warehouse,
                moved=False,
                detail="no single warehouse has it all now; it stays where it is",
            )
        best = shipments[0].warehouse
        if best == req.warehouse:
            return RerouteResult(warehouse=best, moved=False, detail=f"{best} is still the best")
        moved = await self.move_shipment(
            MoveRequest(
                order_id=req.order_id,
                shipment_id=req.shipment_id,
                to_warehouse=best,
                reason="shipping address changed",
            )
        )
        if not moved.moved:
            return RerouteResult(warehouse=req.warehouse, moved=False, detail=moved.detail)
        return RerouteResult(warehouse=best, moved=True, detail=f"moved to {best}")

    @activity.defn(name=names.REJECT_SHIPMENT)
    async def reject_shipment(self, req: RejectRequest) -> int:
        """A warehouse cannot ship: give back its reservations and, when the shelf was
        found empty for a SKU, correct that SKU's count so routing stops sending it there.
        """
        async with self.sessions.begin() as session:
            await allocation.free_slots(session, Reservation.shipment_id == req.shipment_id)
            freed = await inventory.release_shipment(session, req.shipment_id)
            if req.sku:
                await inventory.correct_empty_shelf(
                    session,
                    sku=req.sku,
                    warehouse=req.warehouse,
                    reason=f"shelf empty, reported on shipment {req.shipment_id}",
                    actor=req.actor,
                )
            return freed

    @activity.defn(name=names.SHRINK_SHIPMENT)
    async def shrink_shipment(self, req: ShrinkRequest) -> int:
        """A channel edit took units off an open shipment before pick: give them back to
        available stock, in one transaction; a shipment left with nothing reserved also
        gives back its capacity slot. Idempotent (absolute targets): a retry after a crash
        releases nothing twice. Returns the units released by this call."""
        async with self.sessions.begin() as session:
            if req.keep and not any(req.keep.values()):
                # Counted by the rows still reserved: before they go (a repeat finds none).
                await allocation.free_slots(session, Reservation.shipment_id == req.shipment_id)
            return await inventory.shrink_shipment(session, req.shipment_id, req.keep)

    @activity.defn(name=names.RELEASE_STOCK)
    async def release_stock(self, req: ReleaseRequest) -> int:
        async with self.sessions.begin() as session:
            await allocation.free_slots(session, Reservation.order_id == req.order_id)
            return await inventory.release_order(session, req.order_id)

    @activity.defn(name=names.COMMIT_STOCK)
    async def commit_stock(self, req: CommitRequest) -> int:
        """Take the shipped units off the shelf; with ``record``, mark the shipment shipped
        in the read model in the same transaction (stock and status never disagree)."""
        async with self.sessions.begin() as session:
            committed = await inventory.commit_shipment(session, req.shipment_id)
            if req.record is not None:
                await write_shipment(session, req.record)
            return committed


def _lines(quantities: dict[str, int], weights: dict[str, int]) -> list[ShipmentLine]:
    return [
        ShipmentLine(sku=sku, quantity=qty, weight_grams=weights.get(sku, 0))
        for sku, qty in sorted(quantities.items())
    ]
