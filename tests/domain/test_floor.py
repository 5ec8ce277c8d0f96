"""The floor's part of an order's state (domain/floor.py), and its SQL twin in the read
model's trigger (migration 0006): the same rule in both places, checked case by case."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import product

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.floor import floor_status, with_floor_steps
from domain.models import ShipmentLine, ShipmentView, StepView
from domain.status import OrderStatus, ShipmentStatus

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
S = ShipmentStatus

#: (shipments as (status, [(quantity, picked)]), expected order floor status)
CASES = [
    ([], OrderStatus.READY_TO_PICK),
    ([(S.OPEN, [(2, 0)])], OrderStatus.READY_TO_PICK),
    ([(S.PICKING, [(2, 0)])], OrderStatus.PICKING),
    ([(S.OPEN, [(2, 1)])], OrderStatus.PICKING),
    ([(S.PICKING, [(2, 2), (1, 0)])], OrderStatus.PICKING),
    ([(S.PICKING, [(2, 2), (1, 1)])], OrderStatus.PACKING),
    ([(S.PICKING, [(2, 2)]), (S.OPEN, [(1, 0)])], OrderStatus.PICKING),
    ([(S.SHIPPED, [(2, 2)]), (S.OPEN, [(1, 0)])], OrderStatus.PICKING),
    ([(S.SHIPPED, [(2, 2)]), (S.PICKING, [(1, 1)])], OrderStatus.PACKING),
    ([(S.CANCELLED, [(2, 1)]), (S.OPEN, [(1, 0)])], OrderStatus.READY_TO_PICK),
    ([(S.CANCELLED, [(2, 2)])], OrderStatus.READY_TO_PICK),
    ([(S.PACKED, [(2, 0)])], OrderStatus.PACKING),
]


@pytest.mark.parametrize(("shipments", "expected"), CASES)
def test_floor_status(shipments: list, expected: OrderStatus) -> None:
    assert floor_status(shipments) == expected


async def test_the_read_model_rolls_up_the_same_way(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Every case, plus every pair of one-line shipments in every state: the SQL function
    the triggers use answers what the Python rule answers."""
    pairs = [
        [(a, [(2, pa)]), (b, [(1, pb)])]
        for a, b, pa, pb in product(list(S), list(S), (0, 1, 2), (0, 1))
    ]
    async with sessions() as s:
        for i, (shipments, expected) in enumerate([*CASES, *((p, floor_status(p)) for p in pairs)]):
            order_id = f"floor-rule-{i}"
            for n, (status, lines) in enumerate(shipments):
                await s.execute(
                    text(
                        "INSERT INTO shipments (shipment_id, order_id, version, warehouse,"
                        " status, priority, lines, updated_at)"
                        " VALUES (:sid, :oid, 1, 'W', :status, 0, CAST(:lines AS jsonb), now())"
                    ),
                    {
                        "sid": f"{order_id}-{n}",
                        "oid": order_id,
                        "status": status.value,
                        "lines": json.dumps([{"quantity": q, "picked": p} for q, p in lines]),
                    },
                )
            got = await s.scalar(text("SELECT oms_floor_status(:oid)"), {"oid": order_id})
            assert got == expected.value, (shipments, got)
        await s.rollback()


def _steps(active: str) -> list[StepView]:
    names = ["verify", "pay", "allocate", "pick", "pack", "ship"]
    out = []
    for name in names:
        state = "done" if names.index(name) < names.index(active) else "pending"
        out.append(
            StepView(
                step=name,
                state="active" if name == active else state,
                sla_seconds=600,
                started_at=T0 if state == "done" or name == active else None,
                completed_at=T0 if state == "done" else None,
            )
        )
    return out


def _shipment(status: ShipmentStatus, **done: datetime) -> ShipmentView:
    return ShipmentView(
        shipment_id="s",
        warehouse="W",
        status=status,
        lines=[ShipmentLine(sku="A", quantity=1, picked=1)],
        steps_done=done,
    )


def test_floor_steps_done_in_the_rows_move_the_active_step() -> None:
    picked_at = T0 + timedelta(minutes=3)
    views = with_floor_steps(_steps("pick"), [_shipment(S.PICKING, pick=picked_at)])
    by = {v.step: v for v in views}
    assert by["pick"].state == "done" and by["pick"].completed_at == picked_at
    assert by["pack"].state == "active"
    assert by["pack"].started_at == picked_at
    assert by["pack"].due_at == picked_at + timedelta(seconds=600)
    assert by["ship"].state == "pending"


def test_floor_steps_wait_for_every_live_shipment() -> None:
    rows = [
        _shipment(S.PICKING, pick=T0),
        _shipment(S.OPEN).model_copy(update={"shipment_id": "t"}),
        _shipment(S.CANCELLED).model_copy(update={"shipment_id": "u"}),
    ]
    by = {v.step: v for v in with_floor_steps(_steps("pick"), rows)}
    assert by["pick"].state == "active"


def test_an_ended_order_keeps_its_steps() -> None:
    ended = [v.model_copy(update={"state": "pending"}) for v in _steps("pick")]
    assert with_floor_steps(ended, [_shipment(S.PICKING, pick=T0)]) == ended
