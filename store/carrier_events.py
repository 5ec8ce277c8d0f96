"""Carrier tracking events: stored once each, whatever carriers repeat.

The key is ``(carrier, event_id)``, or ``(tracking_number, status, occurred_at)`` for
carriers that send no id (partial unique indexes, migration 0007). ``signalled_at`` says
the shipment's workflow heard the event, so a delivery retried after a crash between
storing and signalling still reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import TrackingEvent
from store.tables import CarrierEvent


@dataclass(frozen=True)
class StoredEvent:
    id: int
    #: The event was stored before (a duplicate delivery).
    repeated: bool
    #: ... and its workflow has heard it: nothing more to do.
    signalled: bool


async def store_event(
    session: AsyncSession,
    carrier: str,
    shipment_id: str,
    event: TrackingEvent,
    event_id: str | None,
) -> StoredEvent:
    """Insert the event (``event_id``: the carrier's own id) unless it is there; either
    way return its row's id."""
    values = {
        "carrier": carrier,
        "tracking_number": event.tracking_number,
        "shipment_id": shipment_id,
        "status": event.status.value,
        "occurred_at": event.occurred_at,
        "detail": event.detail,
        "event_id": event_id,
        "location": event.location,
    }
    if event_id is not None:
        keys, where = ["carrier", "event_id"], "event_id IS NOT NULL"
        same = (CarrierEvent.carrier == carrier) & (CarrierEvent.event_id == event_id)
    else:
        keys, where = ["tracking_number", "status", "occurred_at"], "event_id IS NULL"
        same = (
            (CarrierEvent.tracking_number == event.tracking_number)
            & (CarrierEvent.status == event.status.value)
            & (CarrierEvent.occurred_at == event.occurred_at)
            & CarrierEvent.event_id.is_(None)
        )
    new_id = await session.scalar(
        insert(CarrierEvent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=keys, index_where=text(where))
        .returning(CarrierEvent.id)
    )
    if new_id is not None:
        return StoredEvent(id=new_id, repeated=False, signalled=False)
    row = (
        await session.execute(select(CarrierEvent.id, CarrierEvent.signalled_at).where(same))
    ).one()
    return StoredEvent(id=row.id, repeated=True, signalled=row.signalled_at is not None)


async def mark_signalled(session: AsyncSession, event_id: int) -> None:
    await session.execute(
        update(CarrierEvent)
        .where(CarrierEvent.id == event_id, CarrierEvent.signalled_at.is_(None))
        .values(signalled_at=datetime.now(UTC))
    )
