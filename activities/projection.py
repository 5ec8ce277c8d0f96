"""Write the read model (``orders``, ``shipments``) and the ``order_events`` log.

Run as local activities: they are short single-transaction writes, and the monotonic
``version`` guard makes retries and out-of-order writes harmless: a late write never
moves an order backwards.

The statements are built once, here: every order status change (and every floor move)
runs one of these writes inside a workflow task on the worker's event loop, and building
a fresh ``insert().values().on_conflict_do_update()`` per call cost more CPU than running
it (a floor move's write: 2.2 ms CPU then, 0.8 ms now; bench/RESULTS.md).
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from domain.models import OrderEvent, OrderProjection, ProjectOrderInput, ProjectShipmentInput
from store.tables import OrderEventRow, OrderRow, ShipmentRow
from workflows import names

SHIPMENT_COLUMNS = (
    "shipment_id",
    "order_id",
    "version",
    "warehouse",
    "status",
    "priority",
    "lines",
    "carrier",
    "tracking_number",
    "tracking_url",
    "updated_at",
)


def _upsert(table: Table, columns: tuple[str, ...], key: str, keep: tuple[str, ...]) -> Insert:
    """``INSERT … ON CONFLICT (key) DO UPDATE`` of ``columns`` but ``keep``, only forward.

    On the Core table, not the ORM class: an ORM bulk insert leaves out the columns whose
    value is ``None`` (so that their defaults apply), and a ``None`` here means NULL.
    """
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[key],
        set_={c: stmt.excluded[c] for c in columns if c != key and c not in keep},
        where=table.c.version < stmt.excluded.version,
    )


ORDER_UPSERT = _upsert(
    cast(Table, OrderRow.__table__),
    tuple(OrderProjection.model_fields),
    "order_id",
    keep=("created_at",),
)
SHIPMENT_UPSERT = _upsert(
    cast(Table, ShipmentRow.__table__), SHIPMENT_COLUMNS, "shipment_id", keep=()
)
EVENTS_INSERT = insert(cast(Table, OrderEventRow.__table__)).on_conflict_do_nothing(
    constraint="uq_order_event_key"
)


def _event_rows(order_id: str, events: list[OrderEvent]) -> list[dict[str, Any]]:
    return [
        {
            "order_id": order_id,
            "event_key": e.key,
            "at": e.at,
            "type": e.type,
            "detail": e.model_dump(mode="json")["detail"],
        }
        for e in events
    ]


def _shipment_row(data: ProjectShipmentInput) -> dict[str, Any]:
    s = data.shipment
    return {
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
        events = _event_rows(data.order.order_id, data.events)
        for shipment in data.shipments:
            events += _event_rows(shipment.shipment.order_id, shipment.events)
        async with self.sessions.begin() as session:
            await session.execute(ORDER_UPSERT, row)
            if data.shipments:
                # One row each (executemany): two floor moves of one shipment in one flush
                # are two statements, and the version guard keeps the newer.
                await session.execute(SHIPMENT_UPSERT, [_shipment_row(s) for s in data.shipments])
            if events:
                await session.execute(EVENTS_INSERT, events)

    @activity.defn(name=names.RECORD_SHIPMENT)
    async def record_shipment(self, data: ProjectShipmentInput) -> None:
        async with self.sessions.begin() as session:
            await session.execute(SHIPMENT_UPSERT, _shipment_row(data))
            if data.events:
                await session.execute(
                    EVENTS_INSERT, _event_rows(data.shipment.order_id, data.events)
                )
