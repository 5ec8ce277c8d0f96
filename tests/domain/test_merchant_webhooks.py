"""The delivery body, its signature and the retry schedule."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

from domain.merchant_webhooks import RetryPolicy, body, sign, verify


def test_the_body_is_signed_as_sent() -> None:
    raw = body("e-1", "order.created", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), {"a": 1})
    assert json.loads(raw) == {
        "event_id": "e-1",
        "topic": "order.created",
        "occurred_at": "2026-01-02T03:04:05+00:00",
        "data": {"a": 1},
    }
    expected = hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    assert sign(raw, "s3cret") == expected
    assert verify(raw, "s3cret", expected)
    assert not verify(raw, "other", expected)
    assert not verify(raw + b" ", "s3cret", expected)


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(first=10, cap=60, window=3600)
    assert [policy.delay(n) for n in range(1, 7)] == [10, 20, 40, 60, 60, 60]
    assert RetryPolicy().window == 24 * 3600


def test_the_dispatcher_takes_its_schedule_from_the_environment() -> None:
    from oms.settings import Settings
    from oms.webhook_dispatcher import DispatchConfig

    default = DispatchConfig.from_settings(Settings())
    assert default.policy == RetryPolicy(first=10, cap=3600, window=24 * 3600)
    assert default.timeout == 10
    config = DispatchConfig.from_settings(
        Settings(
            OMS_WEBHOOK_RETRY_HOURS=2,
            OMS_WEBHOOK_TIMEOUT_SECONDS=3,
            OMS_WEBHOOK_BACKOFF_SECONDS=1,
            OMS_WEBHOOK_BACKOFF_MAX_SECONDS=60,
        )
    )
    assert config.policy == RetryPolicy(first=1, cap=60, window=7200)
    assert config.timeout == 3
