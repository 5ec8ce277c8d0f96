"""The API's Prometheus metrics (the worker's SDK metrics are served by the worker).

Defined once at import: ``prometheus_client`` refuses to register a name twice, and tests
build many apps in one process.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "oms_http_requests_total",
    "HTTP requests by route template and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "oms_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "route"],
)
ORDERS_RECEIVED = Counter(
    "oms_orders_received_total", "Orders accepted at intake (first delivery only)", ["channel"]
)
SCANS = Counter(
    "oms_scans_total", "Scan attempts by outcome and refusal reason", ["outcome", "reason"]
)
WEBHOOK_REJECTIONS = Counter(
    "oms_webhook_rejections_total",
    "Webhooks refused (bad signature, invalid payload)",
    ["source", "reason"],
)
TEMPORAL_UNAVAILABLE = Counter(
    "oms_temporal_unavailable_total", "Requests answered 503 because Temporal was unreachable"
)
