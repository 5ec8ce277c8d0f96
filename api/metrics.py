"""The API's Prometheus metrics (the worker's SDK metrics are served by the worker).

Defined once at import: ``prometheus_client`` refuses to register a name twice, and tests
build many apps in one process.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class RequestMetrics:
    """Counts and times every HTTP request by route template (low-cardinality labels).

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` runs each request in an
    extra task with stream plumbing, a measurable cost on the scan path.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")  # set by the router on a match
            template = str(getattr(route, "path", "unmatched"))
            HTTP_REQUESTS.labels(scope["method"], template, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], template).observe(time.perf_counter() - started)
