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
SCAN_STAGES = Histogram(
    "oms_scan_stage_seconds",
    "Time a scan spends in each stage of the API: read (Postgres, before the workflow), "
    "update (the shipment workflow's answer), write (the scan_events row)",
    ["stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
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


class StageTimer:
    """Where one request's time goes, stage by stage.

    Each stage is observed in :data:`SCAN_STAGES` (ops: which part of a slow scan is slow)
    and rendered as a ``Server-Timing`` header (browser dev tools on the scan station, and
    the scan bench, read it).
    """

    def __init__(self) -> None:
        self._mark = time.perf_counter()
        self.spent: dict[str, float] = {}

    def done(self, stage: str) -> None:
        """The stage that started at the previous mark ends now."""
        now = time.perf_counter()
        self.spent[stage] = now - self._mark
        SCAN_STAGES.labels(stage).observe(self.spent[stage])
        self._mark = now

    def skip(self) -> None:
        """Time since the previous mark belongs to no stage (parsing, refusing)."""
        self._mark = time.perf_counter()

    def header(self) -> str:
        return ", ".join(f"{stage};dur={s * 1000:.2f}" for stage, s in self.spent.items())
