"""Write the read model (``orders``, ``shipments``) and the ``order_events`` log.

Run as local activities: they are short single-transaction writes, and the monotonic
``version`` guard makes retries and out-of-order writes harmless: a late write never
moves an order backwards.
The statements themselves live in ``store/projection.py``.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from domain import names
from domain.models import (
    ProjectOrderInput,
    ProjectShipmentInput,
    ShipmentView,
)
from store import orders as read
from store.projection import (
    EVENTS_INSERT,
    ORDER_UPSERT,
    SHIPMENT_UPSERT,
    event_rows,
    record_notification,
    shipment_row,
    write_shipment,
)


class ProjectionActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn(name=names.RECORD_ORDER)
    async def record_order(self, data: ProjectOrderInput) -> None:
        """The order's row, and the rows of shipments it records for their floor moves.

        Shipment rows carry the shipment's version, whichever workflow writes them, so
        whichever write lands last, the newest state wins.
        """
        row = data.order.model_dump(mode="json")
        row["total"] = data.order.total
        row["created_at"], row["updated_at"] = data.order.created_at, data.order.updated_at
        events = event_rows(data.order.order_id, data.events)
        for shipment in data.shipments:
            events += event_rows(shipment.shipment.order_id, shipment.events)
        async with self.sessions.begin() as session:
            await session.execute(ORDER_UPSERT, row)
            if data.shipments:
                # One row each (executemany): two floor moves of one shipment in one flush
                # are two statements, and the version guard keeps the newer.
                await session.execute(SHIPMENT_UPSERT, [shipment_row(s) for s in data.shipments])
            if events:
                await session.execute(EVENTS_INSERT, events)
            for note in data.notifications:
                await record_notification(session, note)

    @activity.defn(name=names.RECORD_SHIPMENT)
    async def record_shipment(self, data: ProjectShipmentInput) -> None:
        async with self.sessions.begin() as session:
            await write_shipment(session, data)

    @activity.defn(name=names.READ_FLOOR)
    async def read_floor(self, order_id: str) -> list[ShipmentView]:
        """The order's shipments as the floor left them (picked counts, steps done).

        The order hears only the moves that change its course; when one of its floor steps
        outlives its SLA, it reads here where the floor really is before calling it stuck.
        """
        async with self.sessions() as session:
            return [read.shipment_view(r) for r in await read.shipments_of(session, order_id)]
