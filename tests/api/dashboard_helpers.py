"""Read-model rows written straight into ``orders``/``shipments`` (no workflow), for tests
of the list, filters, counts, export and stream that need many or particular orders."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.tables import OrderRow, ShipmentRow


def order_row(
    tag: str,
    *,
    n: int = 0,
    status: str = "ready_to_pick",
    priority: int = 0,
    warehouse: str = "WH-X",
    skus: tuple[str, ...] = ("SKU-A",),
    channel: str = "web",
    stuck: bool = False,
    created: datetime | None = None,
) -> OrderRow:
    oid = f"t-{tag}-{n}-{uuid.uuid4().hex[:6]}"
    at = created or datetime.now(UTC) - timedelta(minutes=n)
    return OrderRow(
        order_id=oid,
        version=1,
        name=f"#{tag}-{n}",
        channel=channel,
        external_id=oid,
        email=f"buyer{n}@{tag}.example",
        status=status,
        tags=[tag],
        priority=priority,
        warehouses=[warehouse],
        total=Decimal("12.50"),
        currency="USD",
        stuck=stuck,
        summary={
            "lines": [{"sku": s, "quantity": 1, "unit_price": "12.50"} for s in skus],
            "holds": [],
            "stuck_reason": "pick: SLA passed" if stuck else None,
            "stuck_since": at.isoformat() if stuck else None,
        },
        created_at=at,
        updated_at=at,
    )


async def insert_orders(
    sessions: async_sessionmaker[AsyncSession], rows: list[OrderRow]
) -> list[str]:
    async with sessions.begin() as s:
        s.add_all(rows)
    return [r.order_id for r in rows]


async def add_shipment(
    sessions: async_sessionmaker[AsyncSession],
    order_id: str,
    warehouse: str,
    tracking: str | None = None,
    picked: int = 0,
) -> str:
    sid = f"{order_id}-1"
    async with sessions.begin() as s:
        s.add(
            ShipmentRow(
                shipment_id=sid,
                order_id=order_id,
                version=1,
                warehouse=warehouse,
                status="open",
                priority=0,
                lines=[{"sku": "SKU-A", "quantity": 2, "picked": picked}],
                carrier="sandbox" if tracking else None,
                tracking_number=tracking,
                updated_at=datetime.now(UTC),
            )
        )
    return sid


@contextlib.asynccontextmanager
async def sign_in(
    http: httpx.AsyncClient, key_header: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same app holding a dashboard session for ``key_header``'s key."""
    key = key_header["Authorization"].removeprefix("Bearer ")
    transport = httpx.ASGITransport(app=http._transport.app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url=str(http.base_url)) as browser:
        token = await login_token(browser)
        r = await browser.post("/login", data={"key": key, "next": "/", "login_token": token})
        assert r.status_code == 303, r.text
        yield browser


async def login_token(client: httpx.AsyncClient) -> str:
    """Open the sign-in form (its cookie lands in ``client``) and return its token."""
    html = (await client.get("/login")).text
    marker = 'name="login_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def csrf_of(html: str) -> str:
    marker = 'name="csrf-token" content="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def ids_in(page: dict[str, Any]) -> list[str]:
    return [i["order_id"] for i in page["items"]]
