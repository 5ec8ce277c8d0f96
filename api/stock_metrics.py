"""Stock gauges read from Postgres at scrape time: SKUs under their low-stock threshold,
``low_stock`` events raised, and each channel's sync lag.

They describe the database, not this process, so every API replica reports the same
values (alert on ``max``). Computed per scrape (a few indexed queries) instead of being
pushed from the worker, which exposes only the Temporal SDK's metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import channels, low_stock

log = logging.getLogger(__name__)


class StockMetrics(Collector):
    """Holds the last values read; ``refresh`` (async) reads, ``collect`` (sync) reports."""

    def __init__(self) -> None:
        self.below = 0
        self.low_stock_events = 0
        self.lag: dict[str, int] = {}
        self.fresh = False

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        try:
            async with sessions() as session:
                self.below = await low_stock.count_below(session)
                self.low_stock_events = await low_stock.count_events(session)
                self.lag = {
                    s.channel.code: s.lag
                    for s in await channels.list_channels(session)
                    if s.channel.active
                }
            self.fresh = True
        except Exception:  # a scrape must still answer when the database does not
            log.exception("stock metrics: database read failed")
            self.fresh = False

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "oms_low_stock_skus",
            "SKUs whose available stock (active warehouses) is under their low-stock threshold",
            value=self.below,
        )
        yield CounterMetricFamily(
            "oms_low_stock_events",
            "low_stock events raised (one per downward crossing of a SKU's threshold)",
            value=self.low_stock_events,
        )
        lag = GaugeMetricFamily(
            "oms_channel_sync_lag",
            "Inventory outbox rows a channel has not been brought past yet",
            labels=["channel"],
        )
        for code, rows in sorted(self.lag.items()):
            lag.add_metric([code], rows)
        yield lag
        yield GaugeMetricFamily(
            "oms_stock_metrics_fresh",
            "1 if the stock gauges were read from Postgres at this scrape, else 0",
            value=1 if self.fresh else 0,
        )


#: Registered once at import, like api/metrics.py's metrics (tests build many apps).
STOCK_METRICS = StockMetrics()
REGISTRY.register(STOCK_METRICS)
