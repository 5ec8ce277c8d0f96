"""What the customer of a real order (workflows, API, carrier events) receives: the
outbox drained to a real SMTP server that refuses the first attempt, and the tracking
page each mail links to. Used by the end-to-end sample-order test."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx
from aiosmtpd.smtp import SMTP
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.email.smtp import SmtpTarget
from store.tables import Notification
from tests.email.conftest import FlakyInbox, body_of
from workers.email_outbox import Backoff, EmailOutbox

PAGE = re.compile(r"Track your order: (\S+)")


async def mails_of_order(
    sessions: async_sessionmaker[AsyncSession], order_id: str
) -> dict[str, EmailMessage]:
    """Drain the outbox; the order's mails by milestone (each asserted to arrive once and
    its ledger row to end ``sent``)."""
    inbox = FlakyInbox(refuse=1)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(inbox, hostname="t"), "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        outbox = EmailOutbox(
            sessions,
            SmtpTarget.parse(f"smtp://127.0.0.1:{port}"),
            mail_from="Shipshape <orders@shipshape.example>",
            public_base_url="http://oms.test",
            backoff=Backoff(first=timedelta(0)),
        )
        await outbox.drain()
    finally:
        server.close()
        await server.wait_closed()
    assert set(inbox.per_message_id().values()) == {1}
    async with sessions() as s:
        statuses = (
            await s.scalars(select(Notification.status).where(Notification.order_id == order_id))
        ).all()
    assert set(statuses) == {"sent"}
    ours = [m for m in inbox.received if str(m["X-OMS-Order-Id"]) == order_id]
    by_milestone = {str(m["X-OMS-Milestone"]): m for m in ours}
    assert len(by_milestone) == len(ours)
    return by_milestone


async def tracking_page(http: httpx.AsyncClient, mail: EmailMessage) -> str:
    """The page the mail's "Track your order" link opens (on the test's own API)."""
    found = PAGE.search(body_of(mail, "plain"))
    assert found, "no tracking page link in the mail"
    r = await http.get(urlsplit(found.group(1)).path)
    assert r.status_code == 200, r.text
    return r.text
