"""The sender against a real SMTP server (aiosmtpd) that refuses, drops and loses the
first attempts: every mail arrives exactly once, every row ends ``sent``; a row the
server refuses for good, or for too long, ends ``failed``; two senders never send one row
twice. No test sleeps for the backoff: it is injected (zero, or a clock moved forward)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.email.render import message_id_for
from store.tables import Notification, TrackingToken
from tests.email.conftest import (
    ORDER_MILESTONES,
    SHIPMENT_MILESTONES,
    FlakyInbox,
    SmtpServer,
    body_of,
    order_with_notifications,
)
from workers.email_outbox import Backoff, EmailOutbox

MAIL_FROM = "Shipshape <orders@shipshape.example>"
PUBLIC = "https://shop.example"


def sender(
    sessions: async_sessionmaker[AsyncSession], target: object, **kwargs: object
) -> EmailOutbox:
    """A sender retrying at once (no backoff) unless ``kwargs`` say otherwise."""
    kwargs.setdefault("backoff", Backoff(first=timedelta(0)))
    return EmailOutbox(
        sessions,
        target,  # type: ignore[arg-type]
        mail_from=MAIL_FROM,
        public_base_url=PUBLIC,
        **kwargs,  # type: ignore[arg-type]
    )


async def rows(sessions: async_sessionmaker[AsyncSession], order_id: str) -> list[Notification]:
    async with sessions() as s:
        found = await s.scalars(select(Notification).where(Notification.order_id == order_id))
        return list(found.all())


async def test_refused_and_dropped_attempts_delay_each_mail_but_it_arrives_once(
    outbox_sessions: async_sessionmaker[AsyncSession], smtp_server: SmtpServer
) -> None:
    order = await order_with_notifications(outbox_sessions)
    inbox = FlakyInbox(refuse=3, drop=2)
    target = await smtp_server(inbox)

    result = await sender(outbox_sessions, target).drain()

    assert result.retried == 5 and result.failed == 0
    assert result.sent == 6
    per_id = inbox.per_message_id()
    assert len(per_id) == 6 and set(per_id.values()) == {1}
    assert {str(m["X-OMS-Milestone"]) for m in inbox.received} == {
        *ORDER_MILESTONES,
        *SHIPMENT_MILESTONES,
    }
    stored = await rows(outbox_sessions, order.order_id)
    assert {r.status for r in stored} == {"sent"}
    assert all(r.sent_at is not None for r in stored)
    assert sum(r.attempts for r in stored) == 6 + 5
    # The Message-ID is the key's: the same for every attempt of one row.
    assert {r.message_id for r in stored} == set(per_id)
    assert {message_id_for(k, MAIL_FROM) for k in order.keys} == set(per_id)

    # Nothing left: a second drain sends nothing.
    again = await sender(outbox_sessions, target).drain()
    assert again.handled == 0
    assert len(inbox.received) == 6


async def test_the_shipped_mail_carries_tracking_and_the_tracking_page(
    outbox_sessions: async_sessionmaker[AsyncSession], smtp_server: SmtpServer
) -> None:
    order = await order_with_notifications(outbox_sessions, ("shipped", "cancelled"))
    inbox = FlakyInbox()
    await sender(outbox_sessions, await smtp_server(inbox)).drain()

    async with outbox_sessions() as s:
        token = await s.scalar(
            select(TrackingToken.token).where(TrackingToken.order_id == order.order_id)
        )
    assert token
    page = f"{PUBLIC}/track/{token}"
    by_milestone = {str(m["X-OMS-Milestone"]): m for m in inbox.received}
    shipped = by_milestone["shipped"]
    assert str(shipped["To"]) == f"buyer-{order.order_id.removeprefix('em-')}@example.com"
    assert order.name in str(shipped["Subject"])
    assert str(shipped["X-OMS-Order-Id"]) == order.order_id
    assert str(shipped["X-OMS-Shipment-Id"]) == order.shipment_id
    text, html = body_of(shipped, "plain"), body_of(shipped, "html")
    for body in (text, html):
        assert order.tracking_number in body
        assert order.tracking_url in body
        assert page in body
    # One token per order: the cancelled mail links the same page, and has no shipment.
    cancelled = by_milestone["cancelled"]
    assert "X-OMS-Shipment-Id" not in cancelled
    assert page in body_of(cancelled, "plain")


async def test_a_lost_acknowledgement_resends_with_the_same_message_id(
    outbox_sessions: async_sessionmaker[AsyncSession], smtp_server: SmtpServer
) -> None:
    """The server kept the mail but the 250 never reached the sender: the row stays
    pending and is sent again — with the same Message-ID, so the copy is recognisable."""
    order = await order_with_notifications(outbox_sessions, ("delivered",))
    inbox = FlakyInbox(lose_ack=1)
    result = await sender(outbox_sessions, await smtp_server(inbox)).drain()

    assert result.sent == 1 and result.retried == 1
    assert len(inbox.received) == 2
    (only_id,) = inbox.per_message_id()
    (row,) = await rows(outbox_sessions, order.order_id)
    assert row.status == "sent" and row.message_id == only_id


async def test_a_mail_refused_for_good_fails_at_once(
    outbox_sessions: async_sessionmaker[AsyncSession], smtp_server: SmtpServer
) -> None:
    order = await order_with_notifications(outbox_sessions, ("confirmed",))
    inbox = FlakyInbox(permanent=True)
    result = await sender(outbox_sessions, await smtp_server(inbox)).drain()

    assert result.failed == 1 and result.sent == 0
    (row,) = await rows(outbox_sessions, order.order_id)
    assert row.status == "failed" and row.sent_at is None
    assert row.last_error and "550" in row.last_error
    assert inbox.attempts == 1


async def test_a_server_refusing_for_too_long_marks_the_mail_failed(
    outbox_sessions: async_sessionmaker[AsyncSession], smtp_server: SmtpServer
) -> None:
    order = await order_with_notifications(outbox_sessions, ("delayed",))
    inbox = FlakyInbox(refuse=10**6)
    target = await smtp_server(inbox)
    now = datetime.now(UTC)
    clock = [now]
    outbox = EmailOutbox(
        outbox_sessions,
        target,
        mail_from=MAIL_FROM,
        public_base_url=PUBLIC,
        give_up_after=timedelta(hours=24),
        backoff=Backoff(first=timedelta(minutes=1), cap=timedelta(minutes=30)),
        clock=lambda: clock[0],
    )

    first = await outbox.drain()
    assert first.retried == 1
    (row,) = await rows(outbox_sessions, order.order_id)
    assert row.status == "pending" and row.next_attempt_at == now + timedelta(minutes=1)
    # Not due yet: nothing is attempted.
    assert (await outbox.drain()).handled == 0

    clock[0] = now + timedelta(minutes=1)
    assert (await outbox.drain()).retried == 1
    (row,) = await rows(outbox_sessions, order.order_id)
    assert row.next_attempt_at == now + timedelta(minutes=3)  # 1 min, then 2 min

    clock[0] = now + timedelta(hours=25)
    assert (await outbox.drain()).failed == 1
    (row,) = await rows(outbox_sessions, order.order_id)
    assert row.status == "failed" and row.attempts == 3
    assert inbox.received == []


async def test_two_senders_never_send_one_row_twice(
    outbox_sessions: async_sessionmaker[AsyncSession], smtp_server: SmtpServer
) -> None:
    orders = [await order_with_notifications(outbox_sessions) for _ in range(4)]
    inbox = FlakyInbox(refuse=4)
    target = await smtp_server(inbox)

    results = await asyncio.gather(
        sender(outbox_sessions, target).drain(), sender(outbox_sessions, target).drain()
    )

    assert sum(r.sent for r in results) == 24
    per_id = inbox.per_message_id()
    assert len(per_id) == 24 and set(per_id.values()) == {1}
    for order in orders:
        assert {r.status for r in await rows(outbox_sessions, order.order_id)} == {"sent"}


async def test_a_mail_that_cannot_go_out_does_not_hold_up_the_others(
    outbox_sessions: async_sessionmaker[AsyncSession], smtp_server: SmtpServer
) -> None:
    bad = await order_with_notifications(outbox_sessions, ("confirmed",))
    async with outbox_sessions.begin() as s:
        (row,) = (
            await s.scalars(select(Notification).where(Notification.order_id == bad.order_id))
        ).all()
        row.email = "not an address\r\nBcc: everyone@example.com"
    good = await order_with_notifications(outbox_sessions, ("confirmed",))
    inbox = FlakyInbox()
    result = await sender(outbox_sessions, await smtp_server(inbox), backoff=Backoff()).drain()

    assert result.sent == 1
    assert [str(m["X-OMS-Order-Id"]) for m in inbox.received] == [good.order_id]
    assert all("everyone@" not in str(m["To"]) for m in inbox.received)
    (row,) = await rows(outbox_sessions, bad.order_id)
    assert row.status in ("pending", "failed") and row.sent_at is None and row.last_error
