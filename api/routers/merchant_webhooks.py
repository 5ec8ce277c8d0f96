"""Merchant webhooks out (admin): subscribe a URL to topics, list, delete, read the
deliveries and queue one again. Sending is the worker's dispatcher, never this request
path (docs/decisions/0007-merchant-webhooks-outbox-drain.md). Shopify's inbound webhook
is ``api/routers/webhooks.py``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import Admin
from api.bounds import PathText, RowId
from api.deps import Session
from api.problems import Problem, problem_responses
from api.schemas.merchant_webhooks import (
    DeliveryOut,
    WebhookCreated,
    WebhookDeleted,
    WebhookIn,
    WebhookOut,
)
from domain.codes import ProblemCode
from domain.merchant_webhooks import PENDING
from store import merchant_webhooks as repo
from store.tables import WebhookDelivery, WebhookSubscription

router = APIRouter(
    prefix="/api/v1/webhooks", tags=["merchant webhooks"], responses=problem_responses(401, 403)
)


def _out(row: WebhookSubscription) -> WebhookOut:
    return WebhookOut.model_validate(
        {
            "webhook_id": row.webhook_id,
            "url": row.url,
            "topics": row.topics,
            "created_at": row.created_at,
        }
    )


def _delivery(row: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut.model_validate(
        {
            "delivery_id": row.delivery_id,
            "event_id": row.event_id,
            "topic": row.topic,
            "status": row.status,
            "attempts": row.attempts,
            "last_status_code": row.last_status_code,
            "last_error": row.last_error,
            "next_attempt_at": row.next_attempt_at if row.status == PENDING else None,
            "delivered_at": row.delivered_at,
            "created_at": row.created_at,
            "redelivery_of": row.redelivery_of,
        }
    )


async def _subscription(session: Session, webhook_id: str) -> WebhookSubscription:
    row = await repo.get_active(session, webhook_id)
    if row is None:
        raise Problem(404, f"no webhook {webhook_id}", reason=ProblemCode.NOT_FOUND)
    return row


@router.post("", status_code=201, response_model=WebhookCreated, responses=problem_responses(422))
async def create_webhook(body: WebhookIn, session: Session, _: Admin) -> WebhookCreated:
    """Subscribe ``url`` to ``topics``: from the commit on, every matching change of the
    read model is queued for it. The signing secret is in this answer only."""
    row = await repo.create_subscription(session, body.url, list(body.topics))
    await session.commit()
    return WebhookCreated.model_validate(
        {"webhook_id": row.webhook_id, "secret": row.secret, "url": row.url, "topics": row.topics}
    )


@router.get("", response_model=list[WebhookOut])
async def list_webhooks(session: Session, _: Admin) -> list[WebhookOut]:
    return [_out(row) for row in await repo.list_subscriptions(session)]


@router.delete("/{webhook_id}", response_model=WebhookDeleted, responses=problem_responses(404))
async def delete_webhook(webhook_id: PathText, session: Session, _: Admin) -> WebhookDeleted:
    """Stop the subscription: nothing more is queued and what was pending is not sent."""
    if not await repo.deactivate(session, webhook_id):
        raise Problem(404, f"no webhook {webhook_id}", reason=ProblemCode.NOT_FOUND)
    await session.commit()
    return WebhookDeleted(webhook_id=webhook_id)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=list[DeliveryOut],
    responses=problem_responses(404, 422),
)
async def list_deliveries(
    webhook_id: PathText,
    session: Session,
    _: Admin,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[DeliveryOut]:
    """The subscription's deliveries, newest first."""
    await _subscription(session, webhook_id)
    return [_delivery(r) for r in await repo.list_deliveries(session, webhook_id, limit)]


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryOut,
    responses=problem_responses(404),
)
async def redeliver(
    webhook_id: PathText, delivery_id: RowId, session: Session, _: Admin
) -> DeliveryOut:
    """Queue the delivery's event again (same ``event_id``), as a new delivery at the back
    of the subscription's queue; the answer is that new delivery."""
    await _subscription(session, webhook_id)
    row = await repo.redeliver(session, webhook_id, delivery_id)
    if row is None:
        raise Problem(
            404, f"no delivery {delivery_id} of webhook {webhook_id}", reason=ProblemCode.NOT_FOUND
        )
    await session.commit()
    return _delivery(row)
