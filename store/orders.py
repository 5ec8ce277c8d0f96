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

from sqlalchemy import Select, String, bindparam, func, literal_column, or_, select, tuple_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import ShipmentLine, ShipmentView, StuckInfo, Tracking
from domain.status import LabelStatus, ShipmentStatus, StuckReason
from store.tables import (
    LabelLedger,
    OrderEventRow,
    OrderIntake,
    OrderRow,
    OrderStatusCount,
    ScanEvent,
    ShipmentRow,
)


class BadCursor(ValueError):
    """The cursor was not one this API produced."""


#: The free-text haystack: ids, name and email, matched as a substring. Kept identical to
#: the expression of the ``ix_orders_search`` pg_trgm GIN index (migration 0005): the
#: planner uses the index only for the very same expression.
SEARCH_SQL = "lower(order_id || ' ' || name || ' ' || email || ' ' || external_id)"
SEARCH = literal_column(f"({SEARCH_SQL})", String)
#: The order's lines, as indexed by ``ix_orders_line_skus`` (jsonb_path_ops GIN): a SKU is
#: matched whole, by containment. (SKUs share prefixes across a catalog, so their trigrams
#: would match nearly every order and make the trigram index useless for them.)
LINES = literal_column("(orders.summary -> 'lines')", JSONB)
#: The payment state the workflow last wrote (pending, paid, captured, refunded, voided).
PAYMENT = literal_column("(orders.summary ->> 'payment')", String)

SORTS = ("newest", "priority")


def encode_cursor(created_at: datetime, order_id: str, priority: int | None = None) -> str:
    parts: list[Any] = [created_at.isoformat(), order_id]
    if priority is not None:
        parts.append(priority)
    raw = json.dumps(parts).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str, int | None]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw)
        at, order_id = parts[0], parts[1]
        priority = int(parts[2]) if len(parts) > 2 else None
        return datetime.fromisoformat(at), str(order_id), priority
    except (ValueError, TypeError, IndexError, KeyError, binascii.Error) as exc:
        raise BadCursor(f"invalid cursor {cursor!r}") from exc


@dataclass
class OrderFilter:
    """The list's filters; the same set drives the page, the JSON list, CSV and views."""

    status: str | None = None
    tag: str | None = None
    warehouse: str | None = None
    priority: int | None = None
    stuck: bool | None = None
    channel: str | None = None
    payment: str | None = None
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    #: Set from the caller's key, never from the request: a staff key's warehouse.
    scope_warehouse: str | None = None


def _like_pattern(q: str) -> str:
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def tracking_matches(session: AsyncSession, q: str) -> list[str]:
    """Orders with a shipment whose tracking number is ``q`` (exact, as scanned or pasted)."""
    found = await session.scalars(
        select(ShipmentRow.order_id)
        .where(ShipmentRow.tracking_number.in_({q.strip(), q.strip().upper()}))
        .limit(100)
    )
    return list(dict.fromkeys(found.all()))


def _filtered(query: Select[Any], f: OrderFilter, tracked: list[str] | None = None) -> Select[Any]:
    if f.status:
        query = query.where(OrderRow.status == f.status)
    if f.tag:
        query = query.where(OrderRow.tags.contains([f.tag]))
    if f.warehouse:
        query = query.where(OrderRow.warehouses.contains([f.warehouse]))
    if f.scope_warehouse:
        query = query.where(OrderRow.warehouses.contains([f.scope_warehouse]))
    if f.priority is not None:
        query = query.where(OrderRow.priority >= f.priority)
    if f.stuck is not None:
        query = query.where(OrderRow.stuck.is_(f.stuck))
    if f.channel:
        query = query.where(OrderRow.channel == f.channel)
    if f.payment:
        query = query.where(PAYMENT.op("=")(f.payment))
    if f.since is not None:
        query = query.where(OrderRow.created_at >= f.since)
    if f.until is not None:
        query = query.where(OrderRow.created_at < f.until)
    if f.q:
        term = f.q.strip()
        matches = [SEARCH.like(_like_pattern(term))]
        matches += [
            LINES.op("@>")(bindparam(None, [{"sku": sku}], type_=JSONB))
            for sku in dict.fromkeys((term, term.upper()))
        ]
        if tracked:
            matches.append(OrderRow.order_id.in_(tracked))
        query = query.where(or_(*matches))
    return query


async def filtered_select(session: AsyncSession, f: OrderFilter) -> Select[Any]:
    """``SELECT orders`` under ``f`` (the tracking-number lookup done first: one index
    probe, so the text condition and the ids combine as a bitmap OR, not a per-row join)."""
    tracked = await tracking_matches(session, f.q) if f.q else None
    return _filtered(select(OrderRow), f, tracked)


def _ordered(query: Select[Any], sort: str, *, reverse: bool = False) -> Select[Any]:
    keys: list[Any] = [OrderRow.created_at, OrderRow.order_id]
    if sort == "priority":
        keys.insert(0, OrderRow.priority)
    return query.order_by(*(k.asc() if reverse else k.desc() for k in keys))


def _after(
    query: Select[Any], sort: str, row_key: tuple[Any, ...], *, reverse: bool = False
) -> Select[Any]:
    cols: list[Any] = [OrderRow.created_at, OrderRow.order_id]
    if sort == "priority":
        cols.insert(0, OrderRow.priority)
    left, right = tuple_(*cols), tuple_(*row_key)
    return query.where(left > right if reverse else left < right)


def _key_of(row: OrderRow, sort: str) -> tuple[Any, ...]:
    if sort == "priority":
        return (row.priority, row.created_at, row.order_id)
    return (row.created_at, row.order_id)


def order_query(query: Select[Any], sort: str = "newest") -> Select[Any]:
    """``query`` in the list's order (for exports that walk the whole filter)."""
    return _ordered(query, sort)


async def list_orders(
    session: AsyncSession,
    f: OrderFilter,
    *,
    limit: int = 50,
    cursor: str | None = None,
    sort: str = "newest",
) -> tuple[list[OrderRow], str | None]:
    """One page of orders, newest (or highest priority) first, and the next page's cursor.

    Raises:
        BadCursor: the cursor cannot be decoded (or belongs to another sort).
    """
    query = await filtered_select(session, f)
    if cursor:
        at, order_id, priority = decode_cursor(cursor)
        if (priority is None) != (sort != "priority"):
            raise BadCursor("this cursor belongs to another sort order")
        key = (at, order_id) if priority is None else (priority, at, order_id)
        query = _after(query, sort, key)
    query = _ordered(query, sort).limit(limit + 1)
    rows = list((await session.scalars(query)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(
            last.created_at, last.order_id, last.priority if sort == "priority" else None
        )
    return rows, next_cursor


async def neighbours(
    session: AsyncSession, f: OrderFilter, row: OrderRow, sort: str = "newest"
) -> tuple[str | None, str | None]:
    """``(previous, next)`` order ids around ``row`` in the list under ``f``: two index
    probes, however deep in the list the order sits."""
    base = await filtered_select(session, f)
    key = _key_of(row, sort)
    nxt = await session.scalar(
        _ordered(_after(base, sort, key), sort).with_only_columns(OrderRow.order_id).limit(1)
    )
    prev = await session.scalar(
        _ordered(_after(base, sort, key, reverse=True), sort, reverse=True)
        .with_only_columns(OrderRow.order_id)
        .limit(1)
    )
    return prev, nxt


async def status_counts(
    session: AsyncSession, scope_warehouse: str | None = None
) -> dict[str, int]:
    """Orders per status. Unscoped: the trigger-kept counters (a few hundred rows at most,
    whatever the number of orders). A staff key's warehouse: counted from the orders."""
    if scope_warehouse is None:
        rows = await session.execute(
            select(OrderStatusCount.status, func.sum(OrderStatusCount.n))
            .group_by(OrderStatusCount.status)
            .order_by(OrderStatusCount.status)
        )
        return {status: int(n) for status, n in rows.all() if n}
    rows = await session.execute(
        select(OrderRow.status, func.count())
        .where(OrderRow.warehouses.contains([scope_warehouse]))
        .group_by(OrderRow.status)
        .order_by(OrderRow.status)
    )
    return {status: int(n) for status, n in rows.all()}


async def changed_since(session: AsyncSession, seq: int, limit: int = 1000) -> list[OrderRow]:
    """Orders whose row was written after stream position ``seq``, oldest write first:
    what a reconnecting stream replays (each order's latest state, once)."""
    return list(
        (
            await session.scalars(
                select(OrderRow)
                .where(OrderRow.stream_seq > seq)
                .order_by(OrderRow.stream_seq)
                .limit(limit)
            )
        ).all()
    )


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
        label_status=label_status_of(row),
        stuck=stuck_of(row),
    )


def label_status_of(row: ShipmentRow) -> LabelStatus | None:
    """The row's label status; rows written before generation 9 only say it by their
    tracking number."""
    if row.label_status:
        return LabelStatus(row.label_status)
    return LabelStatus.READY if row.tracking_number else None


def stuck_of(row: ShipmentRow) -> StuckInfo | None:
    if not row.stuck_reason or row.stuck_since is None:
        return None
    return StuckInfo(
        step="ship",
        since=row.stuck_since,
        sla_seconds=0,
        reason=StuckReason(row.stuck_reason),
        detail=row.stuck_detail,
    )


async def label_url_of(session: AsyncSession, shipment_id: str) -> str | None:
    return await session.scalar(
        select(LabelLedger.label_url).where(LabelLedger.shipment_id == shipment_id)
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


async def waiting_longest(
    session: AsyncSession, *, warehouse: str | None, limit: int = 10
) -> list[ShipmentRow]:
    """Open shipments that have waited longest since they reached the floor."""
    query = select(ShipmentRow).where(ShipmentRow.status.in_(("open", "picking", "packed")))
    if warehouse:
        query = query.where(ShipmentRow.warehouse == warehouse)
    query = query.order_by(ShipmentRow.created_at, ShipmentRow.shipment_id).limit(limit)
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
