"""Generation 10: the order's holds, releases and cancellation written back to its sales
channel (docs/decisions/0009-shopify-write-back.md), through a ``WritebackQueue`` that
runs in the background; a refusal marks the order stuck for ops."""

from __future__ import annotations

from typing import Any

from domain.writeback import WritebackKind, WritebackRequest, WritebackResult
from workflows import patches
from workflows.order.journal import Journal
from workflows.order.state import OrderData
from workflows.order.stuck import StuckFlags
from workflows.writeback import WritebackQueue


class ChannelWrites:
    def __init__(self, data: OrderData, journal: Journal, stuck: StuckFlags) -> None:
        self.data = data
        self.journal = journal
        self.stuck = stuck
        self.queue: WritebackQueue | None = None

    def open(self) -> None:
        """Called once the generation is known: only generation 10 orders that name a
        write-back channel write back."""
        if self.data.gen >= patches.GENERATION_10.since and self.data.order.writeback_channel:
            self.queue = WritebackQueue(self._refused, self._done)

    @property
    def active(self) -> bool:
        return self.queue is not None

    def put(self, kind: WritebackKind, suffix: str, **fields: Any) -> None:
        """Queue a write (nothing waits on it); keyed by order and ``suffix``, once."""
        if self.queue is None:
            return
        order = self.data.order
        self.queue.put(
            WritebackRequest(
                key=f"{order.order_id}:{suffix}",
                kind=kind,
                channel=order.writeback_channel or "",
                order_id=order.order_id,
                external_id=order.external_id,
                **fields,
            )
        )

    async def drained(self) -> None:
        """Wait until the channel heard everything (the order does not end before)."""
        if self.queue is not None:
            await self.queue.drained()

    def _done(self, result: WritebackResult) -> None:
        self.journal.event(
            "channel_written", key=result.key, remote_id=result.remote_id, existing=result.existing
        )

    async def _refused(self, request: WritebackRequest, why: str) -> None:
        self.stuck.note_channel_refusal(f"{request.kind.value}: {why}")
        await self.journal.flush()
