"""Carrier tracking webhooks: verified, stored durably once, then signalled to the shipment.

A repeated event (same ``event_id``, or without one the same number, status and time) is
stored once and answered 202 ``duplicate``; it is signalled again only if the first
delivery was stored but never reached the workflow (the API died in between), and the
workflow applies one event once whatever it hears (``event_key``). Events are applied in
order of occurrence by the workflow (domain/tracking.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import ValidationError
from sqlalchemy import select

from api.deps import AppSettings, Session, Temporal
from api.input_guard import BodyLimit, body_limit
from api.metrics import WEBHOOK_REJECTIONS
from api.problems import Problem, problem_responses
from api.schemas.shipments import CarrierAck, CarrierEventIn
from api.temporal import TRANSIENT, is_not_found, unavailable
from domain import names
from domain.codes import ProblemCode
from domain.models import TrackingEvent
from store import carrier_events
from store.tables import LabelLedger
from workflows.fulfillment import FulfillmentWorkflow

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks/carriers", tags=["webhooks"])


def carrier_signature(body: bytes, secret: str) -> str:
    """``X-OMS-Signature``: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@router.post(
    "/{carrier}",
    status_code=202,
    response_model=CarrierAck,
    responses=problem_responses(401, 404, 413, 415, 422, 503),
    openapi_extra=body_limit(BodyLimit.DEFAULT, "application/json"),
)
async def carrier_event(
    carrier: Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")],
    request: Request,
    session: Session,
    client: Temporal,
    settings: AppSettings,
) -> CarrierAck:
    body = await request.body()
    given = request.headers.get("x-oms-signature", "").strip().lower()
    expected = carrier_signature(body, settings.carrier_webhook_secret)
    if not given or not hmac.compare_digest(expected.encode(), given.encode()):
        WEBHOOK_REJECTIONS.labels("carrier", "bad_signature").inc()
        raise Problem(401, "missing or invalid X-OMS-Signature", reason=ProblemCode.BAD_SIGNATURE)
    try:
        event = CarrierEventIn.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        WEBHOOK_REJECTIONS.labels("carrier", ProblemCode.INVALID_PAYLOAD).inc()
        raise Problem(
            422, f"invalid tracking event: {exc}", reason=ProblemCode.INVALID_PAYLOAD
        ) from exc
    shipment_id = await session.scalar(
        select(LabelLedger.shipment_id).where(LabelLedger.tracking_number == event.tracking_number)
    )
    if shipment_id is None:
        raise Problem(
            404,
            f"unknown tracking number {event.tracking_number}",
            reason=ProblemCode.UNKNOWN_TRACKING_NUMBER,
        )
    report = TrackingEvent(
        tracking_number=event.tracking_number,
        status=event.status,
        occurred_at=event.occurred_at,
        detail=event.detail,
        location=event.location,
    )
    stored = await carrier_events.store_event(session, carrier, shipment_id, report, event.event_id)
    await session.commit()  # durable before the workflow hears of it
    if stored.signalled:
        return CarrierAck(shipment_id=shipment_id, status=event.status, duplicate=True)
    handle = client.get_workflow_handle(names.fulfillment_workflow_id(shipment_id))
    try:
        await handle.signal(
            FulfillmentWorkflow.track,
            report.model_copy(update={"event_key": str(stored.id)}),
        )
    except TRANSIENT as exc:
        if not is_not_found(exc):
            raise unavailable(exc) from exc
        log.info("tracking event for finished shipment %s kept, not signalled", shipment_id)
    await carrier_events.mark_signalled(session, stored.id)
    await session.commit()
    return CarrierAck(shipment_id=shipment_id, status=event.status, duplicate=stored.repeated)
