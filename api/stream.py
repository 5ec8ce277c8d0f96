"""Live changes of the read model, fanned out to the open SSE streams of this process.

The ``orders`` and ``shipments`` tables notify ``oms_read_model`` after every write (a
trigger, migration 0005), so whatever writes them (the workflows' projection activities,
a scan's write, a roll-up trigger) is seen, and every API process runs one listener: any
number of processes each see every change. One LISTEN connection per process, however many
streams are open; each stream has a bounded queue, so a slow browser costs memory up to
that bound and then is told to catch up from the table instead.

What a stream guarantees (``GET /api/v1/stream``):

- ``event: order`` carries an order's state after a write and ``id:`` its row's
  ``stream_seq``. A reconnect with ``Last-Event-ID: n`` replays, from the table, the
  current state of every order written after ``n`` (less a margin for transactions that
  took an earlier number but committed later), then goes live. So after a resume a client
  has every order's latest state, not every intermediate status; duplicates are possible
  and harmless (``version`` orders them). More than ``REPLAY_LIMIT`` orders to replay →
  ``event: reset`` (reload the list).
- ``event: shipment`` (pick progress, status) is live only: not replayed on resume.
- When this process's listener loses Postgres, it reconnects and every stream replays from
  its last id (notifications sent meanwhile are lost to LISTEN, not to the table).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import orders as read
from store.db import libpq_url
from store.tables import OrderRow

CHANNEL = "oms_read_model"
QUEUE_SIZE = 1000
REPLAY_MARGIN = 200
REPLAY_LIMIT = 1000

log = logging.getLogger(__name__)


class _Gap:
    """Marker: notifications may have been lost; catch up from the table."""


GAP = _Gap()


@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue[dict[str, Any] | _Gap] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_SIZE)
    )
    overflowed: bool = False

    def offer(self, item: dict[str, Any] | _Gap) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            # Drop what is queued and tell the stream to catch up from the table.
            self.overflowed = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(GAP)

    async def get(self) -> dict[str, Any] | _Gap:
        item = await self.queue.get()
        if isinstance(item, _Gap):
            self.overflowed = False
        return item


class StreamHub:
    """This process's LISTEN connection and the subscriptions it feeds."""

    def __init__(self, database_url: str) -> None:
        self._url = libpq_url(database_url)
        self._subs: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.received = 0
        #: The LISTEN connection's server process (None while disconnected).
        self.backend_pid: int | None = None

    async def __aenter__(self) -> StreamHub:
        self._task = asyncio.create_task(self._run(), name="stream-hub")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def subscribe(self) -> Subscription:
        sub = Subscription()
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def _broadcast(self, item: dict[str, Any] | _Gap) -> None:
        for sub in list(self._subs):
            sub.offer(item)

    async def _run(self) -> None:
        delay = 0.2
        first = True
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.backend_pid = conn.info.backend_pid
                    self.connected.set()
                    delay = 0.2
                    if not first:
                        self._broadcast(GAP)
                    first = False
                    async for note in conn.notifies():
                        self.received += 1
                        try:
                            payload = json.loads(note.payload)
                        except ValueError:
                            continue
                        self._broadcast(payload)
            except asyncio.CancelledError:
                raise
            except Exception:  # Postgres gone: retry, then every stream catches up
                log.warning("stream listener lost Postgres; reconnecting", exc_info=True)
            self.connected.clear()
            self.backend_pid = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def order_payload(row: OrderRow) -> dict[str, Any]:
    """A replayed order, in the shape the trigger notifies."""
    return {
        "kind": "order",
        "seq": row.stream_seq,
        "order_id": row.order_id,
        "name": row.name,
        "status": row.status,
        "old_status": None,
        "priority": row.priority,
        "stuck": row.stuck,
        "warehouses": list(row.warehouses),
        "version": row.version,
        "updated_at": row.updated_at.isoformat(),
        "replayed": True,
    }


def visible(payload: dict[str, Any], scope: str | None) -> bool:
    """Whether a key confined to warehouse ``scope`` (None: all) may see this change."""
    if scope is None:
        return True
    if payload.get("kind") == "shipment":
        return scope in (payload.get("warehouse"), payload.get("old_warehouse"))
    return scope in (payload.get("warehouses") or [])


async def current_seq(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.max(OrderRow.stream_seq))) or 0)


async def replay(
    sessions: async_sessionmaker[AsyncSession], after: int, scope: str | None
) -> list[dict[str, Any]] | None:
    """Orders written after ``after`` (less the margin), or None when there are too many."""
    async with sessions() as session:
        rows = await read.changed_since(
            session, max(after - REPLAY_MARGIN, 0), limit=REPLAY_LIMIT + 1
        )
    if len(rows) > REPLAY_LIMIT:
        return None
    return [p for p in (order_payload(r) for r in rows) if visible(p, scope)]


@dataclass
class Frame:
    """One SSE frame before encoding."""

    event: str
    data: dict[str, Any]
    id: str | None = None


async def frames(
    hub: StreamHub,
    sessions: async_sessionmaker[AsyncSession],
    *,
    scope: str | None,
    last_event_id: int | None,
) -> AsyncGenerator[Frame, None]:
    """The frames of one stream: catch-up first (when resuming), then live changes."""
    sub = hub.subscribe()  # before reading the table: nothing falls between the two
    try:
        seq = last_event_id
        if seq is None:
            seq = await current_seq(sessions)
        else:
            caught = await replay(sessions, seq, scope)
            if caught is None:
                yield Frame("reset", {"reason": "too many changes to replay"})
            else:
                for p in caught:
                    seq = max(seq, int(p["seq"]))
                    yield Frame("order", p, str(p["seq"]))
        yield Frame("ready", {"seq": seq, "connected": hub.connected.is_set()}, str(seq))
        while True:
            item = await sub.get()
            if isinstance(item, _Gap):
                caught = await replay(sessions, seq, scope)
                if caught is None:
                    yield Frame("reset", {"reason": "too many changes to replay"})
                    continue
                for p in caught:
                    seq = max(seq, int(p["seq"]))
                    yield Frame("order", p, str(p["seq"]))
                continue
            if not visible(item, scope):
                continue
            if item.get("kind") == "order":
                seq = max(seq, int(item.get("seq") or 0))
                yield Frame("order", item, str(item.get("seq")))
            else:
                yield Frame("shipment", item)
    finally:
        hub.unsubscribe(sub)
