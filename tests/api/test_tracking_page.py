"""``GET /track/{token}``: the customer's page shows its order's parcels and timeline
(customer-safe events only), nothing of any other order, and a 404 page for any token
that is not an order's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.pages.track import TOKEN_FILTER
from store.tables import CarrierEvent, OrderEventRow, ShipmentRow
from store.tracking import ensure_tracking_token, new_token
from tests.api.dashboard_helpers import insert_orders, order_row


async def tracked_order(
    sessions: async_sessionmaker[AsyncSession], tag: str
) -> tuple[str, str, str, str]:
    """An order with one shipped parcel, events and carrier events; (order_id, name,
    tracking number, token)."""
    (row,) = [order_row(tag, status="shipped")]
    row.email = f"secret-{tag}@example.com"
    (order_id,) = await insert_orders(sessions, [row])
    number = f"SBX{uuid.uuid4().hex[:10].upper()}"
    t0 = datetime.now(UTC) - timedelta(days=1)
    async with sessions.begin() as s:
        s.add(
            ShipmentRow(
                shipment_id=f"{order_id}-1",
                order_id=order_id,
                version=3,
                warehouse="WH-X",
                status="in_transit",
                priority=0,
                lines=[{"sku": "SKU-A", "quantity": 2, "picked": 2}],
                carrier="sandbox",
                tracking_number=number,
                tracking_url=f"https://track.sandbox-carrier.test/{number}",
                updated_at=t0,
            )
        )
        s.add(
            ShipmentRow(  # moved away before picking: not the customer's news
                shipment_id=f"{order_id}-0",
                order_id=order_id,
                version=2,
                warehouse="WH-GONE",
                status="cancelled",
                priority=0,
                lines=[{"sku": "SKU-A", "quantity": 2, "picked": 0}],
                updated_at=t0,
            )
        )
        events = [
            ("received", {}),
            ("hold_placed", {"reason": "HIGH_RISK_OF_FRAUD", "note": f"risky-{tag}"}),
            ("payment_confirmed", {}),
            ("shipped", {"shipment_id": f"{order_id}-1"}),
            ("shipment_cancelled", {"shipment_id": f"{order_id}-0", "reason": "moved"}),
        ]
        for i, (kind, detail) in enumerate(events):
            s.add(
                OrderEventRow(
                    order_id=order_id,
                    event_key=f"e{i}",
                    at=t0 + timedelta(minutes=i),
                    type=kind,
                    detail=detail,
                )
            )
        s.add(
            CarrierEvent(
                carrier="sandbox",
                tracking_number=number,
                shipment_id=f"{order_id}-1",
                status="in_transit",
                occurred_at=t0 + timedelta(hours=3),
                detail=f"Arrived at hub {tag}",
            )
        )
        token = await ensure_tracking_token(s, order_id)
    return order_id, row.name, number, token


@pytest.fixture
async def two_orders(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[tuple[str, str, str, str], tuple[str, str, str, str]]:
    tag = uuid.uuid4().hex[:6]
    return await tracked_order(sessions, f"tka{tag}"), await tracked_order(sessions, f"tkb{tag}")


async def test_the_page_shows_its_order_parcels_and_timeline(
    http: httpx.AsyncClient, two_orders: tuple[tuple[str, str, str, str], ...]
) -> None:
    (order_id, name, number, token), _ = two_orders
    r = await http.get(f"/track/{token}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"
    page = r.text
    assert name in page
    assert number in page
    assert f'href="https://track.sandbox-carrier.test/{number}"' in page
    assert "In transit" in page
    for line in ("Order received", "Payment confirmed", "Handed to the carrier"):
        assert line in page
    assert "Arrived at hub" in page
    # Internal matters stay internal; the cancelled parcel of a move is not shown.
    assert "risky-" not in page and "HIGH_RISK" not in page
    assert "Parcel cancelled" not in page and "WH-GONE" not in page
    assert "Parcel 2" not in page
    assert "secret-" not in page and "@example.com" not in page
    assert "Sign out" not in page  # no staff chrome


async def test_nothing_of_another_order_is_on_the_page(
    http: httpx.AsyncClient, two_orders: tuple[tuple[str, str, str, str], ...]
) -> None:
    (_, name_a, number_a, token_a), (order_b, name_b, number_b, token_b) = two_orders
    page_a = (await http.get(f"/track/{token_a}")).text
    page_b = (await http.get(f"/track/{token_b}")).text
    assert name_b not in page_a and number_b not in page_a and order_b not in page_a
    assert name_a not in page_b and number_a not in page_b
    assert token_b not in page_a


@pytest.mark.parametrize(
    "token",
    [
        new_token(),  # well-formed, nobody's
        "short",
        "x" * 200,
        "%2e%2e",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*",
    ],
)
async def test_a_token_that_is_not_an_orders_is_a_404_page(
    http: httpx.AsyncClient, token: str
) -> None:
    r = await http.get(f"/track/{token}", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "could not find this order" in r.text


async def test_tokens_are_one_per_order_and_unguessable(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    order_id = f"tk-{uuid.uuid4().hex[:8]}"
    async with sessions.begin() as s:
        first = await ensure_tracking_token(s, order_id)
        again = await ensure_tracking_token(s, order_id)
        other = await ensure_tracking_token(s, f"{order_id}-other")
    assert first == again and first != other
    assert len(first) == 32  # 24 random bytes


def test_the_access_log_never_shows_a_token() -> None:
    import logging

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/track/AbCdEfGhIjKlMnOpQrStUvWxYz012345?x=1", "1.1", 200),
        None,
    )
    assert TOKEN_FILTER.filter(record)
    line = record.getMessage()
    assert "AbCdEfGh" not in line and "/track/…" in line
