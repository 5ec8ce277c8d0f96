"""The merchant-webhook dispatcher: drains ``webhook_deliveries`` and POSTs each event.

Runs beside the Temporal worker in ``oms worker`` (so ``oms dev`` too), never on a request
path. It holds no state of its own: the queue, the attempts and the retry times are rows,
so a dispatcher that dies loses nothing (its lease on a subscription runs out and any
dispatcher takes the queue over); several worker processes may each run one.

Per subscription, one delivery at a time, oldest first: the head is POSTed; a 2xx marks it
delivered and the next one goes; a non-2xx or a time-out schedules a retry with backoff
(the rest of that subscription's queue waits behind it) until the retry window is spent,
then it is failed and the next one goes. Subscriptions are worked concurrently.
Why a drain loop rather than a workflow per subscription:
docs/decisions/0007-merchant-webhooks-outbox-drain.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.merchant_webhooks import (
    DELIVERED,
    EVENT_ID_HEADER,
    FAILED,
    PENDING,
    SIGNATURE_HEADER,
    TOPIC_HEADER,
    RetryPolicy,
    body,
    sign,
)
from oms.settings import Settings
from store import merchant_webhooks as repo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchConfig:
    policy: RetryPolicy = RetryPolicy()
    #: Seconds a receiver has to answer; longer counts as a failed attempt.
    timeout: float = 10.0
    #: Pause between looks at the queue when nothing is due sooner.
    poll_seconds: float = 1.0
    #: Subscriptions worked at once by one dispatcher.
    concurrency: int = 16

    @property
    def lease_seconds(self) -> float:
        """How long a claimed queue is ours without news: one attempt and then some. The
        lease is renewed with every recorded attempt."""
        return self.timeout * 3 + 30

    @classmethod
    def from_settings(cls, settings: Settings) -> DispatchConfig:
        return cls(
            policy=RetryPolicy(
                first=settings.webhook_backoff_seconds,
                cap=settings.webhook_backoff_max_seconds,
                window=settings.webhook_retry_hours * 3600,
            ),
            timeout=settings.webhook_timeout_seconds,
            poll_seconds=settings.webhook_poll_seconds,
        )


class WebhookDispatcher:
    """``run`` until cancelled; ``drain`` once (tests call it, the loop calls it)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient,
        config: DispatchConfig | None = None,
    ) -> None:
        self.sessions = sessions
        self.http = http
        self.config = config or DispatchConfig()

    async def run(self) -> None:
        """Drain, then sleep until the next head is due (at most ``poll_seconds``)."""
        log.info("merchant webhook dispatcher running")
        while True:
            try:
                attempted = await self.drain()
                if attempted:
                    continue
                async with self.sessions() as session:
                    due_in = await repo.next_due_in(session)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be away for a moment: try again later
                log.exception("merchant webhooks: drain failed")
                due_in = None
            pause = self.config.poll_seconds if due_in is None else due_in
            await asyncio.sleep(min(max(pause, 0.05), self.config.poll_seconds))

    async def drain(self) -> int:
        """Work every subscription whose head is due now; returns the attempts made."""
        async with self.sessions.begin() as session:
            claimed = await repo.claim_due(
                session, self.config.concurrency, self.config.lease_seconds
            )
        if not claimed:
            return 0
        results = await asyncio.gather(*(self._work(w) for w in claimed), return_exceptions=True)
        attempted = 0
        for webhook_id, result in zip(claimed, results, strict=True):
            if isinstance(result, BaseException):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                # Its lease was released; the next pass takes the queue up again.
                log.error("webhook %s: dispatch failed: %r", webhook_id, result)
            else:
                attempted += result
        return attempted

    async def _work(self, webhook_id: str) -> int:
        """Send the subscription's queue head by head while heads are due."""
        attempted = 0
        try:
            while True:
                async with self.sessions() as session:
                    head = await repo.head(session, webhook_id)
                if head is None or not head.due:
                    return attempted
                status = await self._attempt(head)
                attempted += 1
                if status == PENDING:  # retry later: the rest waits behind it
                    return attempted
        finally:
            with contextlib.suppress(Exception):
                async with self.sessions.begin() as session:
                    await repo.release(session, webhook_id)

    async def _attempt(self, head: repo.Head) -> str | None:
        raw = body(str(head.event_id), head.topic, head.occurred_at, head.data)
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: str(head.event_id),
            TOPIC_HEADER: head.topic,
            SIGNATURE_HEADER: sign(raw, head.secret),
        }
        code: int | None = None
        error: str | None = None
        try:
            response = await self.http.post(
                head.url, content=raw, headers=headers, timeout=self.config.timeout
            )
            code = response.status_code
            if not 200 <= code < 300:
                error = f"HTTP {code}"
        except httpx.TimeoutException:
            error = f"timed out after {self.config.timeout:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        async with self.sessions.begin() as session:
            await repo.renew(session, head.webhook_id, self.config.lease_seconds)
            if error is None:
                assert code is not None
                await repo.record_delivered(session, head.delivery_id, code)
                return DELIVERED
            delay = self.config.policy.delay(head.attempts + 1)
            status = await repo.record_failure(
                session,
                head.delivery_id,
                status_code=code,
                error=error,
                delay=delay,
                window=self.config.policy.window,
            )
        if status == FAILED:
            log.warning(
                "webhook %s: delivery %s of %s failed for good (%s)",
                head.webhook_id,
                head.delivery_id,
                head.event_id,
                error,
            )
        return status
