"""The reservation bench's workload: which hot levels each client hits, in what order, and
the stock and baseline rows seeded for them."""

from __future__ import annotations

import random

from sqlalchemy import text

from bench.reservation_ops import COUNTER_START, Key, counter_id


def hot_keys(prefix: str, skus: int, warehouses: list[str]) -> list[Key]:
    return [(f"{prefix}-{i}", w) for i in range(skus) for w in warehouses]


def counted_plans(keys: list[Key], count: int, clients: int, seed: int) -> list[list[Key]]:
    """``count`` attempts, every level the same number (+-1), shuffled, dealt to clients."""
    sequence = [keys[i % len(keys)] for i in range(count)]
    random.Random(seed).shuffle(sequence)
    return [sequence[c::clients] for c in range(clients)]


def looping_plans(keys: list[Key], clients: int, seed: int) -> list[list[Key]]:
    rng = random.Random(seed)
    plans = []
    for _ in range(clients):
        plan = keys * 25
        rng.shuffle(plan)
        plans.append(plan)
    return plans


def split_plans(plans: list[list[Key]], rounds: int) -> list[list[list[Key]]]:
    """Each client's plan cut into ``rounds`` consecutive pieces: one plan list per round."""
    out: list[list[list[Key]]] = []
    for r in range(rounds):
        out.append(
            [plan[len(plan) * r // rounds : len(plan) * (r + 1) // rounds] for plan in plans]
        )
    return out


def rename(plans: list[list[Key]], mapping: dict[str, str]) -> list[list[Key]]:
    return [[(mapping[s], w) for s, w in plan] for plan in plans]


async def seed_static(url: str, warehouses: list[str], skus: list[str]) -> None:
    """Warehouses, products, the baseline's counter rows (one per level of every SKU)."""
    from store.db import create_engine, sessionmaker
    from store.tables import Product, Warehouse

    engine = create_engine(url, pool_size=1)
    try:
        async with sessionmaker(engine).begin() as session:
            for j, code in enumerate(warehouses):
                session.add(
                    Warehouse(
                        code=code,
                        name=f"Bench {code}",
                        country_code="US",
                        latitude=40.0 + j,
                        longitude=-100.0 + j,
                        priority=100,
                        active=True,
                    )
                )
            for sku in skus:
                session.add(Product(sku=sku, name=sku, weight_grams=100, tags=[]))
            await session.flush()
            await session.execute(
                text("CREATE TABLE bench_counter (id text PRIMARY KEY, qty bigint NOT NULL)")
            )
            await session.execute(
                text("INSERT INTO bench_counter (id, qty) VALUES (:id, :qty)"),
                [
                    {"id": counter_id((s, w)), "qty": COUNTER_START}
                    for s in skus
                    for w in warehouses
                ],
            )
    finally:
        await engine.dispose()


async def seed_stock(url: str, stock: dict[Key, int]) -> None:
    """Set on_hand through ``inventory.adjust`` (one outbox row per level)."""
    from store import inventory
    from store.db import create_engine, sessionmaker

    engine = create_engine(url, pool_size=1)
    try:
        async with sessionmaker(engine).begin() as session:
            for (sku, wh), qty in sorted(stock.items()):
                await inventory.adjust(
                    session, sku=sku, warehouse=wh, on_hand=qty, reason="bench stock"
                )
    finally:
        await engine.dispose()
