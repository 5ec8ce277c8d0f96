"""``python -m bench.reservations [--clients 64] [--processes P] [--count N | --duration S]``.

Reservation throughput on Postgres for a few hot SKUs, beside a plain single-row UPDATE on
the same database in the same run.

- real, try_reserve: one transaction per reservation of one unit, as ``activities/stock.py``
  made them until it routed with ``domain.routing``: ``async with sessions.begin()`` around
  ``store.inventory.try_reserve`` (the guarded ``UPDATE inventory_levels``, the
  ``inventory_outbox`` row ``note_change`` adds and the ``reservations`` row); a False
  answer raises inside the block, so it rolls back.
- real, reserve_plan: what ``allocate_stock`` commits now (``StockActivities._reserve``):
  ``store.allocation.reserve_plan`` for a one-shipment plan (the same three rows plus the
  warehouse's capacity slot in ``warehouse_daily_load``) and ``resolve_backorder``, on SKUs
  of its own with the same stock and plans.
- bare: ``UPDATE bench_counter SET qty = qty - 1 WHERE id = :id``, one transaction each,
  through the same engine settings (``store.db.create_engine``), the same session factory
  and the same clients, on one row per (SKU, warehouse) level, so every side contends on
  the same number of hot rows, visited in the same order.

The C clients are asyncio tasks spread over P processes (default: one per CPU), each
process with its own engine (pool = its clients), for every side alike. The sides take
turns in R rounds (bare, try_reserve, reserve_plan, bare, ...), each round a share of every
client's plan, so load from elsewhere on the machine hits all of them. Hot SKUs are stocked
so that, with ``--count``, the first SKU runs out at 90 % of its attempts, the second
exactly at its last one and the rest never. Afterwards every level is checked: reserved <=
on_hand, nothing negative, the ``reserved`` column equals the sum of its 'reserved'
reservation rows, one reservation row and one outbox row per committed reservation and none
for a refusal, committed = min(attempts, on_hand); each baseline row went down by exactly
its updates; no warehouse (none has a daily capacity) has a capacity slot taken.

``--variants`` adds diagnostic phases to every round, on their own SKUs with plenty of
stock: try_reserve's rows written by bench-only SQL (Core instead of the ORM; the inserts
before the guarded UPDATE; one statement), to show where the real path's time goes. They
are not the product's path and take no part in the verdict.

Runs on a scratch database (see ``bench/scratch.py``) that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.procstat import self_cpu, system_busy
from bench.report import ms, percentile
from bench.scratch import (
    BackendCpu,
    all_processes,
    code_version,
    command_line,
    machine_line,
    md_table,
    others,
    redact,
    scratch_database,
    server_info,
    server_url,
    text_table,
)
from bench.stack import log, show_and_record

#: reservations/s over updates/s must reach this.
RATIO_TARGET = 0.5
#: on_hand of hot SKU #i as a share of the attempts its level gets (cycled over the SKUs).
STOCK_FACTORS = (0.9, 1.0, 2.0)
#: Warm-up transactions per client and side (on their own rows, not measured).
WARMUP_PER_CLIENT = 20
#: Beyond this many hot levels the stock table is summed per SKU.
MAX_LEVEL_ROWS = 24
WARM_SKU = "BENCH-WARM"
START_DELAY = 0.5
PLENTY = 10**7
COUNTER_START = 10**9

Key = tuple[str, str]  # (sku, warehouse)
Op = Callable[[async_sessionmaker[AsyncSession], Key, str], Awaitable[bool]]


def counter_id(key: Key) -> str:
    return f"{key[0]}@{key[1]}"


# --- the operations ----------------------------------------------------------------------


class _Refused(Exception):
    """No stock: leave the block by raising, so the transaction rolls back."""


async def reserve_one(sessions: async_sessionmaker[AsyncSession], key: Key, order_id: str) -> bool:
    """The real path, shaped like ``StockActivities._reserve_at``."""
    from store import inventory

    sku, warehouse = key
    try:
        async with sessions.begin() as session:
            if not await inventory.try_reserve(
                session,
                order_id=order_id,
                shipment_id=f"{order_id}-1",
                warehouse=warehouse,
                quantities={sku: 1},
            ):
                raise _Refused()
    except _Refused:
        return False
    return True


async def reserve_plan_one(
    sessions: async_sessionmaker[AsyncSession], key: Key, order_id: str
) -> bool:
    """What ``allocate_stock`` commits since it routes with ``domain.routing``
    (``StockActivities._reserve``): ``store.allocation.reserve_plan`` for a one-shipment
    plan (guarded UPDATE, outbox row, reservation row, the warehouse's capacity slot for
    the day) and ``resolve_backorder``, in one transaction; a False answer rolls back."""
    from store import allocation, inventory

    sku, warehouse = key
    planned = [
        allocation.PlannedReservation(
            f"{order_id}-1", warehouse, {sku: 1}, capacity=None, timezone="UTC"
        )
    ]
    try:
        async with sessions.begin() as session:
            if not await allocation.reserve_plan(
                session, order_id=order_id, shipments=planned, now=datetime.now(UTC)
            ):
                raise _Refused()
            await inventory.resolve_backorder(session, order_id)
    except _Refused:
        return False
    return True


_DECREMENT = text("UPDATE bench_counter SET qty = qty - 1 WHERE id = :id")


async def decrement_one(sessions: async_sessionmaker[AsyncSession], key: Key, _: str) -> bool:
    async with sessions.begin() as session:
        result = await session.execute(_DECREMENT, {"id": counter_id(key)})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise RuntimeError(f"bench_counter row {counter_id(key)} missing")
    return True


# Diagnostic variants: the rows try_reserve writes, written by bench-only SQL.
_GUARDED = text(
    "UPDATE inventory_levels SET reserved = reserved + 1, updated_at = now()"
    " WHERE sku = :sku AND warehouse = :wh AND on_hand - reserved >= 1"
)
_OUTBOX = text("INSERT INTO inventory_outbox (sku, warehouse) VALUES (:sku, :wh)")
_RESERVATION = text(
    "INSERT INTO reservations (order_id, shipment_id, sku, warehouse, quantity, status)"
    " VALUES (:o, :s, :sku, :wh, 1, 'reserved')"
)
_ONE_STATEMENT = text(
    """
    WITH taken AS (
        UPDATE inventory_levels SET reserved = reserved + 1, updated_at = now()
        WHERE sku = :sku AND warehouse = :wh AND on_hand - reserved >= 1
        RETURNING sku, warehouse
    ), noted AS (
        INSERT INTO inventory_outbox (sku, warehouse) SELECT sku, warehouse FROM taken
    )
    INSERT INTO reservations (order_id, shipment_id, sku, warehouse, quantity, status)
    SELECT :o, :s, sku, warehouse, 1, 'reserved' FROM taken
    """
)


async def core_same_order(
    sessions: async_sessionmaker[AsyncSession], key: Key, order_id: str
) -> bool:
    """try_reserve's three statements in its order, through Core instead of the ORM."""
    p = {"sku": key[0], "wh": key[1], "o": order_id, "s": f"{order_id}-1"}
    try:
        async with sessions.begin() as session:
            if (await session.execute(_GUARDED, p)).rowcount != 1:  # type: ignore[attr-defined]
                raise _Refused()
            await session.execute(_OUTBOX, p)
            await session.execute(_RESERVATION, p)
    except _Refused:
        return False
    return True


async def core_update_last(
    sessions: async_sessionmaker[AsyncSession], key: Key, order_id: str
) -> bool:
    """The inserts first, the guarded UPDATE last: the hot row is locked only from the
    UPDATE to the COMMIT, as in the baseline."""
    p = {"sku": key[0], "wh": key[1], "o": order_id, "s": f"{order_id}-1"}
    try:
        async with sessions.begin() as session:
            await session.execute(_OUTBOX, p)
            await session.execute(_RESERVATION, p)
            if (await session.execute(_GUARDED, p)).rowcount != 1:  # type: ignore[attr-defined]
                raise _Refused()
    except _Refused:
        return False
    return True


async def one_statement(
    sessions: async_sessionmaker[AsyncSession], key: Key, order_id: str
) -> bool:
    """The guarded UPDATE and both inserts as one statement (one round trip)."""
    p = {"sku": key[0], "wh": key[1], "o": order_id, "s": f"{order_id}-1"}
    async with sessions.begin() as session:
        result = await session.execute(_ONE_STATEMENT, p)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


OPS: dict[str, Op] = {
    "bare": decrement_one,
    "real": reserve_one,
    "plan": reserve_plan_one,
    "core-3-statements": core_same_order,
    "core-update-last": core_update_last,
    "one-statement": one_statement,
}
VARIANTS = ("core-3-statements", "core-update-last", "one-statement")
VARIANT_WORDS = {
    "core-3-statements": "try_reserve's 3 statements in its order, Core instead of ORM",
    "core-update-last": "Core, both INSERTs first, guarded UPDATE last",
    "one-statement": "one CTE statement: guarded UPDATE + both INSERTs",
}


# --- one client process ------------------------------------------------------------------


@dataclass
class Job:
    op: str  # a key of OPS
    start_at: float  # time.monotonic(), shared by every process on Linux
    deadline: float | None  # --duration; None: each client runs its plan once
    plans: list[list[Key]]  # one per client of this process
    tag: str  # order-id prefix, unique per job


@dataclass
class Outcome:
    attempts: Counter[Key] = field(default_factory=Counter)
    committed: Counter[Key] = field(default_factory=Counter)
    refused: Counter[Key] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu: float = 0.0
    #: CPU seconds of the busiest client process
    peak_cpu: float = 0.0
    elapsed: float = 0.0

    def merge(self, other: Outcome) -> None:
        self.attempts.update(other.attempts)
        self.committed.update(other.committed)
        self.refused.update(other.refused)
        self.latencies += other.latencies
        self.errors += other.errors
        self.cpu += other.cpu
        self.peak_cpu = max(self.peak_cpu, other.peak_cpu)
        self.elapsed += other.elapsed


async def run_job(sessions: async_sessionmaker[AsyncSession], job: Job, index: int) -> Outcome:
    out = Outcome()
    op = OPS[job.op]
    delay = job.start_at - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    cpu0 = self_cpu()

    async def client(c: int, plan: list[Key]) -> None:
        i = 0
        while True:
            if job.deadline is None:
                if i >= len(plan):
                    return
            elif time.monotonic() >= job.deadline:
                return
            key = plan[i % len(plan)]
            i += 1
            t = time.perf_counter()
            try:
                ok = await op(sessions, key, f"{job.tag}-{index}-{c}-{i}")
            except Exception as exc:
                out.errors.append(f"{job.op} {key}: {type(exc).__name__}: {exc}"[:300])
                continue
            out.latencies.append(time.perf_counter() - t)
            out.attempts[key] += 1
            (out.committed if ok else out.refused)[key] += 1

    await asyncio.gather(*(client(c, plan) for c, plan in enumerate(job.plans)))
    out.elapsed = time.monotonic()  # the end; ClientPool turns it into a duration
    out.cpu = self_cpu() - cpu0
    return out


async def _serve(conn: Connection, url: str, index: int, pool: int) -> None:
    from store.db import create_engine, sessionmaker

    engine = create_engine(url, pool_size=pool)
    sessions = sessionmaker(engine)
    try:
        while True:
            job = conn.recv()
            if job is None:
                return
            conn.send(await run_job(sessions, job, index))
    finally:
        await engine.dispose()


def _client_process(conn: Connection, url: str, index: int, pool: int) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(conn, url, index, pool))


class ClientPool:
    """P processes; client c lives in process c % P and keeps its connection across jobs."""

    def __init__(self, url: str, processes: int, clients: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conns: list[Connection] = []
        self.procs: list[multiprocessing.process.BaseProcess] = []
        for p in range(processes):
            mine = len(range(p, clients, processes))
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=_client_process, args=(child, url, p, max(1, mine)), daemon=True
            )
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)

    def run(self, op: str, plans: list[list[Key]], duration: float | None, tag: str) -> Outcome:
        """Every client runs its plan (or loops it for ``duration``) from one common start.
        ``elapsed`` is from that start to the last client's end."""
        p = len(self.procs)
        start_at = time.monotonic() + START_DELAY
        deadline = start_at + duration if duration is not None else None
        for i, conn in enumerate(self.conns):
            conn.send(Job(op, start_at, deadline, plans[i::p], tag))
        merged = Outcome()
        ended = start_at
        for conn in self.conns:
            o: Outcome = conn.recv()
            ended = max(ended, o.elapsed)
            o.elapsed = 0.0
            o.peak_cpu = o.cpu
            merged.merge(o)
        merged.elapsed = ended - start_at
        return merged

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid is not None]

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send(None)
        for proc in self.procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)


# --- workload shape and seeding ----------------------------------------------------------


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


# --- the check afterwards ----------------------------------------------------------------


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


# --- report ------------------------------------------------------------------------------


@dataclass
class Side:
    name: str
    outcome: Outcome = field(default_factory=Outcome)
    client_cpu: float = 0.0
    pg_cpu: float | None = 0.0
    busy: float = 0.0
    #: wall-clock seconds over which ``busy`` was sampled (a little more than elapsed)
    wall: float = 0.0
    #: the busiest client process's CPU over the round's elapsed time, worst round
    peak_cores: float = 0.0
    #: (elapsed, committed) of each round
    rounds: list[tuple[float, int]] = field(default_factory=list)
    #: CPU seconds of the busiest processes that are not this bench's, by command name
    others: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def add(
        self,
        o: Outcome,
        pg: float | None,
        busy: tuple[float, float],
        others: list[tuple[str, float]],
    ) -> None:
        self.outcome.merge(o)
        for name, seconds in others:
            self.others[name] = self.others.get(name, 0.0) + seconds
        self.client_cpu += o.cpu
        self.pg_cpu = None if pg is None or self.pg_cpu is None else self.pg_cpu + pg
        self.busy += busy[0]
        self.wall += busy[1]
        if o.elapsed > 0:
            self.peak_cores = max(self.peak_cores, o.peak_cpu / o.elapsed)
        self.rounds.append((o.elapsed, sum(o.committed.values())))
        self.failures += o.errors

    @property
    def elapsed(self) -> float:
        return self.outcome.elapsed

    @property
    def committed(self) -> int:
        return sum(self.outcome.committed.values())

    @property
    def attempts(self) -> int:
        return sum(self.outcome.attempts.values())

    @property
    def refused(self) -> int:
        return sum(self.outcome.refused.values())

    def rate(self, n: int | None = None) -> float:
        n = self.committed if n is None else n
        return n / self.elapsed if self.elapsed > 0 else 0.0

    def p(self, q: float) -> float:
        return percentile(self.outcome.latencies, q)


def _cores(seconds: float | None, side: Side) -> str:
    if seconds is None:
        return "n/a"
    n = side.committed or 1
    cores = seconds / side.elapsed if side.elapsed else 0.0
    return f"{seconds:.1f} s = {cores:.2f} cores ({seconds / n * 1000:.2f} ms/tx)"


HOT_PREFIXES = ("BENCH-HOT-", "BENCH-PLAN-")


@dataclass
class ReservationReport:
    command: str
    started_at: str
    machine: str
    settings: dict[str, str]
    real: Side  # try_reserve
    plan: Side  # reserve_plan, allocate_stock's reservation transaction
    bare: Side
    levels: list[LevelCheck]
    nproc: int
    idle_busy: float  # share of the machine busy before the run (others' load)
    variants: list[Side] = field(default_factory=list)

    def ratio(self, side: Side) -> float:
        b = self.bare.rate()
        return side.rate() / b if b else math.nan

    @property
    def failures(self) -> list[str]:
        return self.real.failures + self.bare.failures  # measure() files plan's under real

    def verdict(self, side: Side) -> str:
        met = "met" if self.ratio(side) >= RATIO_TARGET else "MISSED"
        per_round = ", ".join(
            f"{(rc / re) / (bc / be):.2f}" if re and be and bc else "n/a"
            for (re, rc), (be, bc) in zip(side.rounds, self.bare.rounds, strict=False)
        )
        return (
            f"{side.name}: ratio {self.ratio(side):.2f} (target >= {RATIO_TARGET}: {met}); "
            f"per round {per_round}"
        )

    def oversell_verdict(self) -> str:
        hot = [lv for lv in self.levels if lv.key[0].startswith(HOT_PREFIXES)]
        oversold = [lv for lv in self.levels if lv.reserved > lv.on_hand]
        exhausted = sum(lv.exhausted for lv in hot)
        refused = self.real.refused + self.plan.refused
        ok = "zero oversell" if not oversold else f"OVERSOLD at {len(oversold)} levels"
        clean = "every check passed" if not self.failures else "CHECK FAILED"
        return (
            f"{ok}; {exhausted}/{len(hot)} hot levels exhausted; "
            f"{refused} refusals rolled back; {clean}"
        )

    def _busy(self, side: Side) -> str:
        share = side.busy / (side.wall * self.nproc) * 100 if side.wall else 0.0
        other = max(0.0, side.busy - side.client_cpu - (side.pg_cpu or 0.0))
        busiest = sorted(side.others.items(), key=lambda kv: -kv[1])[:3]
        top = ", ".join(f"{n} {s:.1f} s" for n, s in busiest)
        return (
            f"{share:.0f} % of {self.nproc} CPUs; {other:.1f} s not this bench's clients or "
            f"backends" + (f" (busiest: {top})" if top else "")
        )

    def rows(self) -> list[tuple[str, ...]]:
        cols = (self.real, self.plan, self.bare)
        units = ("reservations/s", "reservations/s", "updates/s")

        def each(cell: Callable[[Side], str]) -> tuple[str, ...]:
            return tuple(cell(side) for side in cols)

        return [
            (
                "committed transactions/s",
                *(f"{side.rate():.0f} {u}" for side, u in zip(cols, units, strict=True)),
                self.verdict(self.real) + "; " + self.verdict(self.plan),
            ),
            ("attempts/s (refusals included)", *each(lambda s: f"{s.rate(s.attempts):.0f}"), ""),
            ("transaction p50 (ms)", *each(lambda s: ms(s.p(50))), "client-side, incl. pool"),
            ("transaction p99 (ms)", *each(lambda s: ms(s.p(99))), ""),
            ("transaction max (ms)", *each(lambda s: ms(s.p(100))), ""),
            (
                "attempts / committed / refused / errors",
                *each(
                    lambda s: (
                        f"{s.attempts} / {s.committed} / {s.refused} / {len(s.outcome.errors)}"
                    )
                ),
                self.oversell_verdict(),
            ),
            ("elapsed (s)", *each(lambda s: f"{s.elapsed:.1f}"), ""),
            ("client processes CPU", *each(lambda s: _cores(s.client_cpu, s)), ""),
            (
                "busiest client process (worst round)",
                *each(lambda s: f"{s.peak_cores:.2f} cores"),
                "1.00 = that process was CPU-bound",
            ),
            (
                "postgres CPU (this database's backends + WAL writer)",
                *each(lambda s: _cores(s.pg_cpu, s)),
                "",
            ),
            (
                "machine busy",
                *each(self._busy),
                f"before the run: {self.idle_busy:.0f} % busy",
            ),
        ]

    def variant_rows(self) -> list[tuple[str, ...]]:
        b = self.bare.rate()
        out: list[tuple[str, ...]] = []
        for v in self.variants:
            out.append(
                (
                    v.name,
                    VARIANT_WORDS[v.name],
                    f"{v.rate():.0f}",
                    f"{v.rate() / b:.2f}" if b else "n/a",
                    f"{ms(v.p(50))} / {ms(v.p(99))}",
                    _cores(v.client_cpu, v),
                    _cores(v.pg_cpu, v),
                    f"{v.committed} / {len(v.outcome.errors)}",
                    self._busy(v),
                )
            )
        return out

    _HEADER = (
        "figure",
        "real: try_reserve",
        "real: reserve_plan (allocate_stock's transaction)",
        "bare: plain UPDATE",
        "note",
    )
    _LEVEL_HEADER = (
        "sku", "warehouse", "on_hand", "reserved", "sum(reserved rows)",
        "attempts", "committed", "refused", "exhausted", "check",
    )  # fmt: skip
    _VARIANT_HEADER = (
        "variant", "what", "tx/s", "/ bare updates/s", "p50 / p99 (ms)",
        "client CPU", "postgres CPU", "committed / errors", "machine busy",
    )  # fmt: skip

    def table(self) -> str:
        return text_table(self._HEADER, self.rows())

    def breakdown(self) -> list[str]:
        hot = [lv for lv in self.levels if lv.key[0].startswith(HOT_PREFIXES)]
        if len(hot) <= MAX_LEVEL_ROWS:
            title, rows = "Hot stock levels after the run:", self.level_rows(hot)
        else:
            title, rows = "Hot stock after the run, summed per SKU:", self.sku_rows(hot)
        out = ["", title, "", *md_table(self._LEVEL_HEADER, rows)]
        if self.variants:
            out += [
                "",
                "Diagnosis, not the product's path: try_reserve's rows written by bench-only "
                "SQL, same clients and plans, in every round after the three sides, on SKUs of "
                "their own with plenty of stock:",
                "",
                *md_table(self._VARIANT_HEADER, self.variant_rows()),
            ]
        return out

    @staticmethod
    def sku_rows(levels: list[LevelCheck]) -> list[tuple[str, ...]]:
        by_sku: dict[str, list[LevelCheck]] = {}
        for lv in levels:
            by_sku.setdefault(lv.key[0], []).append(lv)
        rows = []
        for sku, lvs in by_sku.items():
            problems = sum(len(lv.problems) for lv in lvs)
            rows.append(
                (
                    sku,
                    f"{len(lvs)} warehouses",
                    *(
                        str(sum(getattr(lv, f) for lv in lvs))
                        for f in ("on_hand", "reserved", "held", "attempts", "committed", "refused")
                    ),
                    f"{sum(lv.exhausted for lv in lvs)}/{len(lvs)}",
                    "ok" if not problems else f"{problems} problems (see failures)",
                )
            )
        return rows

    @staticmethod
    def level_rows(levels: list[LevelCheck]) -> list[tuple[str, ...]]:
        return [
            (
                lv.key[0], lv.key[1], str(lv.on_hand), str(lv.reserved), str(lv.held),
                str(lv.attempts), str(lv.committed), str(lv.refused),
                "yes" if lv.exhausted else "no",
                "ok" if not lv.problems else "; ".join(lv.problems),
            )
            for lv in levels
        ]  # fmt: skip

    def markdown(self) -> str:
        out = [
            f"## {self.started_at} — reservations, {self.settings['clients']} clients, "
            f"{self.settings['hot levels']}",
            "",
            f"Command: `{self.command}`",
            "",
            self.machine,
            "",
            "Settings: " + ", ".join(f"{k}={v}" for k, v in self.settings.items()),
            "",
            *md_table(self._HEADER, self.rows()),
            *self.breakdown(),
        ]
        if self.failures:
            out += ["", f"Failures ({len(self.failures)}), first 5:", ""]
            out += [f"- {f}" for f in self.failures[:5]]
        out.append("")
        return "\n".join(out)

    def headline(self) -> dict[str, Any]:
        return {
            "bench": "reservations",
            "started_at": self.started_at,
            "ratio_try_reserve": round(self.ratio(self.real), 3),
            "ratio_reserve_plan": round(self.ratio(self.plan), 3),
            "oversold_levels": sum(1 for lv in self.levels if lv.reserved > lv.on_hand),
            "failures": len(self.failures),
        }

    def failure_list(self) -> list[str]:
        return self.failures


# --- driver ------------------------------------------------------------------------------


def machine_busy_share(seconds: float = 2.0) -> float:
    """How busy the machine is without us (percent of all CPUs), over ``seconds``."""
    b0, t0 = system_busy()
    time.sleep(seconds)
    b1, t1 = system_busy()
    return (b1 - b0) / (t1 - t0) * 100 if t1 > t0 else 0.0


def measure(args: argparse.Namespace) -> ReservationReport:
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    warehouses = [f"BW{j:02d}" for j in range(args.warehouses)]
    keys = hot_keys("BENCH-HOT", args.hot_skus, warehouses)
    hot_skus = sorted({s for s, _ in keys})
    plan_skus = {s: s.replace("BENCH-HOT", "BENCH-PLAN") for s in hot_skus}
    warm = [(WARM_SKU, w) for w in warehouses]
    variant_skus = {
        v: {s: s.replace("BENCH-HOT", f"BENCH-V{n}") for s in hot_skus}
        for n, v in enumerate(VARIANTS if args.variants else ())
    }
    all_skus = [
        *hot_skus,
        *plan_skus.values(),
        WARM_SKU,
        *(s for m in variant_skus.values() for s in m.values()),
    ]
    exact_skus = {*hot_skus, *plan_skus.values()}
    exact = args.duration is None
    base = server_url(args.database_url)
    idle = machine_busy_share()
    with scratch_database(base, "bench_reserve", keep=args.keep_db) as url:
        info = server_info(url)
        log(f"scratch database on {redact(base)}: {info.version}; machine {idle:.0f} % busy")
        asyncio.run(seed_static(url, warehouses, all_skus))
        plenty = {(s, w): PLENTY for s in all_skus if s not in exact_skus for w in warehouses}
        asyncio.run(seed_stock(url, plenty))
        backends = BackendCpu(url)
        pool = ClientPool(url, args.processes, args.clients)
        by_sku: dict[str, Outcome] = {}
        counters: Counter[str] = Counter()
        real, plan, bare = Side("try_reserve"), Side("reserve_plan"), Side("bare")
        variants: list[Side] = []
        try:
            warm_plans = [
                [warm[(c + i) % len(warm)] for i in range(WARMUP_PER_CLIENT)]
                for c in range(args.clients)
            ]
            log(f"warm-up: {WARMUP_PER_CLIENT} transactions per client, each side ...")
            warm_bare = pool.run("bare", warm_plans, None, "warm-bare")
            warm_real = pool.run("real", warm_plans, None, "warm-real")
            warm_plan = pool.run("plan", warm_plans, None, "warm-plan")
            warm_both = Outcome()
            warm_both.merge(warm_real)
            warm_both.merge(warm_plan)
            by_sku[WARM_SKU] = warm_both
            counters.update({counter_id(k): n for k, n in warm_bare.committed.items()})
            if exact:
                plans = counted_plans(keys, args.count, args.clients, args.seed)
                per_level = Counter(k for plan in plans for k in plan)
            else:
                plans = looping_plans(keys, args.clients, args.seed)
                rate = sum(warm_real.committed.values()) / warm_real.elapsed
                guess = rate * args.duration / len(keys)
                per_level = Counter({k: max(1, round(guess)) for k in keys})
            stock = {
                (sku, w): max(1, round(STOCK_FACTORS[i % len(STOCK_FACTORS)] * per_level[(s, w)]))
                for i, s in enumerate(hot_skus)
                for sku in (s, plan_skus[s])
                for w in warehouses
            }
            asyncio.run(seed_stock(url, stock))
            pids = backends.pids()
            mine = {os.getpid(), *pool.pids(), *pids}

            def phase(side: Side, op: str, plans: list[list[Key]], tag: str) -> Outcome:
                duration = args.duration / args.rounds if args.duration is not None else None
                procs0 = all_processes()
                pg0, busy0, wall0 = backends.sample(pids), system_busy()[0], time.monotonic()
                outcome = pool.run(op, plans, duration, tag)
                pg1, busy1, wall1 = backends.sample(pids), system_busy()[0], time.monotonic()
                busiest = others(procs0, all_processes(), mine)
                pg = pg1 - pg0 if pg0 is not None and pg1 is not None else None
                side.add(outcome, pg, (busy1 - busy0, wall1 - wall0), busiest)
                log(
                    f"  {op}: {sum(outcome.committed.values())} committed, "
                    f"{sum(outcome.refused.values())} refused, {len(outcome.errors)} errors "
                    f"in {outcome.elapsed:.1f}s"
                )
                return outcome

            pieces = split_plans(plans, args.rounds) if exact else [plans] * args.rounds
            variants.extend(Side(v) for v in variant_skus)
            for r, piece in enumerate(pieces, start=1):
                log(f"round {r}/{args.rounds}: {args.clients} clients over {len(keys)} levels")
                o = phase(bare, "bare", piece, f"bare-{r}")
                counters.update({counter_id(k): n for k, n in o.committed.items()})
                phase(real, "real", piece, f"real-{r}")
                phase(plan, "plan", rename(piece, plan_skus), f"plan-{r}")
                for side in variants:
                    phase(
                        side, side.name, rename(piece, variant_skus[side.name]), f"{side.name}-{r}"
                    )
            for s in hot_skus:
                by_sku[s] = real.outcome
                by_sku[plan_skus[s]] = plan.outcome
            for side in variants:
                for s in variant_skus[side.name].values():
                    by_sku[s] = side.outcome
        finally:
            pool.close()
        # The bench's warehouses have no daily capacity, and a warehouse without one is not
        # counted (store.allocation.take_slot): no plan may leave a slot behind.
        slots = Counter[str]()
        levels, problems = asyncio.run(
            check(url, by_sku, exact_skus if exact else set(), counters, slots)
        )
    real.failures += problems + [f"reserve_plan: {e}" for e in plan.failures]
    for done in variants:
        real.failures += [f"variant {done.name}: {e}" for e in done.failures]
    settings = {
        "clients": str(args.clients),
        "client processes": f"{args.processes} (asyncio tasks, an engine each)",
        "pool": "store.db.create_engine(pool_size=clients of the process), pre-ping on",
        "run": (
            f"--count {args.count} attempts per side" if exact else f"{args.duration}s per side"
        )
        + f" in {args.rounds} rounds (bare, try_reserve, reserve_plan"
        + (", variants" if variants else "")
        + ")",
        "hot levels": f"{args.hot_skus} SKUs x {args.warehouses} warehouses",
        "stock": "on_hand = "
        + ", ".join(f"{STOCK_FACTORS[i % len(STOCK_FACTORS)]:g}x" for i in range(args.hot_skus))
        + (" its level's attempts" if exact else " an estimate from the warm-up rate"),
        "reserve_plan": "its own SKUs, same stock and plans; warehouses without a daily "
        "capacity (no slot is counted)",
        "bare rows": "one bench_counter row per (SKU, warehouse) level, the same plans",
        "warm-up": f"{WARMUP_PER_CLIENT}/client each side on rows of their own",
        "postgres": ", ".join(f"{k}={v}" for k, v in info.settings.items()),
        "code": code_version(),
    }
    return ReservationReport(
        command=command_line("bench.reservations"),
        started_at=started_at,
        machine=machine_line(f"{info.version} (machine server, scratch database)"),
        settings=settings,
        real=real,
        plan=plan,
        bare=bare,
        levels=levels,
        nproc=os.cpu_count() or 1,
        idle_busy=idle,
        variants=variants,
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.reservations", description=(__doc__ or "").split("\n")[2]
    )
    p.add_argument("--clients", type=int, default=64, help="concurrent clients (default 64)")
    p.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="client processes sharing them (default: one per CPU)",
    )
    run = p.add_mutually_exclusive_group()
    run.add_argument("--count", type=int, default=24000, help="attempts per side (default 24000)")
    run.add_argument("--duration", type=float, help="seconds per side instead of --count")
    p.add_argument("--rounds", type=int, default=4, help="alternating rounds (default 4)")
    p.add_argument("--hot-skus", type=int, default=3, help="hot SKUs (default 3)")
    p.add_argument("--warehouses", type=int, default=4, help="warehouses (default 4)")
    p.add_argument("--seed", type=int, default=1, help="shuffle seed (default 1)")
    p.add_argument(
        "--variants", action="store_true", help="add the diagnostic SQL variants (see above)"
    )
    p.add_argument("--database-url", help="server to create the scratch database on")
    p.add_argument("--out", type=Path, default=Path("bench/runs/reservations.jsonl"))
    p.add_argument("--no-record", action="store_true", help="print only; do not append")
    p.add_argument("--keep-db", action="store_true", help="keep the scratch database")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if (
        min(args.clients, args.processes, args.hot_skus, args.warehouses, args.count, args.rounds)
        < 1
    ):
        log("error: --clients, --processes, --hot-skus, --warehouses, --count, --rounds: >= 1")
        return 2
    args.processes = min(args.processes, args.clients)
    try:
        report = measure(args)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    return show_and_record(report, out=None if args.no_record else args.out)


if __name__ == "__main__":
    sys.exit(main())
