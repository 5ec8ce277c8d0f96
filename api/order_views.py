"""What the order routes answer, built from the workflow's live state or the read model.

The detail view prefers the live state (a Query) and falls back to the projection's row
when the workflow cannot answer; either way its shipments come from their own rows,
advanced at every floor move by the move's own answer, so the order's floor status and
floor steps are read from those rows (domain/floor.py).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import ensure_ships_from
from api.problems import Problem
from api.schemas.orders import EventOut, OrderDetail, OrderSummary
from domain.codes import ProblemCode
from domain.floor import FLOOR_STATUSES, floor_status_of, with_floor_steps
from domain.models import OrderState, ShipmentView
from domain.status import OrderStatus
from domain.summary import OrderSummary as StoredSummary
from store import orders as read
from store.keys import Principal
from store.tables import OrderRow, ShipmentRow


def list_item(r: OrderRow) -> OrderSummary:
    """One order of a list, from its row."""
    return OrderSummary(
        order_id=r.order_id,
        name=r.name,
        status=r.status,
        tags=list(r.tags),
        priority=r.priority,
        warehouses=list(r.warehouses),
        total=r.total,
        currency=r.currency,
        created_at=r.created_at,
        updated_at=r.updated_at,
        stuck=r.stuck,
    )


def live_detail(
    state: OrderState, shipments: list[ShipmentView], events: list[EventOut]
) -> OrderDetail:
    """The detail from the workflow's answer to the Query."""
    return OrderDetail(
        **state.model_dump(exclude={"shipments", "status", "steps"}),
        status=floor_refined(state.status, shipments),
        steps=with_floor_steps(state.steps, shipments),
        shipments=_with_template_flags(shipments, state.shipments) or state.shipments,
        events=events,
        live=True,
    )


def stored_detail(
    row: OrderRow, shipments: list[ShipmentView], events: list[EventOut]
) -> OrderDetail:
    """The detail from the read model, when the workflow cannot answer."""
    summary = StoredSummary.read(row.summary)
    return OrderDetail(
        order_id=row.order_id,
        name=row.name,
        status=row.status,
        tags=list(row.tags),
        priority=row.priority,
        holds=summary.holds,
        lines=summary.lines,
        shipments=shipments,
        routing=summary.routing,
        payment=summary.payment or None,
        cancel_reason=summary.cancel_reason,
        steps=with_floor_steps(summary.steps, shipments),
        stuck=summary.stuck_info() if row.stuck else None,
        tags_version=summary.tags_version,
        events=events,
        live=False,
    )


def _with_template_flags(
    projected: list[ShipmentView], live: list[ShipmentView]
) -> list[ShipmentView]:
    """Projected shipments (fresh per move) with the template flags the order knows."""
    by_id = {v.shipment_id: v for v in live}
    out = []
    for view in projected:
        known = by_id.get(view.shipment_id)
        if known is not None:
            view = view.model_copy(
                update={
                    "packaging_check": known.packaging_check,
                    "packaging_checked": known.packaging_checked or view.packaging_checked,
                    "verify_at_pack": known.verify_at_pack,
                }
            )
        out.append(view)
    return out


def shipment_views(rows: list[ShipmentRow]) -> list[ShipmentView]:
    return [read.shipment_view(r) for r in rows]


def floor_refined(status: OrderStatus, shipments: list[ShipmentView]) -> OrderStatus:
    """The workflow's status, refined by its shipments' rows while they are on the floor
    (the order does not hear floor moves: domain/floor.py)."""
    if status not in FLOOR_STATUSES or not shipments:
        return status
    return floor_status_of(shipments)


async def with_floor(session: AsyncSession, order_id: str, status: OrderStatus) -> OrderStatus:
    """:func:`floor_refined`, reading the shipments' rows only when it matters."""
    if status not in FLOOR_STATUSES:
        return status
    return floor_refined(status, shipment_views(await read.shipments_of(session, order_id)))


async def order_in_scope(session: AsyncSession, who: Principal, order_id: str) -> OrderRow:
    """The order's row, for a caller who may act on it.

    Raises:
        Problem: 404 for no such order; 403 for staff of a warehouse it does not ship from.
    """
    row = await read.get_order(session, order_id)
    if row is None:
        raise Problem(404, f"no order {order_id}", reason=ProblemCode.NOT_FOUND)
    ensure_ships_from(who, row.warehouses)
    return row
