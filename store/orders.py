"""Read-model queries over the ``orders`` / ``shipments`` projection and the event logs.

The projection is written by activities only; these functions never write it. Lists use
keyset pagination on ``(created_at desc, order_id desc)`` so a page is one index range
scan however deep the dashboard scrolls, and rows inserted meanwhile never shift pages.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, cast, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import ShipmentLine, ShipmentView, Tracking
from domain.status import ShipmentStatus
from store.tables import (
    OrderEventRow,
    OrderIntake,
    OrderRow,
    ScanEvent,
    ShipmentRow,
)


class BadCursor(ValueError):
    """The cursor was not one this API produced."""


def encode_cursor(created_at: datetime, order_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), order_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, order_id = json.loads(raw)
        return datetime.fromisoformat(at), str(order_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadCursor(f"invalid cursor {cursor!r}") from exc


@dataclass
class OrderFilter:
    status: str | None = None
    tag: str | None = None
    warehouse: str | None = None
    priority: int | None = None
    q: str | None = None


def _filtered(query: Select[Any], f: OrderFilter) -> Select[Any]:
    if f.status:
        query = query.where(OrderRow.status == f.status)
    if f.tag:
        query = query.where(OrderRow.tags.contains([f.tag]))
    if f.warehouse:
        query = query.where(OrderRow.warehouses.contains([f.warehouse]))
    if f.priority is not None:
        query = query.where(OrderRow.priority >= f.priority)
    if f.q:
        like = f"%{f.q}%"
        query = query.where(
            or_(
                OrderRow.order_id.ilike(like),
                OrderRow.name.ilike(like),
                OrderRow.email.ilike(like),
                OrderRow.external_id.ilike(like),
                cast(OrderRow.tags, String).ilike(like),
            )
        )
    return query


async def list_orders(
    session: AsyncSession, f: OrderFilter, *, limit: int = 50, cursor: str | None = None
) -> tuple[list[OrderRow], str | None]:
    """One page of orders, newest first, and the cursor of the next page (None at the end).

    Raises:
        BadCursor: the cursor cannot be decoded.
    """
    query = _filtered(select(OrderRow), f)
    if cursor:
        at, order_id = decode_cursor(cursor)
        query = query.where(tuple_(OrderRow.created_at, OrderRow.order_id) < tuple_(at, order_id))
    query = query.order_by(OrderRow.created_at.desc(), OrderRow.order_id.desc()).limit(limit + 1)
    rows = list((await session.scalars(query)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].created_at, rows[-1].order_id)
    return rows, next_cursor


async def status_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(OrderRow.status, func.count()).group_by(OrderRow.status).order_by(OrderRow.status)
    )
    return {status: int(n) for status, n in rows.all()}


async def get_order(session: AsyncSession, order_id: str) -> OrderRow | None:
    return await session.get(OrderRow, order_id)


async def get_intake(session: AsyncSession, order_id: str) -> OrderIntake | None:
    return await session.get(OrderIntake, order_id)


async def shipments_of(session: AsyncSession, order_id: str) -> list[ShipmentRow]:
    return list(
        (
            await session.scalars(
                select(ShipmentRow)
                .where(ShipmentRow.order_id == order_id)
                .order_by(ShipmentRow.shipment_id)
            )
        ).all()
    )


async def events_of(session: AsyncSession, order_id: str) -> list[OrderEventRow]:
    return list(
        (
            await session.scalars(
                select(OrderEventRow)
                .where(OrderEventRow.order_id == order_id)
                .order_by(OrderEventRow.at, OrderEventRow.id)
            )
        ).all()
    )


def shipment_view(row: ShipmentRow) -> ShipmentView:
    """A shipment's row as the view people (and the order's SLA watchdog) read."""
    return ShipmentView(
        shipment_id=row.shipment_id,
        warehouse=row.warehouse,
        status=ShipmentStatus(row.status),
        lines=[ShipmentLine.model_validate(ln) for ln in row.lines],
        tracking=Tracking(
            carrier=row.carrier, number=row.tracking_number, url=row.tracking_url or ""
        )
        if row.carrier and row.tracking_number
        else None,
        steps_done=dict(row.steps_done or {}),
    )


async def get_shipment(session: AsyncSession, shipment_id: str) -> ShipmentRow | None:
    return await session.get(ShipmentRow, shipment_id)


async def work_list(
    session: AsyncSession, *, warehouse: str | None, status: str | None, limit: int = 500
) -> list[ShipmentRow]:
    """Shipments to work on, most urgent first (priority desc, then oldest)."""
    query = select(ShipmentRow)
    if warehouse:
        query = query.where(ShipmentRow.warehouse == warehouse)
    if status:
        query = query.where(ShipmentRow.status == status)
    else:
        query = query.where(ShipmentRow.status.in_(("open", "picking", "packed")))
    query = query.order_by(
        ShipmentRow.priority.desc(), ShipmentRow.created_at, ShipmentRow.shipment_id
    ).limit(limit)
    return list((await session.scalars(query)).all())


async def stuck_orders(session: AsyncSession) -> list[OrderRow]:
    return list(
        (
            await session.scalars(
                select(OrderRow).where(OrderRow.stuck).order_by(OrderRow.updated_at)
            )
        ).all()
    )


GROUPS = {
    "warehouse": ScanEvent.warehouse,
    "sku": ScanEvent.sku,
    "station": ScanEvent.station,
}


async def scan_accuracy(
    session: AsyncSession, group_by: str, since: datetime | None
) -> list[tuple[str | None, int, int]]:
    """``(group, scans, rejected)`` per group of ``scan_events``, most rejections first."""
    col = GROUPS[group_by]
    rejected = func.count().filter(ScanEvent.accepted.is_(False))
    query = select(col, func.count(), rejected).group_by(col)
    if since is not None:
        query = query.where(ScanEvent.created_at >= since)
    rows = await session.execute(query.order_by(rejected.desc(), col))
    return [(g, int(n), int(r)) for g, n, r in rows.all()]
