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

An API order also carries an ``Idempotency-Key``: the same key with the same request is
answered as the first time (and heals a crash before the start), with another request is
a 422; the channel's order again under a new key is a 200, or a 409 if its content differs
(:func:`replayed`, :func:`take_in_keyed`).
"""

from __future__ import annotations

import hashlib
import json
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
from api.problems import Problem
from api.schemas.orders import OrderIn
from api.temporal import TRANSIENT, unavailable
from domain import names
from domain.codes import ProblemCode
from domain.models import Address, OrderInput, OrderLine
from domain.status import OrderStatus
from domain.tagging import tags_for
from integrations.shopify import safe_id
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


# --- API orders: the Idempotency-Key -------------------------------------------------------


def order_input(body: OrderIn, settings: Settings) -> OrderInput:
    """The workflow input of an API order (also what the tag rules preview evaluates)."""
    return OrderInput(
        order_id=safe_id(f"{body.channel}-{body.external_id}"),
        external_id=body.external_id,
        channel=body.channel,
        name=body.external_id,
        email=body.email,
        customer_name=body.customer_name,
        shipping_address=Address(**body.shipping_address.model_dump()),
        shipping_method=body.shipping_method,
        lines=[
            OrderLine(sku=ln.sku, quantity=ln.quantity, unit_price=ln.unit_price)
            for ln in body.lines
        ],
        financial_status=body.financial_status,
        currency=body.currency.upper(),
        total=sum((ln.unit_price * ln.quantity for ln in body.lines), start=0),  # type: ignore[arg-type]
        tags=list(dict.fromkeys(body.tags)),
        note=body.note,
        options=settings.order_options(),
    )


def request_hash_of(body: OrderIn) -> str:
    """What an Idempotency-Key is checked against: the request's content."""
    return hashlib.sha256(
        json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()
    ).hexdigest()


@dataclass(frozen=True)
class KeyedOrder:
    """An API order with its Idempotency-Key and the hash of the request it came in."""

    order: OrderInput
    idempotency_key: str
    request_hash: str

    @classmethod
    def of(cls, body: OrderIn, settings: Settings, idempotency_key: str) -> KeyedOrder:
        return cls(order_input(body, settings), idempotency_key, request_hash_of(body))


async def replayed(
    session: AsyncSession, client: Client, settings: Settings, keyed: KeyedOrder
) -> IntakeResult | None:
    """The first answer to this Idempotency-Key again; None for a key not seen before.

    Raises:
        Problem: 422 ``idempotency_key_reused`` when the key came with another request.
    """
    seen = await session.scalar(
        select(OrderIntake.order_id).where(OrderIntake.idempotency_key == keyed.idempotency_key)
    )
    if seen is None:
        return None
    row = await session.get(OrderIntake, seen)
    assert row is not None
    return await _replay(session, client, settings, keyed, row)


async def take_in_keyed(
    session: AsyncSession, client: Client, settings: Settings, keyed: KeyedOrder
) -> IntakeResult:
    """:func:`take_in` for an API order under a new Idempotency-Key.

    Raises:
        Problem: 409 ``duplicate_order`` when the channel's order was taken in before with
            other content; 422 when a concurrent request with the same key but another
            request won the insert.
    """
    order = keyed.order
    result = await take_in(
        session,
        client,
        settings,
        order,
        metric_channel=order.channel,
        idempotency_key=keyed.idempotency_key,
        request_hash=keyed.request_hash,
    )
    if result.created:
        return result
    row = await session.get(OrderIntake, result.order_id)
    if row is not None and row.idempotency_key == keyed.idempotency_key:
        # a concurrent request with the same key won the insert
        return await _replay(session, client, settings, keyed, row)
    if row is not None and row.request_hash != keyed.request_hash:
        raise Problem(
            409,
            f"order {order.channel}/{order.external_id} was already received "
            "with different content",
            reason=ProblemCode.DUPLICATE_ORDER,
            extra={"order_id": result.order_id},
        )
    return result


async def _replay(
    session: AsyncSession, client: Client, settings: Settings, keyed: KeyedOrder, row: OrderIntake
) -> IntakeResult:
    if row.request_hash != keyed.request_hash:
        raise Problem(
            422,
            "this Idempotency-Key was used with a different request",
            reason=ProblemCode.IDEMPOTENCY_KEY_REUSED,
            extra={"order_id": row.order_id},
        )
    if row.order_id == keyed.order.order_id:  # heals a crash before the start
        await start_order(client, settings, await with_tagging(session, settings, keyed.order))
    return IntakeResult(order_id=row.order_id, created=False)
