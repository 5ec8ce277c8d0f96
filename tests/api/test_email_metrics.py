"""``/metrics`` reports the customer-email outbox: emails by status and the age of the
oldest one the mail server has not taken yet."""

from __future__ import annotations

import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.models import NotifyRequest
from store.projection import record_notification


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_pending_emails_show_on_metrics(
    http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    before = samples((await http.get("/metrics")).text)
    pending = ("oms_customer_emails", (("status", "pending"),))
    order_id = f"mx-{uuid.uuid4().hex[:8]}"
    async with sessions.begin() as s:
        for milestone in ("confirmed", "cancelled"):
            await record_notification(
                s,
                NotifyRequest(
                    order_id=order_id,
                    email="m@example.com",
                    milestone=milestone,
                    idempotency_key=f"notify-{order_id}-{milestone}",
                ),
            )
    after = samples((await http.get("/metrics")).text)
    # Nobody sends in this test session (no sender runs), so nothing else moves them.
    assert after[pending] >= before.get(pending, 0) + 2
    assert ("oms_customer_emails", (("status", "failed"),)) in after
    assert after[("oms_customer_email_oldest_pending_seconds", ())] >= 0
