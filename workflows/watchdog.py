"""``StuckWatchdogWorkflow``: one sweep for stuck orders, started every minute by the
``stuck-watchdog`` Schedule (overlap skipped; ``oms.background``).

The order workflows are left as they are: the sweep activity looks at them from outside
(visibility listing, describe, the read model), so a workflow whose own tasks fail, which
cannot run its SLA timer, is still found. See
docs/decisions/0010-analytics-reads-and-the-stuck-watchdog.md.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from domain import names
from domain.watchdog import WatchdogInput, WatchdogSweep


@workflow.defn
class StuckWatchdogWorkflow:
    @workflow.run
    async def run(self, inp: WatchdogInput) -> WatchdogSweep:
        # A sweep that fails is simply the next minute's work: retry it little.
        return await workflow.execute_activity(
            names.SWEEP_STUCK_ORDERS,
            inp,
            result_type=WatchdogSweep,
            start_to_close_timeout=timedelta(seconds=50),
            retry_policy=RetryPolicy(maximum_attempts=2),
        )
