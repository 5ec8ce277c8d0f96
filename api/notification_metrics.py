"""Customer-email outbox gauges, read from Postgres at scrape time: how many emails wait,
were sent, or failed for good, and how old the oldest waiting one is. Like
``api/order_metrics.py`` they describe the database, so every API replica reports the same
values (alert on ``max``): a growing ``pending`` or an old oldest-pending means the mail
server is refusing or the sender is not running; any ``failed`` means a customer was not told.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.notifications import FAILED, PENDING, SENT, outbox_counts

log = logging.getLogger(__name__)


class NotificationMetrics(Collector):
    def __init__(self) -> None:
        self.by_status: dict[str, int] = {}
        self.oldest_pending: datetime | None = None

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        try:
            async with sessions() as session:
                counts = await outbox_counts(session)
            self.by_status = counts.by_status
            self.oldest_pending = counts.oldest_pending
        except Exception:  # a scrape must still answer when the database does not
            log.exception("notification metrics: database read failed")

    def collect(self) -> Iterator[Metric]:
        emails = GaugeMetricFamily(
            "oms_customer_emails",
            "Customer emails in the outbox by status (pending, sent, failed)",
            labels=["status"],
        )
        for status in (PENDING, SENT, FAILED):
            emails.add_metric([status], self.by_status.get(status, 0))
        yield emails
        age = (
            (datetime.now(UTC) - self.oldest_pending).total_seconds()
            if self.oldest_pending is not None
            else 0.0
        )
        yield GaugeMetricFamily(
            "oms_customer_email_oldest_pending_seconds",
            "Age of the oldest customer email not yet accepted by the mail server (0: none)",
            value=max(age, 0.0),
        )


NOTIFICATION_METRICS = NotificationMetrics()
REGISTRY.register(NOTIFICATION_METRICS)
