"""Customer notifications, once per milestone (the ``notifications`` ledger's key)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from domain import names
from domain.models import NotifyRequest
from store.projection import record_notification


class NotificationActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn(name=names.NOTIFY_CUSTOMER)
    async def notify_customer(self, req: NotifyRequest) -> bool:
        """Record and send a milestone message; False when it was already sent."""
        async with self.sessions.begin() as session:
            return await record_notification(session, req)
