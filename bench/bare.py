"""The baseline: a bare workflow with the same shape of traffic as a real order.

A real order (``OrderWorkflow`` + its ``FulfillmentWorkflow`` child) runs six regular
activities (allocate_stock, buy_label, commit_stock, notify_customer x3) and receives one
Update per scan call, one pack Update and three carrier Signals. The bare workflow does the
same with no-op activities, no child workflow, no local activities, no search attributes and
no database: what is left is the cost of Temporal itself on this server.

This module is re-imported by the workflow sandbox: no side effects at import.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import RetryPolicy

BARE_TASK_QUEUE = "oms-bench-bare"

#: Carrier milestones a real order receives as Signals, in order.
TRACKING_STATUSES = ("in_transit", "out_for_delivery", "delivered")
#: Milestones after which the real FulfillmentWorkflow notifies the customer (an activity).
NOTIFY_ON = ("out_for_delivery", "delivered")

_TIMEOUT = timedelta(seconds=30)
_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=_TIMEOUT)


class BareOrder(BaseModel):
    order_id: str
    units: int


class BareScan(BaseModel):
    scan_id: str
    quantity: int = 1


class BareScanResult(BaseModel):
    picked: int
    remaining: int


class BarePack(BaseModel):
    weight_grams: int


@activity.defn(name="bare_step")
async def bare_step(step: str) -> str:
    """A no-op activity standing in for allocate / label / commit / notify."""
    return step


@workflow.defn
class BareOrderWorkflow:
    @workflow.init
    def __init__(self, order: BareOrder) -> None:
        self.units = order.units
        self.picked = 0
        self.scans: dict[str, BareScanResult] = {}
        self.pack_request: BarePack | None = None
        self.label: str | None = None
        self.tracking_inbox: list[str] = []

    @workflow.run
    async def run(self, order: BareOrder) -> str:
        await self._step("allocate")
        await workflow.wait_condition(lambda: self.picked >= self.units)
        await workflow.wait_condition(lambda: self.pack_request is not None)
        self.label = await self._step("buy_label")
        await self._step("commit_stock")
        await self._step("notify_shipped")
        delivered = False
        while not delivered:
            await workflow.wait_condition(lambda: bool(self.tracking_inbox))
            status = self.tracking_inbox.pop(0)
            if status in NOTIFY_ON:
                await self._step(f"notify_{status}")
            delivered = status == "delivered"
        return "delivered"

    async def _step(self, name: str) -> str:
        result: str = await workflow.execute_activity(
            bare_step, name, start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY
        )
        return result

    @workflow.update
    def scan(self, scan: BareScan) -> BareScanResult:
        """A no-op pick scan: count it once per scan_id and answer."""
        if scan.scan_id not in self.scans:
            self.picked += scan.quantity
            self.scans[scan.scan_id] = BareScanResult(
                picked=self.picked, remaining=self.units - self.picked
            )
        return self.scans[scan.scan_id]

    @scan.validator
    def _validate_scan(self, scan: BareScan) -> None:
        if scan.scan_id not in self.scans and self.picked + scan.quantity > self.units:
            raise ValueError("over scan")

    @workflow.update
    async def pack(self, request: BarePack) -> str:
        """Like the real pack: hand the parcel to the run loop and wait for its label."""
        if self.pack_request is None:
            self.pack_request = request
        await workflow.wait_condition(lambda: self.label is not None)
        assert self.label is not None
        return self.label

    @workflow.signal
    def track(self, status: str) -> None:
        self.tracking_inbox.append(status)
