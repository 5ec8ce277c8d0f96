"""Merchant webhooks out: the topics, the body a receiver gets, its signature and the
retry schedule. Pure (no I/O), so the dispatcher, the API and the tests share one rule.

Receivers verify ``X-OMS-Signature`` = hex HMAC-SHA256 of the raw body with the secret
they were given at subscription, and deduplicate on ``event_id`` (delivery is at least
once: a crash between the POST and recording its answer sends it again).
See docs/decisions/0007-merchant-webhooks-outbox-drain.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Topic = Literal[
    "order.created",
    "order.status_changed",
    "shipment.shipped",
    "shipment.delivered",
    "shipment.exception",
]
TOPICS: tuple[str, ...] = (
    "order.created",
    "order.status_changed",
    "shipment.shipped",
    "shipment.delivered",
    "shipment.exception",
)

#: Delivery states as the deliveries list shows them.
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"

SIGNATURE_HEADER = "X-OMS-Signature"
EVENT_ID_HEADER = "X-OMS-Event-Id"
TOPIC_HEADER = "X-OMS-Topic"


def body(event_id: str, topic: str, occurred_at: datetime, data: dict[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed): compact JSON, keys in a fixed order."""
    doc = {
        "event_id": event_id,
        "topic": topic,
        "occurred_at": occurred_at.isoformat(),
        "data": data,
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True, default=str).encode()


def sign(raw: bytes, secret: str) -> str:
    """Hex HMAC-SHA256 of the raw body with the subscription's secret."""
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def verify(raw: bytes, secret: str, signature: str) -> bool:
    """What a receiver does (and the tests' receiver): constant-time comparison."""
    return hmac.compare_digest(sign(raw, secret), signature)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff, capped, inside a window counted from the delivery's start.

    ``first`` seconds after the first failure, doubling up to ``cap``; once the next
    attempt would fall after ``window`` seconds the delivery is failed for good (and the
    subscription's next event may go). Injectable so tests need not wait 24 h.
    """

    first: float = 10.0
    cap: float = 3600.0
    window: float = 24 * 3600.0

    def delay(self, attempts: int) -> float:
        """Seconds before the next attempt after ``attempts`` failed ones (>= 1)."""
        return float(min(self.cap, self.first * 2 ** max(0, attempts - 1)))
