"""Order gauges read from Postgres at scrape time: orders stuck past a step's SLA, and
orders the stuck-order watchdog marked (failing activities or workflow tasks, no progress).

Like ``api/stock_metrics.py`` they describe the database, so every API replica reports
the same values (alert on ``max``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.status import OrderStatus, StuckReason
from domain.summary import OrderSummary
from domain.watchdog import WatchReason
from store import watchdog
from store.tables import OrderEventRow, OrderRow, OrderStatusCount, ShipmentRow

log = logging.getLogger(__name__)


class OrderMetrics(Collector):
    def __init__(self) -> None:
        self.stuck: dict[str, int] = {}
        self.watched: dict[str, int] = {}
        self.shipments_stuck: dict[str, int] = {}
        self.by_status: dict[str, int] = {}
        self.intake_oldest = 0.0
        self.stuck_events = 0

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        try:
            async with sessions() as session:
                reason = OrderRow.summary["stuck_reason"].astext
                rows = await session.execute(
                    select(reason, func.count()).where(OrderRow.stuck).group_by(reason)
                )
                self.stuck = {}
                for text, n in rows.all():  # by step: the text's machine part (OrderSummary)
                    step = OrderSummary(stuck_reason=text).stuck_step() or "unknown"
                    self.stuck[step] = self.stuck.get(step, 0) + int(n)
                self.watched = await watchdog.counts_by_reason(session)
                # Orders per status: the trigger-kept shards the dashboard's tabs sum.
                per_status = await session.execute(
                    select(OrderStatusCount.status, func.sum(OrderStatusCount.n)).group_by(
                        OrderStatusCount.status
                    )
                )
                self.by_status = {str(st): int(n or 0) for st, n in per_status.all()}
                # Shipments' own stuck marks (carrier trouble), via ix_shipments_stuck.
                marks = await session.execute(
                    select(ShipmentRow.stuck_reason, func.count())
                    .where(ShipmentRow.stuck_reason.is_not(None))
                    .group_by(ShipmentRow.stuck_reason)
                )
                self.shipments_stuck = {str(r): int(n) for r, n in marks.all()}
                # The oldest order still at intake (ix_orders_status_keyset).
                oldest = await session.scalar(
                    select(func.min(OrderRow.created_at)).where(
                        OrderRow.status == OrderStatus.RECEIVED.value
                    )
                )
                now = await session.scalar(select(func.now()))
                self.intake_oldest = (
                    max((now - oldest).total_seconds(), 0.0) if oldest and now else 0.0
                )
                self.stuck_events = int(
                    await session.scalar(select(func.count()).where(OrderEventRow.type == "stuck"))
                    or 0
                )
        except Exception:  # a scrape must still answer when the database does not
            log.exception("order metrics: database read failed")

    def collect(self) -> Iterator[Metric]:
        stuck = GaugeMetricFamily(
            "oms_orders_stuck",
            "Orders stuck: past a step's SLA (reason sla, by step), or marked by the"
            " watchdog (reason activity_failing, workflow_task_failing, no_progress)",
            labels=["reason", "step"],
        )
        for step, n in sorted(self.stuck.items()):
            stuck.add_metric(["sla", step], n)
        for reason in WatchReason:
            stuck.add_metric([reason.value, ""], self.watched.get(reason.value, 0))
        yield stuck
        orders = GaugeMetricFamily("oms_orders", "Orders by status", labels=["status"])
        for status in OrderStatus:
            orders.add_metric([status.value], self.by_status.get(status.value, 0))
        yield orders
        shipments = GaugeMetricFamily(
            "oms_shipments_stuck",
            "Shipments marked stuck on their carrier, by reason (carrier_exception,"
            " carrier_unavailable, tracking_stale)",
            labels=["reason"],
        )
        for carrier_reason in StuckReason:
            value = self.shipments_stuck.get(carrier_reason.value, 0)
            shipments.add_metric([carrier_reason.value], value)
        yield shipments
        yield GaugeMetricFamily(
            "oms_orders_intake_oldest_seconds",
            "Age of the oldest order still at intake (status received); 0 when none",
            value=self.intake_oldest,
        )
        yield CounterMetricFamily(
            "oms_order_sla_breaches",
            "Step SLA breaches (an order marked stuck), ever",
            value=self.stuck_events,
        )


ORDER_METRICS = OrderMetrics()
REGISTRY.register(ORDER_METRICS)
