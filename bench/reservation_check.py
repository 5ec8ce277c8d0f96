"""The check after a reservation run: nothing oversold, every row accounted for, every
refusal rolled back (docs/decisions/0016-guarded-update-reservations.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text

from bench.reservation_clients import Outcome
from bench.reservation_ops import COUNTER_START, Key


@dataclass
class LevelCheck:
    key: Key
    on_hand: int
    reserved: int
    held: int  # sum(quantity) of its reservations in status 'reserved'
    rows: int  # reservation rows of any status
    outbox: int  # outbox rows
    attempts: int
    committed: int
    refused: int
    problems: list[str] = field(default_factory=list)

    @property
    def exhausted(self) -> bool:
        return self.on_hand - self.reserved == 0


_LEVELS = text(
    """
    SELECT l.sku, l.warehouse, l.on_hand, l.reserved,
           COALESCE((SELECT sum(r.quantity) FROM reservations r
                     WHERE r.sku = l.sku AND r.warehouse = l.warehouse
                       AND r.status = 'reserved'), 0) AS held,
           (SELECT count(*) FROM reservations r
             WHERE r.sku = l.sku AND r.warehouse = l.warehouse) AS n_rows,
           (SELECT count(*) FROM inventory_outbox o
             WHERE o.sku = l.sku AND o.warehouse = l.warehouse) AS outbox
    FROM inventory_levels l ORDER BY l.sku, l.warehouse
    """
)
_ORPHANS = text(
    "SELECT count(*) FROM reservations r WHERE NOT EXISTS (SELECT 1 FROM inventory_levels l"
    " WHERE l.sku = r.sku AND l.warehouse = r.warehouse)"
)


async def check(
    url: str,
    by_sku: dict[str, Outcome],
    exact: set[str],
    counters: dict[str, int],
    slots: dict[str, int],
) -> tuple[list[LevelCheck], list[str]]:
    """Every level against what the clients saw; every counter row against its updates;
    every warehouse's capacity slots against what the plans may take (``slots``).

    ``by_sku``: the outcome whose transactions touched each SKU; ``exact``: SKUs whose
    committed count must equal min(attempts, on_hand); ``counters``: updates per row;
    ``slots``: committed ``reserve_plan`` transactions per warehouse.
    """
    from store.db import create_engine, sessionmaker

    engine = create_engine(url, pool_size=1)
    try:
        async with sessionmaker(engine)() as session:
            rows = (await session.execute(_LEVELS)).all()
            qty = {
                r[0]: int(r[1])
                for r in await session.execute(text("SELECT id, qty FROM bench_counter"))
            }
            orphans = int(await session.scalar(_ORPHANS) or 0)
            taken = {
                r[0]: int(r[1])
                for r in await session.execute(
                    text("SELECT warehouse, sum(shipments) FROM warehouse_daily_load GROUP BY 1")
                )
            }
    finally:
        await engine.dispose()
    levels: list[LevelCheck] = []
    for sku, wh, on_hand, reserved, held, n_rows, outbox in rows:
        key = (sku, wh)
        src = by_sku.get(sku, Outcome())
        lv = LevelCheck(
            key, on_hand, reserved, int(held), int(n_rows), int(outbox),
            src.attempts[key], src.committed[key], src.refused[key],
        )  # fmt: skip
        if on_hand < 0 or reserved < 0:
            lv.problems.append(f"negative level on_hand={on_hand} reserved={reserved}")
        if reserved > on_hand:
            lv.problems.append(f"OVERSOLD: reserved {reserved} > on_hand {on_hand}")
        if lv.held != reserved:
            lv.problems.append(f"reserved column {reserved} != sum of reservation rows {lv.held}")
        if reserved != lv.committed:
            lv.problems.append(f"reserved {reserved} != {lv.committed} committed by clients")
        if lv.rows != lv.committed:
            lv.problems.append(f"{lv.rows} reservation rows for {lv.committed} committed")
        if lv.outbox != 1 + lv.committed:  # the stocking adjustment + one per reservation
            lv.problems.append(f"{lv.outbox} outbox rows, expected {1 + lv.committed}")
        if sku in exact and lv.committed != min(lv.attempts, on_hand):
            lv.problems.append(
                f"committed {lv.committed} != min(attempts {lv.attempts}, on_hand {on_hand})"
            )
        levels.append(lv)
    problems = [f"{lv.key[0]}@{lv.key[1]}: {p}" for lv in levels for p in lv.problems]
    if orphans:
        problems.append(f"{orphans} reservation rows without a level")
    for cid, left in sorted(qty.items()):
        if COUNTER_START - left != counters.get(cid, 0):
            problems.append(
                f"bench_counter {cid}: down by {COUNTER_START - left}, "
                f"clients counted {counters.get(cid, 0)}"
            )
    for wh in sorted(set(taken) | set(slots)):
        if taken.get(wh, 0) != slots.get(wh, 0):
            problems.append(
                f"warehouse_daily_load {wh}: {taken.get(wh, 0)} slots taken, "
                f"{slots.get(wh, 0)} plans committed"
            )
    return levels, problems
