"""Ops views (stuck orders) and the process probes and metrics."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api.auth import Ops
from api.deps import Session
from api.notification_metrics import NOTIFICATION_METRICS
from api.order_metrics import ORDER_METRICS
from api.problems import problem_responses
from api.schemas.ops import Health, StuckOrder
from api.stock_metrics import STOCK_METRICS
from api.webhook_metrics import WEBHOOK_METRICS
from domain.summary import OrderSummary
from store import orders as read
from store import watchdog

router = APIRouter(tags=["ops"])


@router.get(
    "/api/v1/ops/stuck", response_model=list[StuckOrder], responses=problem_responses(401, 403)
)
async def stuck(session: Session, _: Ops) -> list[StuckOrder]:
    """Orders past a step's SLA (their own timer), and orders the watchdog marked; one
    entry per order: the order's own reason when both (it is the more specific, e.g.
    ``carrier_unavailable``), with what the watchdog saw as ``detail``."""
    found: dict[str, StuckOrder] = {}
    for r in await read.stuck_orders(session):
        summary = OrderSummary.read(r.summary)
        found[r.order_id] = StuckOrder(
            order_id=r.order_id,
            status=r.status,
            stuck_since=summary.stuck_since or r.updated_at,
            reason=summary.stuck_reason or None,
        )
    for mark, status in await watchdog.marks(session):
        own = found.get(mark.order_id)
        if own is not None:
            own.detail = mark.detail
            continue
        found[mark.order_id] = StuckOrder(
            order_id=mark.order_id,
            status=status or "unknown",
            stuck_since=mark.since,
            reason=mark.reason,
            source="watchdog",
            detail=mark.detail,
        )
    return sorted(found.values(), key=lambda o: (o.stuck_since, o.order_id))


@router.get(
    "/metrics",
    response_class=Response,
    include_in_schema=True,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(request: Request) -> Response:
    await STOCK_METRICS.refresh(request.app.state.sessions)
    await ORDER_METRICS.refresh(request.app.state.sessions)
    await NOTIFICATION_METRICS.refresh(request.app.state.sessions)
    await WEBHOOK_METRICS.refresh(request.app.state.sessions)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
async def readyz(request: Request, response: Response) -> Health:
    checks: dict[str, str] = {}
    engine: AsyncEngine = request.app.state.engine
    client: Client = request.app.state.temporal
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready"
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        ok = await client.service_client.check_health(timeout=timedelta(seconds=2))
        checks["temporal"] = "ok" if ok else "error: not serving"
    except Exception as exc:  # any failure means "not ready"
        checks["temporal"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    response.status_code = 200 if ready else 503
    return Health(status="ready" if ready else "not_ready", checks=checks)
