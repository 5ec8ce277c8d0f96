"""Write-backs from inside a workflow: a queue of channel writes run one at a time, in the
order decided, in the background of the workflow that owns them (generation 10,
docs/decisions/0009-shopify-write-back.md).

Nothing waits on a write: the order and its shipments go on while Shopify is slow or
throttling, and only finish once their queue is empty. A refused write (user error) is
reported through ``on_refused`` and the queue goes on; writes that depend on it (the
events of a fulfillment Shopify refused) are skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from domain import names
from domain.writeback import WRITEBACK_REJECTED, WritebackRequest, WritebackResult
from workflows import policies

Refused = Callable[[WritebackRequest, str], Awaitable[None]]


class WritebackQueue:
    def __init__(self, on_refused: Refused, on_done: Callable[[WritebackResult], None]) -> None:
        self.pending: list[WritebackRequest] = []
        self.busy = False
        self.refused: dict[str, str] = {}
        self.done: set[str] = set()
        self.on_refused = on_refused
        self.on_done = on_done
        self.runner: asyncio.Task[None] | None = None

    def put(self, request: WritebackRequest) -> None:
        """Queue a write; a key already queued, written or refused is not queued again."""
        if (
            request.key in self.done
            or request.key in self.refused
            or any(p.key == request.key for p in self.pending)
        ):
            return
        self.pending.append(request)
        if self.runner is None or self.runner.done():
            self.runner = asyncio.create_task(self._drain())

    def idle(self) -> bool:
        return not self.pending and not self.busy

    async def drained(self) -> None:
        await workflow.wait_condition(self.idle)

    async def _drain(self) -> None:
        while self.pending:
            request = self.pending[0]
            self.busy = True
            try:
                if request.fulfillment_key in self.refused:
                    self.refused[request.key] = "its fulfillment was refused"
                    continue
                try:
                    result: WritebackResult = await workflow.execute_activity(
                        names.WRITE_BACK,
                        request,
                        result_type=WritebackResult,
                        start_to_close_timeout=policies.CHANNEL_WRITEBACK_TIMEOUT,
                        retry_policy=policies.CHANNEL_WRITEBACK,
                    )
                except ActivityError as exc:
                    cause = exc.cause
                    if not isinstance(cause, ApplicationError) or cause.type != WRITEBACK_REJECTED:
                        raise
                    self.refused[request.key] = cause.message
                    await self.on_refused(request, cause.message)
                    continue
                self.done.add(request.key)
                self.on_done(result)
            finally:
                self.pending.pop(0)
                self.busy = False
