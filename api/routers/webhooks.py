"""Shopify webhooks: ``orders/create``, ``orders/paid``, ``orders/cancelled``,
``orders/updated`` (a changed shipping address) and ``orders/edited`` (generation 10).

The HMAC is verified over the raw body before it is parsed. Every topic is deduplicated by
``X-Shopify-Webhook-Id`` (Shopify redelivers until it gets a 2xx), and a refusal that a
retry cannot change (the order already shipped) is acknowledged with 200, not an error,
so Shopify stops retrying.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage

from api import intake
from api.deps import AppSettings, Session, Temporal
from api.input_guard import BodyLimit, body_limit
from api.metrics import WEBHOOK_REJECTIONS
from api.problems import Problem, problem_responses
from api.schemas.orders import WebhookAck
from api.temporal import TRANSIENT, is_not_found, refusal, unavailable
from domain import names
from domain.codes import ProblemCode
from domain.models import AddressChange, CancelInput
from integrations import shopify
from store import channels as channel_repo
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
#: The shop and the delivery id are stored with the receipt (``varchar(200)``).
MAX_HEADER_CHARS = 200


def _reject(reason: ProblemCode, status: int, detail: str) -> Problem:
    WEBHOOK_REJECTIONS.labels("shopify", reason).inc()
    return Problem(status, detail, reason=reason)


@router.post(
    "/shopify",
    status_code=202,
    response_model=WebhookAck,
    responses={
        200: {"model": WebhookAck, "description": "repeated delivery"},
        **problem_responses(401, 404, 413, 415, 422, 503),
    },
    # Signed raw bytes (the HMAC covers them), up to OMS_MAX_WEBHOOK_BODY_BYTES.
    openapi_extra=body_limit(BodyLimit.WEBHOOK, "application/json"),
)
async def shopify_webhook(
    request: Request,
    response: Response,
    session: Session,
    client: Temporal,
    settings: AppSettings,
) -> WebhookAck:
    body = await request.body()
    if not shopify.verify_signature(
        body, request.headers.get("x-shopify-hmac-sha256"), settings.shopify_webhook_secret
    ):
        raise _reject(ProblemCode.BAD_SIGNATURE, 401, "missing or invalid X-Shopify-Hmac-Sha256")
    topic = request.headers.get("x-shopify-topic", "")
    shop = request.headers.get("x-shopify-shop-domain", "")
    webhook_id = request.headers.get("x-shopify-webhook-id")
    if not shop:
        raise _reject(ProblemCode.INVALID_PAYLOAD, 422, "missing X-Shopify-Shop-Domain")
    if len(shop) > MAX_HEADER_CHARS or len(webhook_id or "") > MAX_HEADER_CHARS:
        raise _reject(
            ProblemCode.INVALID_PAYLOAD,
            422,
            f"X-Shopify-Shop-Domain and X-Shopify-Webhook-Id: at most {MAX_HEADER_CHARS} chars",
        )
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        raise _reject(
            ProblemCode.INVALID_PAYLOAD, 422, f"body is not a JSON object: {exc}"
        ) from exc

    if topic == shopify.TOPIC_CREATE:
        return await _create(payload, shop, webhook_id, response, session, client, settings)
    if topic in (
        shopify.TOPIC_PAID,
        shopify.TOPIC_CANCELLED,
        shopify.TOPIC_UPDATED,
        shopify.TOPIC_EDITED,
    ):
        return await _existing(topic, payload, shop, webhook_id, response, session, client)
    response.status_code = 200  # a topic we do not subscribe to: acknowledge, do nothing
    return WebhookAck(status="ignored")


async def _create(
    payload: dict[str, Any],
    shop: str,
    webhook_id: str | None,
    response: Response,
    session: Session,
    client: Temporal,
    settings: AppSettings,
) -> WebhookAck:
    options = settings.order_options()
    try:
        order = shopify.to_order_input(payload, shop_domain=shop, options=options)
    except shopify.InvalidPayload as exc:
        raise _reject(ProblemCode.INVALID_PAYLOAD, 422, str(exc)) from exc
    writeback = await channel_repo.writeback_channel_for(session, shop)
    if writeback is not None:
        order = order.model_copy(update={"writeback_channel": writeback})
    new_receipt = await intake.record_receipt(
        session,
        webhook_id=webhook_id,
        source="shopify",
        topic=shopify.TOPIC_CREATE,
        shop=shop,
        order_id=order.order_id,
    )
    result = await intake.take_in(
        session, client, settings, order, metric_channel="shopify", receipt_new=new_receipt
    )
    if not result.created:
        response.status_code = 200
        return WebhookAck(order_id=result.order_id, status="duplicate")
    return WebhookAck(order_id=result.order_id)


async def _existing(
    topic: str,
    payload: dict[str, Any],
    shop: str,
    webhook_id: str | None,
    response: Response,
    session: Session,
    client: Temporal,
) -> WebhookAck:
    try:
        edit = None
        if topic == shopify.TOPIC_EDITED:
            external_id, edit = shopify.order_edit_of(payload)
        else:
            _, external_id = shopify.order_ref(payload, shop)
        address = shopify.shipping_address_of(payload) if topic == shopify.TOPIC_UPDATED else None
    except shopify.InvalidPayload as exc:
        raise _reject(ProblemCode.INVALID_PAYLOAD, 422, str(exc)) from exc
    order_id = await intake.find_by_channel(
        session, f"shopify:{shopify.shop_slug(shop)}", external_id
    )
    if order_id is None:
        raise Problem(404, f"no order {external_id} from {shop}", reason=ProblemCode.UNKNOWN_ORDER)
    if not await intake.record_receipt(
        session, webhook_id=webhook_id, source="shopify", topic=topic, shop=shop, order_id=order_id
    ):
        await session.rollback()
        response.status_code = 200
        return WebhookAck(order_id=order_id, status="duplicate")
    handle = client.get_workflow_handle(names.order_workflow_id(order_id))
    # Wait only for acceptance (compensation can take longer than Shopify waits); the
    # delivery's id makes a redelivery the same Update.
    once: dict[str, Any] = {
        "id": f"shopify-{webhook_id}" if webhook_id else None,
        "wait_for_stage": WorkflowUpdateStage.ACCEPTED,
    }
    outcome = "accepted"
    try:
        if topic == shopify.TOPIC_PAID:
            await handle.signal(OrderWorkflow.payment_received)
        elif edit is not None:
            await handle.start_update(OrderWorkflow.note_edit, edit, **once)
        elif topic == shopify.TOPIC_UPDATED:
            if address is None:
                outcome = "ignored: no shipping address"
            else:
                # The order compares, re-verifies and re-routes (or flags) on its own time.
                change = AddressChange(address=address)
                await handle.start_update(OrderWorkflow.change_address, change, **once)
        else:
            reason = str(payload.get("cancel_reason") or "cancelled in Shopify")
            cancel = CancelInput(reason=reason, source="shopify")
            await handle.start_update(OrderWorkflow.cancel, cancel, **once)
    except WorkflowUpdateFailedError as exc:
        refused = refusal(exc)
        outcome = f"refused: {refused[0] if refused else 'error'}"
    except TRANSIENT as exc:
        if not is_not_found(exc):
            await session.rollback()
            raise unavailable(exc) from exc
        outcome = "ignored: the order has finished"
    await session.commit()
    response.status_code = 200 if outcome != "accepted" else 202
    return WebhookAck(order_id=order_id, status=outcome)
