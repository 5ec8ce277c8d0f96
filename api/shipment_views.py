"""What the shipment routes answer, read from the shipment's row (and its label's)."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import ensure_warehouse
from api.problems import Problem
from api.schemas.shipments import PackOut, ShipmentDetail, ShipmentStuck
from domain.codes import ProblemCode
from domain.status import LabelStatus
from store import orders as read
from store.keys import Principal
from store.tables import ShipmentRow


async def shipment_in_scope(session: AsyncSession, shipment_id: str, who: Principal) -> ShipmentRow:
    """The shipment's row, for a caller who may act on it.

    Raises:
        Problem: 404 for no such shipment; 403 for staff of another warehouse.
    """
    row = await read.get_shipment(session, shipment_id)
    if row is None:
        raise Problem(404, f"no shipment {shipment_id}", reason=ProblemCode.NOT_FOUND)
    ensure_warehouse(who, row.warehouse)
    return row


async def detail_of(session: AsyncSession, row: ShipmentRow) -> ShipmentDetail:
    """The shipment as the floor sees it (the label's URL once it is bought)."""
    view = read.shipment_view(row)
    stuck = view.stuck
    return ShipmentDetail(
        shipment_id=row.shipment_id,
        order_id=row.order_id,
        warehouse=row.warehouse,
        status=view.status,
        priority=row.priority,
        lines=view.lines,
        tracking=view.tracking,
        label_status=view.label_status,
        label_url=await read.label_url_of(session, row.shipment_id) if view.tracking else None,
        label_attempts=row.label_attempts,
        label_error=row.label_error if view.label_status == LabelStatus.PENDING else None,
        stuck=ShipmentStuck(reason=stuck.reason, detail=stuck.detail, since=stuck.since)
        if stuck is not None and stuck.reason is not None
        else None,
        updated_at=row.updated_at,
    )


async def pack_answer(session: AsyncSession, row: ShipmentRow) -> PackOut:
    """A pack's answer from the shipment's row: its label, or ``pending`` and why."""
    detail = await detail_of(session, row)
    return PackOut(
        shipment_id=row.shipment_id,
        label_status=detail.label_status or LabelStatus.PENDING,
        tracking=detail.tracking,
        label_url=detail.label_url,
        label_error=detail.label_error,
    )


async def wait_for_label(
    session: AsyncSession, shipment_id: str, seconds: float
) -> ShipmentRow | None:
    """Re-read the shipment's row until its label is there, the carrier has failed an
    attempt (its retries take seconds to minutes: the packer moves on) or ``seconds``
    pass. The label's row is written by the stock commit that follows the purchase."""
    deadline = time.monotonic() + seconds
    pause = 0.05
    while True:
        await session.rollback()  # a fresh snapshot each read
        row = await read.get_shipment(session, shipment_id)
        if row is None or row.tracking_number or row.label_attempts > 0:
            return row
        left = deadline - time.monotonic()
        if left <= 0:
            return row
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 1.5, 0.5)
