"""``oms dev``'s SMTP sink (a real aiosmtpd server): keeps each caught mail in
``dev_mailbox`` with what it is about, once per Message-ID, counting resends."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.email import smtp
from integrations.email.render import EmailContext, build_message, render
from oms.mailsink import serve
from store.tables import DevMailboxMessage


async def test_the_sink_keeps_one_entry_per_message_id_and_counts_resends(
    email_db: async_sessionmaker[AsyncSession],
) -> None:
    server = await serve(email_db, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    target = smtp.SmtpTarget.parse(f"smtp://127.0.0.1:{port}")
    ctx = EmailContext(
        milestone="confirmed",
        order_id="sink-o-1",
        order_name="#S1",
        tracking_page_url="https://shop.example/track/x",
    )
    message = build_message(
        ctx,
        render(ctx),
        to="buyer@example.com",
        mail_from="orders@shop.example",
        message_id="<notify.sink-test-1@shop.example>",
        date=datetime.now(UTC),
    )
    try:
        await smtp.send(target, message)
        await smtp.send(target, message)  # a resend after a lost acknowledgement
    finally:
        server.close()
        await server.wait_closed()

    async with email_db() as s:
        found = (
            await s.scalars(
                select(DevMailboxMessage).where(
                    DevMailboxMessage.message_id == "<notify.sink-test-1@shop.example>"
                )
            )
        ).all()
    assert len(found) == 1
    (row,) = found
    assert row.copies == 2
    assert (row.milestone, row.order_id, row.shipment_id) == ("confirmed", "sink-o-1", None)
    assert row.rcpt_to == "buyer@example.com"
    assert row.subject == "Order #S1 is confirmed"
