"""Email fixtures: a real SMTP server (aiosmtpd) that can refuse or drop the first
attempts, and an outbox of its own (a scratch database, so no other test's rows are
mailed and no other test sees these)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage

import pytest
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.models import NotifyRequest
from integrations.email.smtp import SmtpTarget
from oms.mailsink import parse
from store.projection import record_notification
from store.tables import Notification, OrderRow, ShipmentRow
from tests.conftest import scratch_sessions


@dataclass
class FlakyInbox:
    """An SMTP server's handler: answers 451 to DATA for the first ``refuse`` messages,
    drops the connection (no answer at all) for the next ``drop``, then accepts.
    ``lose_ack``: accept (keep) the next message(s) but drop the connection before the
    250 — the sender cannot know it arrived."""

    refuse: int = 0
    drop: int = 0
    lose_ack: int = 0
    permanent: bool = False
    received: list[EmailMessage] = field(default_factory=list)
    attempts: int = 0

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        self.attempts += 1
        if self.permanent:
            return "550 5.7.1 message refused"
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 try again later"
        if self.drop > 0:
            self.drop -= 1
            _abort(server)
            return "421 closing"
        raw = envelope.original_content or b""
        assert isinstance(raw, bytes)
        self.received.append(parse(raw))
        if self.lose_ack > 0:
            self.lose_ack -= 1
            _abort(server)
            return "421 closing"
        return "250 2.0.0 OK"

    def per_message_id(self) -> Counter[str]:
        return Counter(str(m["Message-ID"]).strip() for m in self.received)


def _abort(server: SMTP) -> None:
    """Close the connection at once, before any answer reaches the client."""
    transport = server.transport
    assert isinstance(transport, asyncio.Transport)
    transport.abort()


def body_of(message: EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    assert part is not None, f"no {kind} part"
    return str(part.get_content())


SmtpServer = Callable[[FlakyInbox], Awaitable[SmtpTarget]]


@pytest.fixture
async def smtp_server() -> AsyncIterator[SmtpServer]:
    """Start a real aiosmtpd server around a handler on a free port; its target."""
    servers: list[asyncio.Server] = []

    async def start(handler: object) -> SmtpTarget:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="test-smtp"), "127.0.0.1", 0
        )
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return SmtpTarget.parse(f"smtp://127.0.0.1:{port}")

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.fixture(scope="module")
async def email_db(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with scratch_sessions(database_url, "oms_email") as sessions:
        yield sessions


@pytest.fixture
async def outbox_sessions(
    email_db: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession]:
    """The module's database with an empty outbox: a drain sees this test's rows only."""
    async with email_db.begin() as s:
        await s.execute(delete(Notification))
    return email_db


SHIPMENT_MILESTONES = ("shipped", "out_for_delivery", "delivered", "delayed")
ORDER_MILESTONES = ("confirmed", "cancelled")


@dataclass(frozen=True)
class MailedOrder:
    order_id: str
    name: str
    shipment_id: str
    tracking_number: str
    tracking_url: str
    keys: list[str]


async def order_with_notifications(
    sessions: async_sessionmaker[AsyncSession],
    milestones: tuple[str, ...] = ORDER_MILESTONES + SHIPMENT_MILESTONES,
) -> MailedOrder:
    """An order and its shipment in the read model, and one pending notification per
    milestone, written as the workflows write them (``record_notification``)."""
    tag = uuid.uuid4().hex[:8]
    order_id, shipment_id = f"em-{tag}", f"em-{tag}-1"
    number = f"SBX{tag.upper()}"
    url = f"https://track.sandbox-carrier.test/{number}"
    now = datetime.now(UTC)
    keys: list[str] = []
    async with sessions.begin() as s:
        s.add(
            OrderRow(
                order_id=order_id,
                version=1,
                name=f"#E{tag}",
                channel="web",
                external_id=order_id,
                email=f"buyer-{tag}@example.com",
                status="shipped",
                tags=[],
                priority=0,
                warehouses=["WH-X"],
                total=Decimal("10.00"),
                currency="USD",
                stuck=False,
                summary={"lines": [{"sku": "SKU-A", "quantity": 1}]},
                created_at=now,
                updated_at=now,
            )
        )
        s.add(
            ShipmentRow(
                shipment_id=shipment_id,
                order_id=order_id,
                version=1,
                warehouse="WH-X",
                status="in_transit",
                priority=0,
                lines=[{"sku": "SKU-A", "quantity": 1, "picked": 1}],
                carrier="sandbox",
                tracking_number=number,
                tracking_url=url,
                updated_at=now,
            )
        )
        await s.flush()
        for milestone in milestones:
            on_shipment = milestone in SHIPMENT_MILESTONES
            key = f"notify-{shipment_id if on_shipment else order_id}-{milestone}"
            keys.append(key)
            await record_notification(
                s,
                NotifyRequest(
                    order_id=order_id,
                    email=f"buyer-{tag}@example.com",
                    milestone=milestone,
                    idempotency_key=key,
                    detail={"detail": "Weather in Memphis"} if milestone == "delayed" else {},
                    shipment_id=shipment_id if on_shipment else None,
                ),
            )
    return MailedOrder(order_id, f"#E{tag}", shipment_id, number, url, keys)
