"""Write the read model (``orders``, ``shipments``) and the ``order_events`` log.

Run as local activities: they are short single-transaction writes, and the monotonic
``version`` guard makes retries and out-of-order writes harmless: a late write never
moves an order backwards.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from domain.models import OrderEvent, ProjectOrderInput, ProjectShipmentInput
from store.tables import OrderEventRow, OrderRow, ShipmentRow
from workflows import names


async def _append_events(session: AsyncSession, order_id: str, events: list[OrderEvent]) -> None:
    if not events:
        return
    await session.execute(
        insert(OrderEventRow)
        .values(
            [
                {
                    "order_id": order_id,
                    "event_key": e.key,
                    "at": e.at,
                    "type": e.type,
                    "detail": e.model_dump(mode="json")["detail"],
                }
                for e in events
            ]
        )
        .on_conflict_do_nothing(constraint="uq_order_event_key")
    )


class ProjectionActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn(name=names.RECORD_ORDER)
    async def record_order(self, data: ProjectOrderInput) -> None:
        row = data.order.model_dump(mode="json")
        row["total"] = data.order.total
        row["created_at"], row["updated_at"] = data.order.created_at, data.order.updated_at
        stmt = insert(OrderRow).values(**row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[OrderRow.order_id],
            set_={k: stmt.excluded[k] for k in row if k not in ("order_id", "created_at")},
            where=OrderRow.version < stmt.excluded.version,
        )
        async with self.sessions.begin() as session:
            await session.execute(stmt)
            await _append_events(session, data.order.order_id, data.events)
            for shipment in data.shipments:
                await _record_shipment(session, shipment)

    @activity.defn(name=names.RECORD_SHIPMENT)
    async def record_shipment(self, data: ProjectShipmentInput) -> None:
        async with self.sessions.begin() as session:
            await _record_shipment(session, data)


async def _record_shipment(session: AsyncSession, data: ProjectShipmentInput) -> None:
    """Upsert the shipment row (never backwards: the version guard) and append its events.

    Written by the shipment's own workflow, or by its order for floor moves; both carry
    the shipment's version, so whichever write lands last, the newest state wins.
    """
    s = data.shipment
    row = {
        "shipment_id": s.shipment_id,
        "order_id": s.order_id,
        "version": s.version,
        "warehouse": s.warehouse,
        "status": s.status.value,
        "priority": s.priority,
        "lines": [line.model_dump(mode="json") for line in s.lines],
        "carrier": s.tracking.carrier if s.tracking else None,
        "tracking_number": s.tracking.number if s.tracking else None,
        "tracking_url": s.tracking.url if s.tracking else None,
        "updated_at": s.updated_at,
    }
    stmt = insert(ShipmentRow).values(**row)
    stmt = stmt.on_conflict_do_update(
        index_elements=[ShipmentRow.shipment_id],
        set_={k: stmt.excluded[k] for k in row if k != "shipment_id"},
        where=ShipmentRow.version < stmt.excluded.version,
    )
    await session.execute(stmt)
    await _append_events(session, s.order_id, data.events)
