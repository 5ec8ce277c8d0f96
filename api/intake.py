"""Taking an order in exactly once, whatever crashes or retries happen on the way.

The intake rows (webhook receipt, ``order_intake``) and the workflow start share one DB
transaction, and the workflow is started *before* the commit with the id conflict policy
``USE_EXISTING``:

* Temporal down → the start fails, the transaction rolls back, the caller gets 503 and
  retries: nothing was stored, nothing started.
* Crash after the start, before the commit → the rows are gone but the workflow runs; the
  retry inserts the rows and its start attaches to the running workflow (no duplicate).
* Crash after the commit, before the answer → the retry finds the rows (→ 200) and starts
  again with ``USE_EXISTING``, which is a no-op.

The workflow id is the business key (``order-<order_id>``) and ``REJECT_DUPLICATE`` keeps a
finished order from ever being started a second time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.metrics import ORDERS_RECEIVED
from api.temporal import TRANSIENT, unavailable
from domain import names
from domain.models import OrderInput
from domain.status import OrderStatus
from domain.tagging import tags_for
from oms.settings import Settings
from store.tables import OrderIntake, WebhookReceipt
from store.tagging import tagging_context
from store.templates import load_templates
from workflows.order import OrderWorkflow

ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
TAGS = SearchAttributeKey.for_keyword_list("Tags")


@dataclass(frozen=True)
class IntakeResult:
    order_id: str
    created: bool  # False: a repeated delivery of an order already taken in


async def record_receipt(
    session: AsyncSession,
    *,
    webhook_id: str | None,
    source: str,
    topic: str,
    shop: str | None,
    order_id: str | None,
) -> bool:
    """Insert a webhook receipt; False if this delivery was seen before (or has no id)."""
    if not webhook_id:
        return True
    inserted = await session.scalar(
        insert(WebhookReceipt)
        .values(webhook_id=webhook_id, source=source, topic=topic, shop=shop, order_id=order_id)
        .on_conflict_do_nothing()
        .returning(WebhookReceipt.webhook_id)
    )
    return inserted is not None


async def find_by_channel(session: AsyncSession, channel: str, external_id: str) -> str | None:
    return await session.scalar(
        select(OrderIntake.order_id).where(
            OrderIntake.channel == channel, OrderIntake.external_id == external_id
        )
    )


async def with_tagging(session: AsyncSession, settings: Settings, order: OrderInput) -> OrderInput:
    """``order`` with what its workflow needs to tag it: the tag rules in force (and their
    version), its products' catalog tags, the home country and the fulfillment templates,
    read in ``session``."""
    if order.tagging is not None:
        return order
    context = await tagging_context(session, order, settings.home_country)
    _, templates = await load_templates(session)
    return order.model_copy(update={"tagging": context, "templates": templates})


async def start_order(client: Client, settings: Settings, order: OrderInput) -> None:
    """Start (or attach to) the order's workflow.

    Raises:
        Problem: 503 when Temporal cannot be reached.
    """
    try:
        await client.start_workflow(
            OrderWorkflow.run,
            order,
            id=names.order_workflow_id(order.order_id),
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(ORDER_STATUS, OrderStatus.RECEIVED.value),
                    SearchAttributePair(TAGS, tags_for(order).tags),
                ]
            ),
        )
    except WorkflowAlreadyStartedError:
        pass  # it ran and finished: REJECT_DUPLICATE is the answer we want
    except TRANSIENT as exc:
        raise unavailable(exc) from exc


async def take_in(
    session: AsyncSession,
    client: Client,
    settings: Settings,
    order: OrderInput,
    *,
    metric_channel: str,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
    receipt_new: bool = True,
) -> IntakeResult:
    """Insert the intake row, start the workflow, commit (see the module docstring).

    ``receipt_new`` is False when the caller's webhook receipt already existed. The order
    is started with its tagging context (:func:`with_tagging`).
    """
    order = await with_tagging(session, settings, order)
    inserted = await session.scalar(
        insert(OrderIntake)
        .values(
            order_id=order.order_id,
            channel=order.channel,
            external_id=order.external_id,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
        )
        .on_conflict_do_nothing()
        .returning(OrderIntake.order_id)
    )
    order_id = inserted or await find_by_channel(session, order.channel, order.external_id)
    order_id = order_id or order.order_id
    if order_id == order.order_id:
        try:
            await start_order(client, settings, order)
        except Exception:
            await session.rollback()
            raise
    await session.commit()
    created = inserted is not None and receipt_new
    if created:
        ORDERS_RECEIVED.labels(metric_channel).inc()
    return IntakeResult(order_id=order_id, created=created)
