"""The read model's writes: rows from the models the workflows hand over, and the
statements that write them (only forward: every row carries its workflow's version).

One place for every writer: the projection activities, the stock commit (a shipped row in
its own transaction) and the API, which writes the row a floor Update answered with before
it replies (docs/decisions/0001-floor-state-in-the-read-model.md).

The statements are built once, here: building a fresh ``insert().values()
.on_conflict_do_update()`` per call cost more CPU than running it (a floor move's write:
2.2 ms CPU then, 0.8 ms now).
"""

from __future__ import annotations

import logging
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import NotifyRequest, OrderEvent, OrderProjection, ProjectShipmentInput
from store.tables import Notification, OrderEventRow, OrderRow, ShipmentRow

log = logging.getLogger(__name__)


def event_rows(order_id: str, events: list[OrderEvent]) -> list[dict[str, Any]]:
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


def shipment_row(data: ProjectShipmentInput) -> dict[str, Any]:
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
        "steps_done": {k: v.isoformat() for k, v in s.steps_done.items()},
        "label_status": s.label_status.value if s.label_status else None,
        "stuck_reason": s.stuck.reason.value if s.stuck and s.stuck.reason else None,
        "stuck_detail": s.stuck.detail if s.stuck else None,
        "stuck_since": s.stuck.since if s.stuck else None,
    }


#: The columns ``shipment_row`` fills, in order.
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
    "steps_done",
    "label_status",
    "stuck_reason",
    "stuck_detail",
    "stuck_since",
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
NOTIFICATION_INSERT = (
    insert(cast(Table, Notification.__table__))
    .on_conflict_do_nothing()
    .returning(cast(Table, Notification.__table__).c.idempotency_key)
)
EVENTS_INSERT = insert(cast(Table, OrderEventRow.__table__)).on_conflict_do_nothing(
    constraint="uq_order_event_key"
)


async def write_shipment(session: AsyncSession, data: ProjectShipmentInput) -> None:
    """The shipment's row (only forward), its events and the notifications it decided to
    send, in the caller's transaction."""
    await session.execute(SHIPMENT_UPSERT, shipment_row(data))
    if data.events:
        await session.execute(EVENTS_INSERT, event_rows(data.shipment.order_id, data.events))
    for note in data.notifications:
        await record_notification(session, note)


def shipment_of(req: NotifyRequest) -> str | None:
    """The shipment a notification is about: ``req.shipment_id``, or for generations that
    did not set it, read from their key (``notify-<shipment_id>-<milestone>``; an order
    milestone's key is ``notify-<order_id>-<milestone>``)."""
    if req.shipment_id:
        return req.shipment_id
    prefix, suffix = "notify-", f"-{req.milestone}"
    key = req.idempotency_key
    if key.startswith(prefix) and key.endswith(suffix):
        middle = key[len(prefix) : -len(suffix)]
        if middle and middle != req.order_id and middle.startswith(req.order_id):
            return middle
    return None


async def record_notification(session: AsyncSession, req: NotifyRequest) -> bool:
    """The customer email's outbox row, once per key; False when it was already there.

    Written ``pending`` in the caller's transaction (the move that decides it); the
    worker's sender mails it (docs/decisions/0006-customer-emails-outbox.md).
    """
    inserted = await session.scalar(
        NOTIFICATION_INSERT.values(
            idempotency_key=req.idempotency_key,
            order_id=req.order_id,
            shipment_id=shipment_of(req),
            milestone=req.milestone,
            email=req.email,
            detail=req.model_dump(mode="json")["detail"],
        )
    )
    if inserted is not None:
        log.info("notification %s recorded: order %s", req.milestone, req.order_id)
    return inserted is not None
