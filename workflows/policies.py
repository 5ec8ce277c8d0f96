"""Retry policies and timeouts, explicit per kind of dependency
(docs/decisions/0017-retry-policy-per-dependency.md)."""

from datetime import timedelta

from temporalio.common import RetryPolicy


def doubling(initial: timedelta, maximum: timedelta, *answers: str) -> RetryPolicy:
    """Retry for as long as it takes, the wait doubling from ``initial`` up to ``maximum``;
    ``answers``: the error types that are an answer, not a fault, and are never retried."""
    return RetryPolicy(
        initial_interval=initial,
        backoff_coefficient=2.0,
        maximum_interval=maximum,
        non_retryable_error_types=list(answers) or None,
    )


#: Our own database: transient faults (failover, pool exhaustion) retry quickly, forever;
#: a watchdog notices an order whose activity keeps failing.
DATABASE = doubling(timedelta(milliseconds=200), timedelta(seconds=30), "InvalidRequest")
DATABASE_TIMEOUT = timedelta(seconds=30)

#: Payment gateway and carrier: slower back-off; a decline is an answer, not a fault.
EXTERNAL = doubling(timedelta(seconds=1), timedelta(minutes=2), "InvalidRequest", "Declined")
EXTERNAL_TIMEOUT = timedelta(seconds=10)

#: Write-back to the sales channel: Shopify's throttling and 5xx retry with back-off (the
#: activity passes Shopify's own wait as the next delay), for as long as it takes; a
#: refusal (``WritebackRejected``: user errors, 4xx) is an answer, never retried.
CHANNEL_WRITEBACK = doubling(timedelta(seconds=1), timedelta(minutes=5), "WritebackRejected")
CHANNEL_WRITEBACK_TIMEOUT = timedelta(seconds=30)
