"""``oms mail-sink``: the local SMTP server of ``oms dev`` (aiosmtpd), the default
``OMS_SMTP_URL`` there. It accepts every message and keeps it in ``dev_mailbox`` (one row
per Message-ID; a resend counts as a copy), where ``GET /dev/mailbox`` reads it.

Nothing is relayed anywhere: a developer sees what customers would get, and nobody gets
it. See docs/decisions/0006-customer-emails-outbox.md.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.email.render import HEADER_MILESTONE, HEADER_ORDER, HEADER_SHIPMENT
from store import dev_mailbox
from store.db import create_engine, sessionmaker

log = logging.getLogger(__name__)


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def caught(raw: bytes, mail_from: str, rcpt_tos: list[str]) -> dev_mailbox.CaughtMail:
    msg = parse(raw)

    def header(name: str) -> str | None:
        value = msg.get(name)
        return str(value).strip() if value else None

    return dev_mailbox.CaughtMail(
        message_id=header("Message-ID") or make_msgid(domain="mail-sink.invalid"),
        mail_from=mail_from,
        rcpt_to=", ".join(rcpt_tos),
        subject=header("Subject") or "",
        milestone=header(HEADER_MILESTONE),
        order_id=header(HEADER_ORDER),
        shipment_id=header(HEADER_SHIPMENT),
        raw=raw.decode("utf-8", errors="replace"),
    )


class MailboxHandler:
    """aiosmtpd handler: every message into ``dev_mailbox``. A database that cannot take
    it answers 451 (try again later), so the sender keeps the message instead of losing it."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        mail = caught(raw, str(envelope.mail_from or ""), [str(r) for r in envelope.rcpt_tos])
        try:
            async with self.sessions.begin() as db:
                copies = await dev_mailbox.record(db, mail)
        except Exception:
            log.exception("mail sink: could not store %s", mail.message_id)
            return "451 4.3.0 mailbox unavailable, try again later"
        log.info(
            "caught %s (%s, order %s)%s",
            mail.message_id,
            mail.milestone or "-",
            mail.order_id or "-",
            f" — copy {copies}" if copies > 1 else "",
        )
        return "250 2.0.0 OK: caught"


async def serve(sessions: async_sessionmaker[AsyncSession], host: str, port: int) -> asyncio.Server:
    """A listening SMTP server on ``host:port`` (``port`` 0: any free one)."""
    handler = MailboxHandler(sessions)
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: SMTP(handler, hostname="oms-mail-sink"), host, port)


async def run_sink(database_url: str, host: str, port: int, **_: Any) -> None:
    """Serve until cancelled (SIGTERM from ``oms dev``)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    engine = create_engine(database_url, pool_size=2)
    try:
        server = await serve(sessionmaker(engine), host, port)
        log.info("mail sink listening on smtp://%s:%d", host, port)
        async with server:
            await server.serve_forever()
    finally:
        await engine.dispose()
