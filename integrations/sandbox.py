"""Shared behaviour of sandbox adapters: they act like a remote service would.

Each call takes some latency, sometimes fails transiently, and remembers idempotency keys
in its own table (``sandbox_operations``), so a retried request gets the first answer, even
after the worker that sent it crashed. Half the injected failures happen *after* the remote
side acted (the response was lost), which is exactly the case idempotency keys exist for.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.tables import SandboxOperation


class TransientRemoteError(Exception):
    """The remote service timed out or answered 5xx: safe to retry with the same key."""


@dataclass
class SandboxBehaviour:
    latency_ms: tuple[int, int] = (20, 80)
    failure_rate: float = 0.0
    rng: random.Random | None = None

    def _rng(self) -> random.Random:
        if self.rng is None:
            self.rng = random.Random()
        return self.rng

    async def delay(self) -> None:
        low, high = self.latency_ms
        await asyncio.sleep(self._rng().uniform(low, high) / 1000)

    def fails(self) -> bool:
        return self._rng().random() < self.failure_rate


class SandboxService:
    """A remote service simulated on top of a Postgres table of remembered operations."""

    service = "sandbox"

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], behaviour: SandboxBehaviour
    ) -> None:
        self.sessions = sessions
        self.behaviour = behaviour

    async def once(
        self, key: str, kind: str, act: Callable[[], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        """Run ``act`` at most once per idempotency key and return its remembered result."""
        await self.behaviour.delay()
        if self.behaviour.fails():
            raise TransientRemoteError(f"{self.service}: upstream timeout (before processing)")
        async with self.sessions.begin() as session:
            existing = await session.scalar(
                select(SandboxOperation.result).where(SandboxOperation.idempotency_key == key)
            )
            if existing is None:
                result = await act()
                inserted = await session.scalar(
                    insert(SandboxOperation)
                    .values(idempotency_key=key, service=self.service, kind=kind, result=result)
                    .on_conflict_do_nothing()
                    .returning(SandboxOperation.result)
                )
                existing = inserted
            if existing is None:  # a concurrent request with the same key won the race
                existing = await session.scalar(
                    select(SandboxOperation.result).where(SandboxOperation.idempotency_key == key)
                )
        if self.behaviour.fails():
            raise TransientRemoteError(f"{self.service}: response lost (after processing)")
        assert existing is not None
        return dict(existing)
