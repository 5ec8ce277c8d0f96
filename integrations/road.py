"""The sandbox carrier on the road: posts each bought label's tracking events to the API.

``oms dev`` runs this as its own child process (``oms road``), so the development stack
behaves like production with a real carrier: signed webhooks arrive over minutes, with the
delays, duplicates and disorder of :func:`integrations.road_plan.plan_road`. It is not part
of the worker: a deployed worker talks to real carriers, which post for themselves.

How it works: every few seconds it reads the labels bought since its cursor (on
``labels.created_at``, with a margin for transactions that committed late), plans each
one's road from its tracking number, and posts the events that are due, in order, with
``X-OMS-Signature``. A post that meets a connection error or a 5xx is retried with backoff;
a 4xx is final (logged). Events are dated on the road's clock: ``occurred_at`` = label
bought + road time, posted at label bought + road time / speed factor.

On a restart it looks back one road's length and posts what fell due while it was down
(the webhook dedupes what it had already received: the ids and times are the same, the
road being a pure function of the tracking number). See
docs/decisions/0005-labels-and-the-road.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import hmac
import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.road_plan import MAX_ROAD_SECONDS, plan_road
from store.tables import LabelLedger

log = logging.getLogger(__name__)

CARRIER = "sandbox"
#: Labels whose row commits this long after its ``created_at`` are still found.
CURSOR_MARGIN = timedelta(seconds=60)
#: Attempts of one post within a round (0.5, 1, 2, 4 s apart), then it waits for a later round.
ATTEMPTS = 5
REQUEUE_AFTER = timedelta(seconds=30)
MAX_REQUEUES = 20


def sign(body: bytes, secret: str) -> str:
    """``X-OMS-Signature``: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(order=True)
class _Due:
    at: datetime
    seq: int
    tracking_number: str = field(compare=False)
    body: dict[str, Any] = field(compare=False)
    requeues: int = field(default=0, compare=False)


@dataclass
class RoadStats:
    labels: int = 0
    posted: int = 0
    answers: dict[int, int] = field(default_factory=dict)  # status code → count
    dropped: int = 0


class RoadPoster:
    """Plans and posts the roads of the labels the sandbox carrier sold.

    Args:
        sessions: The OMS database (the ``labels`` table).
        http: A client whose ``base_url`` is the API.
        secret: ``OMS_CARRIER_WEBHOOK_SECRET``.
        factor: Speed of the road (60: an hour of road a minute).
        seed: Varies every road (the same seed plans the same roads).
        poll_seconds: Pause between rounds.
        clock: "Now" (tests may move it).
        since: Plan labels bought after this; default: one road's length (scaled) ago, so
            a restarted poster catches up.
        margin: How far behind its cursor it looks again for labels that committed late.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient,
        *,
        secret: str,
        factor: float,
        seed: int = 0,
        poll_seconds: float = 2.0,
        clock: Callable[[], datetime] = utc_now,
        since: datetime | None = None,
        margin: timedelta = CURSOR_MARGIN,
    ) -> None:
        if factor <= 0:
            raise ValueError("the road's speed factor must be > 0")
        self.sessions = sessions
        self.http = http
        self.secret = secret
        self.factor = factor
        self.seed = seed
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.stats = RoadStats()
        self._queue: list[_Due] = []
        self._seq = itertools.count()
        self._seen: dict[str, datetime] = {}
        self.margin = margin
        self.cursor = since or clock() - timedelta(seconds=MAX_ROAD_SECONDS / factor)

    # -- finding labels ----------------------------------------------------------------

    async def discover(self) -> int:
        """Plan the roads of labels bought since the cursor; returns how many."""
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(LabelLedger.tracking_number, LabelLedger.created_at)
                    .where(
                        LabelLedger.carrier == CARRIER,
                        LabelLedger.status == "purchased",
                        LabelLedger.created_at > self.cursor - self.margin,
                    )
                    .order_by(LabelLedger.created_at)
                    .limit(1000)
                )
            ).all()
        added = 0
        for number, created_at in rows:
            if number in self._seen:
                continue
            self._seen[number] = created_at
            self.plan_label(number, created_at)
            added += 1
            self.cursor = max(self.cursor, created_at)
        floor = self.cursor - 2 * self.margin
        self._seen = {n: at for n, at in self._seen.items() if at >= floor}
        self.stats.labels += added
        return added

    def plan_label(self, number: str, bought: datetime) -> None:
        """Queue the posts of one label's road, bought at ``bought``."""
        for post_after, event in plan_road(number, self.seed):
            at = bought + timedelta(seconds=post_after / self.factor)
            heapq.heappush(
                self._queue, _Due(at, next(self._seq), number, event.body(number, bought))
            )

    # -- posting -------------------------------------------------------------------------

    async def post_due(self) -> int:
        """Post every event due by now, oldest first; returns how many were answered."""
        now = self.clock()
        due: list[_Due] = []
        while self._queue and self._queue[0].at <= now:
            due.append(heapq.heappop(self._queue))
        if not due:
            return 0
        voided = await self._voided({d.tracking_number for d in due})
        answered = 0
        for item in due:
            if item.tracking_number in voided:
                continue  # a voided label never travels
            if await self._post(item):
                answered += 1
            elif item.requeues < MAX_REQUEUES:
                item.requeues += 1
                item.at = now + REQUEUE_AFTER
                heapq.heappush(self._queue, item)
            else:
                self.stats.dropped += 1
                log.error("gave up posting %s for %s", item.body["status"], item.tracking_number)
        return answered

    async def _voided(self, numbers: set[str]) -> set[str]:
        async with self.sessions() as session:
            found = await session.scalars(
                select(LabelLedger.tracking_number).where(
                    LabelLedger.tracking_number.in_(numbers), LabelLedger.status == "voided"
                )
            )
            return set(found)

    async def _post(self, item: _Due) -> bool:
        """True once the API answered (2xx, or a final 4xx); False to try again later."""
        body = json.dumps(item.body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-OMS-Signature": sign(body, self.secret)}
        for attempt in range(ATTEMPTS):
            if attempt:
                await asyncio.sleep(0.5 * 2 ** (attempt - 1))
            try:
                r = await self.http.post(
                    f"/webhooks/carriers/{CARRIER}", content=body, headers=headers
                )
            except httpx.TransportError as exc:
                log.warning("road post failed (%s), attempt %d", exc, attempt + 1)
                continue
            if r.status_code >= 500:
                log.warning("road post answered %d, attempt %d", r.status_code, attempt + 1)
                continue
            self.stats.posted += 1
            self.stats.answers[r.status_code] = self.stats.answers.get(r.status_code, 0) + 1
            if r.status_code >= 400:
                log.error(
                    "carrier webhook refused %s for %s: %d %s",
                    item.body["status"],
                    item.tracking_number,
                    r.status_code,
                    r.text[:200],
                )
            else:
                log.info(
                    "posted %s for %s (%s)",
                    item.body["status"],
                    item.tracking_number,
                    item.body.get("event_id", "no event id"),
                )
            return True
        return False

    # -- the loop ----------------------------------------------------------------------

    async def round(self) -> int:
        await self.discover()
        return await self.post_due()

    async def run(self) -> None:
        """Until cancelled. A failing round (database restarting ...) is logged and retried."""
        log.info(
            "sandbox road at %gx (an hour of road every %.0f s)", self.factor, 3600 / self.factor
        )
        while True:
            try:
                await self.round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("road round failed; trying again")
            await asyncio.sleep(self.poll_seconds)


async def run_road(database_url: str, api_url: str, secret: str, factor: float) -> None:
    """``oms road``: the poster against a database and an API, until cancelled."""
    from store.db import create_engine, sessionmaker

    engine = create_engine(database_url, pool_size=2)
    try:
        async with httpx.AsyncClient(base_url=api_url, timeout=10) as http:
            await RoadPoster(sessionmaker(engine), http, secret=secret, factor=factor).run()
    finally:
        await engine.dispose()
