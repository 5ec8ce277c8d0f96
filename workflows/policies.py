"""Retry policies and timeouts, explicit per kind of dependency."""

from datetime import timedelta

from temporalio.common import RetryPolicy

#: Our own database: transient faults (failover, pool exhaustion) retry quickly, forever;
#: a watchdog notices an order whose activity keeps failing.
DATABASE = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["InvalidRequest"],
)
DATABASE_TIMEOUT = timedelta(seconds=30)

#: Payment gateway and carrier: slower back-off; a decline is an answer, not a fault.
EXTERNAL = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    non_retryable_error_types=["InvalidRequest", "Declined"],
)
EXTERNAL_TIMEOUT = timedelta(seconds=10)

#: Write-back to the sales channel: Shopify's throttling and 5xx retry with back-off (the
#: activity passes Shopify's own wait as the next delay), for as long as it takes; a
#: refusal (``WritebackRejected``: user errors, 4xx) is an answer, never retried.
CHANNEL_WRITEBACK = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=["WritebackRejected"],
)
CHANNEL_WRITEBACK_TIMEOUT = timedelta(seconds=30)
