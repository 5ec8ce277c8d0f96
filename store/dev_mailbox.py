"""What ``oms dev``'s SMTP sink caught (``dev_mailbox``), one row per Message-ID.

The sink runs in its own process and the API in another; both reach Postgres, so the
mailbox lives there (docs/decisions/0006-customer-emails-outbox.md). A second copy of a
Message-ID (a resend after a lost acknowledgement) counts in ``copies`` instead of showing
twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import DevMailboxMessage

#: The list shows this many, newest first.
LIST_LIMIT = 500


@dataclass(frozen=True)
class CaughtMail:
    message_id: str
    mail_from: str
    rcpt_to: str
    subject: str
    milestone: str | None
    order_id: str | None
    shipment_id: str | None
    raw: str


async def record(session: AsyncSession, mail: CaughtMail) -> int:
    """Store a caught message, or count another copy of it; returns its copies so far."""
    stmt = insert(DevMailboxMessage).values(
        message_id=mail.message_id,
        mail_from=mail.mail_from,
        rcpt_to=mail.rcpt_to,
        subject=mail.subject,
        milestone=mail.milestone,
        order_id=mail.order_id,
        shipment_id=mail.shipment_id,
        raw=mail.raw,
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=["message_id"],
        set_={"copies": DevMailboxMessage.copies + 1, "last_at": stmt.excluded.last_at},
    ).returning(DevMailboxMessage.copies)
    copies = await session.scalar(upsert)
    return int(copies or 1)


async def newest(session: AsyncSession, limit: int = LIST_LIMIT) -> list[DevMailboxMessage]:
    rows = await session.scalars(
        select(DevMailboxMessage)
        .order_by(DevMailboxMessage.first_at.desc(), DevMailboxMessage.id.desc())
        .limit(limit)
    )
    return list(rows.all())


async def one(session: AsyncSession, mail_id: int) -> DevMailboxMessage | None:
    return await session.get(DevMailboxMessage, mail_id)
