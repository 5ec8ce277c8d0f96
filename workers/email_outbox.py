"""The customer-email sender: a loop in each worker process that drains the
``notifications`` outbox over SMTP (docs/decisions/0006-customer-emails-outbox.md).

Each row is claimed (``FOR UPDATE SKIP LOCKED``), rendered, sent and marked in one
transaction, so several workers never send one row twice, and a sender that dies before
it marked a row leaves it pending for the next (it may then be sent again: the same
deterministic Message-ID lets the receiving side recognise the copy). A refused or failed
attempt backs off exponentially (capped); a row the server has not taken for
``OMS_EMAIL_GIVE_UP_HOURS`` is marked failed and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from jinja2 import TemplateError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.email import smtp
from integrations.email.render import (
    EmailContext,
    ShipmentInfo,
    UnknownMilestone,
    build_message,
    message_id_for,
    render,
)
from oms.settings import Settings
from store import notifications as outbox
from store.tables import Notification
from store.tracking import ensure_tracking_token

log = logging.getLogger(__name__)

Sender = Callable[[smtp.SmtpTarget, EmailMessage], Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Backoff:
    """Pause before attempt ``n + 1`` after ``n`` failed ones: ``first * factor**(n-1)``,
    at most ``cap``. Tests pass ``Backoff(first=timedelta(0))`` to retry at once."""

    first: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    cap: timedelta = timedelta(minutes=30)

    def after(self, attempts: int) -> timedelta:
        return min(self.cap, self.first * self.factor ** max(attempts - 1, 0))


@dataclass
class DrainResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed


class EmailOutbox:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        target: smtp.SmtpTarget,
        *,
        mail_from: str,
        public_base_url: str,
        give_up_after: timedelta = timedelta(hours=24),
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = utc_now,
        send: Sender = smtp.send,
    ) -> None:
        self.sessions = sessions
        self.target = target
        self.mail_from = mail_from
        self.public_base_url = public_base_url.rstrip("/")
        self.give_up_after = give_up_after
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.send = send

    @classmethod
    def from_settings(
        cls, sessions: async_sessionmaker[AsyncSession], settings: Settings
    ) -> EmailOutbox | None:
        """The sender for ``OMS_SMTP_URL``, or None when it is unset."""
        if not settings.smtp_url:
            return None
        return cls(
            sessions,
            smtp.SmtpTarget.parse(settings.smtp_url),
            mail_from=settings.mail_from,
            public_base_url=settings.public_base_url,
            give_up_after=timedelta(hours=settings.email_give_up_hours),
        )

    async def send_one(self, result: DrainResult | None = None) -> bool:
        """Claim, send and mark one due row; False when none is due (or all are held)."""
        result = result if result is not None else DrainResult()
        now = self.clock()
        async with self.sessions.begin() as session:
            row = await outbox.claim_due(session, now)
            if row is None:
                return False
            try:
                message = await self._message(session, row, now)
                await self.send(self.target, message)
            except smtp.SendFailed as exc:
                self._failed(row, str(exc), exc.permanent, self.clock(), result)
            except UnknownMilestone as exc:
                self._failed(row, str(exc), True, self.clock(), result)
            except TemplateError as exc:  # a template bug: backs off like a refusal
                self._failed(row, f"template: {exc}", False, self.clock(), result)
            except Exception as exc:  # noqa: BLE001 - anything else about this one row
                # (an address the email package cannot write, say) must not stop the rows
                # behind it: it backs off like a refusal, and fails in the end.
                log.exception("email %s of order %s", row.milestone, row.order_id)
                self._failed(row, f"{type(exc).__name__}: {exc}", False, self.clock(), result)
            else:
                outbox.mark_sent(row, self.clock())
                result.sent += 1
        return True

    async def drain(self, limit: int = 100) -> DrainResult:
        """Send due rows until none is left or ``limit`` were handled."""
        result = DrainResult()
        while result.handled < limit and await self.send_one(result):
            pass
        return result

    async def run(self, poll_seconds: float, batch: int = 100) -> None:
        """Drain forever: at once again after a full batch, else after ``poll_seconds``."""
        log.info("email sender: mailing the outbox to %s", self.target)
        while True:
            try:
                result = await self.drain(batch)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away, say: the rows wait, try again
                log.exception("email sender: drain failed")
                result = DrainResult()
            if result.handled < batch:
                await asyncio.sleep(poll_seconds)

    # -- helpers --

    async def _message(
        self, session: AsyncSession, row: Notification, now: datetime
    ) -> EmailMessage:
        if row.message_id is None:
            row.message_id = message_id_for(row.idempotency_key, self.mail_from)
        token = await ensure_tracking_token(session, row.order_id)
        shipment = None
        if row.shipment_id:
            facts = await outbox.shipment_facts(session, row.shipment_id)
            if facts is not None:
                shipment = ShipmentInfo(
                    shipment_id=facts.shipment_id,
                    carrier=facts.carrier,
                    tracking_number=facts.tracking_number,
                    tracking_url=facts.tracking_url,
                    status=facts.status,
                )
        detail = (row.detail or {}).get("detail")
        ctx = EmailContext(
            milestone=row.milestone,
            order_id=row.order_id,
            order_name=await outbox.order_name(session, row.order_id) or row.order_id,
            tracking_page_url=f"{self.public_base_url}/track/{token}",
            shipment=shipment,
            detail=str(detail) if detail else None,
        )
        return build_message(
            ctx,
            render(ctx),
            to=row.email,
            mail_from=self.mail_from,
            message_id=row.message_id,
            date=now,
        )

    def _failed(
        self, row: Notification, error: str, permanent: bool, now: datetime, result: DrainResult
    ) -> None:
        result.errors.append(error)
        gave_up = now - row.recorded_at >= self.give_up_after
        if permanent or gave_up:
            why = "refused" if permanent else f"not accepted for {self.give_up_after}"
            outbox.mark_failed(row, f"{why}: {error}")
            result.failed += 1
            log.error(
                "email %s of order %s failed after %d attempts (%s): %s",
                row.milestone,
                row.order_id,
                row.attempts,
                why,
                error,
            )
            return
        delay = self.backoff.after(row.attempts + 1)
        outbox.mark_retry(row, error, now + delay)
        result.retried += 1
        log.warning(
            "email %s of order %s: attempt %d failed (%s); next in %s",
            row.milestone,
            row.order_id,
            row.attempts,
            error,
            delay,
        )


@contextlib.asynccontextmanager
async def running_sender(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> AsyncIterator[EmailOutbox | None]:
    """Run the sender beside the worker while the block runs (nothing without OMS_SMTP_URL)."""
    sender = EmailOutbox.from_settings(sessions, settings)
    if sender is None:
        log.warning("OMS_SMTP_URL is not set: customer emails stay pending in the outbox")
        yield None
        return
    task = asyncio.create_task(sender.run(settings.email_poll_seconds), name="email-outbox")
    try:
        yield sender
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
