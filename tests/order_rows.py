"""Order list rows written straight to the projection table, and cursors no API hands out:
for the list and counts tests (store and API)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from store.tables import OrderRow

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

#: Garbage no cursor this API hands out looks like, each refused with ``BadCursor``.
BAD_CURSORS = [
    "not-a-cursor",
    "!!!",
    base64.urlsafe_b64encode(b"{}").decode(),
    base64.urlsafe_b64encode(b"[1, 2]").decode(),
    base64.urlsafe_b64encode(b'["yesterday", "o-1"]').decode(),
    base64.urlsafe_b64encode(b'["2026-03-01T12:00:00+00:00"]').decode(),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
]


def order_row(order_id: str, minute: int, **extra: Any) -> OrderRow:
    """An order list row created ``minute`` minutes after ``T0``."""
    at = T0 + timedelta(minutes=minute)
    values: dict[str, Any] = {
        "order_id": order_id,
        "version": 1,
        "name": f"#{order_id}",
        "channel": "web",
        "external_id": order_id,
        "email": f"{order_id}@example.com",
        "status": "ready_to_pick",
        "tags": [],
        "priority": 0,
        "warehouses": [],
        "total": Decimal("10.00"),
        "currency": "USD",
        "stuck": False,
        "summary": {},
        "created_at": at,
        "updated_at": at,
    }
    values.update(extra)
    return OrderRow(**values)


def newest_first(rows: list[OrderRow]) -> list[str]:
    return [r.order_id for r in sorted(rows, key=lambda r: (r.created_at, r.order_id))][::-1]
