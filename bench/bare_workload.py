"""The bare baseline: ``BareOrderWorkflow`` with the same Updates and Signals as a real
order and no-op activities, started and driven through the Temporal client."""

from __future__ import annotations

import time

from temporalio.client import Client

from bench.bare import (
    BARE_TASK_QUEUE,
    TRACKING_STATUSES,
    BareOrder,
    BareOrderWorkflow,
    BarePack,
    BareScan,
)
from bench.workload import UNITS_PER_ORDER, BenchFailure, PhaseResult, run_pool


class BareWorkload:
    def __init__(self, client: Client, run_id: str) -> None:
        self.client = client
        self.run_id = run_id
        self.counter = 0

    async def one(self, result: PhaseResult) -> None:
        self.counter += 1
        order_id = f"bare-{self.run_id}-{self.counter}"
        started = time.perf_counter()
        handle = await self.client.start_workflow(
            BareOrderWorkflow.run,
            BareOrder(order_id=order_id, units=UNITS_PER_ORDER),
            id=order_id,
            task_queue=BARE_TASK_QUEUE,
        )
        result.add("start", time.perf_counter() - started)
        for n in range(1, UNITS_PER_ORDER + 1):
            t = time.perf_counter()
            await handle.execute_update(
                BareOrderWorkflow.scan, BareScan(scan_id=f"s{n}"), id=f"scan-{n}"
            )
            result.add("update", time.perf_counter() - t)
            result.add(f"update_{n}", time.perf_counter() - t)
        t = time.perf_counter()
        await handle.execute_update(BareOrderWorkflow.pack, BarePack(weight_grams=1000), id="pack")
        result.add("pack", time.perf_counter() - t)
        for status in TRACKING_STATUSES:
            t = time.perf_counter()
            await handle.signal(BareOrderWorkflow.track, status)
            result.add("signal", time.perf_counter() - t)
        outcome = await handle.result()
        if outcome != "delivered":
            raise BenchFailure(f"bare workflow ended {outcome!r}")
        result.add("order", time.perf_counter() - started)
        if len(result.example_ids) < 3:
            result.example_ids.append(order_id)

    async def run(self, name: str, n: int, concurrency: int) -> PhaseResult:
        result = PhaseResult(name, n, concurrency)

        async def one(_: int) -> None:
            await self.one(result)

        await run_pool(n, concurrency, one, result)
        return result
