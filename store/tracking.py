"""The customer tracking page's data: an unguessable token per order, and what the page
shows for it — the order's name and status, its shipments, and a timeline of customer-safe
order events and carrier events. Nothing here reads by anything but the token's order.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.summary import OrderSummary
from store.tables import CarrierEvent, OrderEventRow, OrderRow, Product, ShipmentRow, TrackingToken

#: ``secrets.token_urlsafe(24)``: 32 characters, 192 random bits.
TOKEN_BYTES = 24
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")

#: Order events a customer may see, in their words. Everything else (holds, risk, stock,
#: staff actions, SLA alarms, tags) stays internal. Tracking moves come from
#: ``carrier_events`` instead (with the carrier's location and words).
CUSTOMER_EVENTS: dict[str, str] = {
    "received": "Order received",
    "payment_confirmed": "Payment confirmed",
    "payment_captured": "Payment confirmed",
    "label_purchased": "Shipping label created",
    "shipped": "Handed to the carrier",
    "shipment_cancelled": "Parcel cancelled",
    "cancelled": "Order cancelled",
    "delivered": "Delivered",
}

#: Carrier statuses in customer words.
CARRIER_WORDS: dict[str, str] = {
    "label_printed": "Label printed",
    "carrier_picked_up": "Picked up by the carrier",
    "confirmed": "Confirmed by the carrier",
    "in_transit": "In transit",
    "out_for_delivery": "Out for delivery",
    "attempted_delivery": "Delivery attempted",
    "delayed": "Delayed",
    "ready_for_pickup": "Ready for pickup",
    "delivered": "Delivered",
    "failure": "Delivery problem",
}


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


async def ensure_tracking_token(session: AsyncSession, order_id: str) -> str:
    """The order's token, created on first use (concurrent callers agree on one)."""
    inserted = await session.scalar(
        insert(TrackingToken)
        .values(order_id=order_id, token=new_token())
        .on_conflict_do_nothing(index_elements=["order_id"])
        .returning(TrackingToken.token)
    )
    if inserted is not None:
        return str(inserted)
    existing = await session.scalar(
        select(TrackingToken.token).where(TrackingToken.order_id == order_id)
    )
    assert existing is not None
    return str(existing)


async def order_for_token(session: AsyncSession, token: str) -> str | None:
    """The order a token opens, or None (malformed tokens are not even looked up)."""
    if not TOKEN_RE.match(token):
        return None
    found = await session.scalar(select(TrackingToken.order_id).where(TrackingToken.token == token))
    return str(found) if found else None


@dataclass(frozen=True)
class TrackedShipment:
    number: int
    status: str
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    items: int


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    what: str
    where: str | None = None
    detail: str | None = None
    parcel: int | None = None
    rank: int = 0


@dataclass
class TrackingView:
    order_name: str
    status: str
    lines: list[tuple[str, int]] = field(default_factory=list)
    shipments: list[TrackedShipment] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _place(value: Any) -> str | None:
    """A carrier event's location, as text: a string, or the parts of a structured one."""
    if isinstance(value, dict):
        parts = [value.get(k) for k in ("city", "region", "province", "state", "country")]
        return ", ".join(str(p) for p in parts if p) or None
    return _str(value)


async def tracking_view(session: AsyncSession, order_id: str) -> TrackingView | None:
    order = await session.get(OrderRow, order_id)
    if order is None:
        return None
    view = TrackingView(order_name=order.name, status=order.status)

    lines = OrderSummary.read(order.summary).lines
    skus = [ln.sku for ln in lines]
    names = dict(
        (
            await session.execute(select(Product.sku, Product.name).where(Product.sku.in_(skus)))
        ).all()
    )
    view.lines = [(str(names.get(ln.sku) or ln.sku or "item"), ln.quantity) for ln in lines]

    rows = (
        await session.scalars(
            select(ShipmentRow)
            .where(ShipmentRow.order_id == order_id)
            .order_by(ShipmentRow.created_at, ShipmentRow.shipment_id)
        )
    ).all()
    # A cancelled parcel (moved to another warehouse, or the order cancelled) is not news
    # to the customer unless the order itself is cancelled.
    shown = [r for r in rows if r.status != "cancelled" or order.status == "cancelled"]
    number = {r.shipment_id: i for i, r in enumerate(shown, start=1)}
    view.shipments = [
        TrackedShipment(
            number=number[r.shipment_id],
            status=r.status,
            carrier=r.carrier,
            tracking_number=r.tracking_number,
            tracking_url=r.tracking_url,
            items=sum(int(ln.get("quantity") or 0) for ln in r.lines or [] if isinstance(ln, dict)),
        )
        for r in shown
    ]

    events = (
        await session.scalars(
            select(OrderEventRow).where(
                OrderEventRow.order_id == order_id,
                OrderEventRow.type.in_(list(CUSTOMER_EVENTS)),
            )
        )
    ).all()
    for e in events:
        shipment = (e.detail or {}).get("shipment_id")
        if shipment is not None and shipment not in number:
            continue  # an event of a parcel the page does not show
        view.timeline.append(
            TimelineEntry(
                at=e.at,
                what=CUSTOMER_EVENTS[e.type],
                parcel=number.get(shipment) if shipment else None,
            )
        )
    if number:
        carrier_events = (
            await session.scalars(
                select(CarrierEvent).where(CarrierEvent.shipment_id.in_(list(number)))
            )
        ).all()
        for c in carrier_events:
            view.timeline.append(
                TimelineEntry(
                    at=c.occurred_at,
                    what=CARRIER_WORDS.get(c.status, c.status.replace("_", " ").capitalize()),
                    # ``location`` arrives with the carrier's events; read it when there.
                    where=_place(getattr(c, "location", None)),
                    detail=_str(c.detail),
                    parcel=number[c.shipment_id],
                    rank=1,
                )
            )
    # Newest first; at the same instant the carrier's news (rank 1) reads above ours.
    view.timeline.sort(key=lambda t: (t.at, t.rank), reverse=True)
    return view
