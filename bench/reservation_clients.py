"""The reservation bench's clients: asyncio tasks spread over worker processes, each with
its own engine, running one side's plans and reporting latencies and refusals."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.procstat import self_cpu
from bench.reservation_ops import OPS, Key

START_DELAY = 0.5


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
