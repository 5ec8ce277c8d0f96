"""Customer notifications, once per milestone (the ``notifications`` ledger's key)."""

from __future__ import annotations

import logging

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from domain.models import NotifyRequest
from store.tables import Notification
from workflows import names

log = logging.getLogger(__name__)


class NotificationActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn(name=names.NOTIFY_CUSTOMER)
    async def notify_customer(self, req: NotifyRequest) -> bool:
        """Record and send a milestone message; False when it was already sent.

        Delivery is a log line until the email channel lands; the ledger row is what makes
        "once per milestone" hold across retries and replays.
        """
        async with self.sessions.begin() as session:
            inserted = await session.scalar(
                insert(Notification)
                .values(
                    idempotency_key=req.idempotency_key,
                    order_id=req.order_id,
                    milestone=req.milestone,
                    email=req.email,
                )
                .on_conflict_do_nothing()
                .returning(Notification.idempotency_key)
            )
        if inserted is not None:
            log.info("notify %s: order %s is %s", req.email, req.order_id, req.milestone)
        return inserted is not None
