"""Merchant-webhook delivery metrics read from Postgres at scrape time: deliveries
delivered and failed for good (counters) and pending (gauge).

The dispatcher runs in the worker, which exposes only the Temporal SDK's metrics, so the
API reports what the database says, like ``api/stock_metrics.py``: every replica reports
the same values (alert on ``max``). The counters are two rows the dispatcher increments
with each finished delivery (``webhook_delivery_totals``), not a count of a growing table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.merchant_webhooks import DELIVERED, FAILED, PENDING
from store import merchant_webhooks

log = logging.getLogger(__name__)


class WebhookMetrics(Collector):
    """Holds the last values read; ``refresh`` (async) reads, ``collect`` (sync) reports."""

    def __init__(self) -> None:
        self.totals: dict[str, int] = {DELIVERED: 0, FAILED: 0, PENDING: 0}

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        try:
            async with sessions() as session:
                self.totals = await merchant_webhooks.totals(session)
        except Exception:  # a scrape must still answer when the database does not
            log.exception("webhook metrics: database read failed")

    def collect(self) -> Iterator[Metric]:
        done = CounterMetricFamily(
            "oms_webhook_deliveries",
            "Merchant webhook deliveries finished, by outcome (failed: retry window spent)",
            labels=["outcome"],
        )
        for outcome in (DELIVERED, FAILED):
            done.add_metric([outcome], self.totals.get(outcome, 0))
        yield done
        yield GaugeMetricFamily(
            "oms_webhook_deliveries_pending",
            "Merchant webhook deliveries waiting to be sent or retried",
            value=self.totals.get(PENDING, 0),
        )


#: Registered once at import, like the other collectors (tests build many apps).
WEBHOOK_METRICS = WebhookMetrics()
REGISTRY.register(WEBHOOK_METRICS)
