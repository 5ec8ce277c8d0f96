"""A sandbox of Shopify's ``inventory_levels/set.json``, so the Shopify adapter runs for real.

``POST /sandbox/shopify/{shop}/admin/api/{version}/inventory_levels/set.json`` behaves as
the store ``{shop}`` would: it needs the access token of the ``shopify`` channel whose code
is ``{shop}``, resolves the inventory item back to a SKU through that channel's
``inventory_item_ids``, and remembers each ``Idempotency-Key`` in
``sandbox_channel_receipts``: a repeated key gets the first answer and records nothing new.
Point a channel at it with ``base_url = <API>/sandbox/shopify/<channel code>``.

The same store answers the GraphQL Admin API the write-back uses (``graphql.json``:
fulfillments, events, holds, cancellation; ``integrations/shopify_sandbox/``) and takes
orders (``orders.json``), answering with the body Shopify posts as ``orders/create``.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import flag_modified

from api.bounds import PathText, RowId
from api.deps import Session
from api.problems import Problem, problem_responses
from api.schemas.stock import (
    ShopifyInventoryLevel,
    ShopifyInventoryLevelAnswer,
    ShopifyInventoryLevelSet,
)
from domain.codes import ProblemCode
from integrations import shopify_sandbox as gql
from integrations.channels import record_receipt
from store import channels as repo
from store.tables import Channel, SandboxShopifyOrder

router = APIRouter(prefix="/sandbox/shopify", tags=["sandbox"])


async def shop_channel(
    shop: PathText,
    session: Session,
    access_token: Annotated[
        str | None, Header(alias="X-Shopify-Access-Token", max_length=200)
    ] = None,
) -> Channel:
    """The store's channel, once its access token is checked: like Shopify, the token is
    checked before the body is read (401 for a bad body without a token, not 422)."""
    if not access_token:
        raise Problem(401, "invalid API key or access token", reason=ProblemCode.UNAUTHENTICATED)
    channel = await repo.get_channel(session, shop)
    if channel is None or channel.kind != "shopify":
        raise Problem(404, f"no sandbox Shopify store {shop}", reason=ProblemCode.NOT_FOUND)
    expected = str(channel.config.get("access_token") or "")
    if expected and not hmac.compare_digest(access_token.encode(), expected.encode()):
        raise Problem(401, "invalid API key or access token", reason=ProblemCode.UNAUTHENTICATED)
    return channel


@router.post(
    "/{shop}/admin/api/{version}/inventory_levels/set.json",
    response_model=ShopifyInventoryLevelAnswer,
    responses=problem_responses(400, 401, 404, 422),
)
async def set_inventory_level(
    shop: PathText,
    version: PathText,
    channel: Annotated[Channel, Depends(shop_channel)],
    body: ShopifyInventoryLevelSet,
    request: Request,
    session: Session,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> ShopifyInventoryLevelAnswer:
    if not idempotency_key:
        raise Problem(
            400, "Idempotency-Key header required", reason=ProblemCode.MISSING_IDEMPOTENCY_KEY
        )
    if body.location_id != int(channel.config.get("location_id", -1)):
        raise Problem(
            422, f"no location {body.location_id} in {shop}", reason=ProblemCode.UNKNOWN_LOCATION
        )
    items = {int(v): sku for sku, v in channel.config.get("inventory_item_ids", {}).items()}
    sku = items.get(body.inventory_item_id)
    if sku is None:
        raise Problem(
            422,
            f"inventory item {body.inventory_item_id} does not exist",
            reason=ProblemCode.UNKNOWN_ITEM,
        )
    await session.close()  # the receipt is its own transaction
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    receipt = await record_receipt(
        sessions,
        channel=shop,
        idempotency_key=idempotency_key,
        sku=sku,
        available=body.available,
        payload={"api_version": version, **body.model_dump()},
    )
    return ShopifyInventoryLevelAnswer(
        inventory_level=ShopifyInventoryLevel(
            inventory_item_id=body.inventory_item_id,
            location_id=body.location_id,
            available=receipt.available,
            updated_at=datetime.now(UTC),
            admin_graphql_api_id=f"gid://shopify/InventoryLevel/{body.location_id}"
            f"?inventory_item_id={body.inventory_item_id}",
        )
    )


def _state(request: Request) -> gql.SandboxShopify:
    state = getattr(request.app.state, "sandbox_shopify", None)
    if state is None:
        state = request.app.state.sandbox_shopify = gql.SandboxShopify()
    return state


@router.post(
    "/{shop}/admin/api/{version}/graphql.json",
    responses=problem_responses(400, 401, 404),
)
async def graphql_admin(
    shop: PathText,
    version: PathText,
    channel: Annotated[Channel, Depends(shop_channel)],
    request: Request,
    session: Session,
    body: Annotated[dict[str, Any], Body()],
) -> JSONResponse:
    """Shopify's GraphQL Admin API for the sandbox store ``{shop}``: the fulfillment,
    hold and cancel mutations and the order query, with user errors and throttling."""
    query = body.get("query")
    variables = body.get("variables") or {}
    if not isinstance(query, str) or not isinstance(variables, dict):
        raise Problem(400, "body must be {query, variables}", reason=ProblemCode.INVALID_REQUEST)
    mutation = gql.is_mutation(query)
    state = _state(request)
    allowed, extensions = state.cost_extensions(
        shop, channel.config, gql.MUTATION_COST if mutation else gql.QUERY_COST
    )
    if not allowed:
        return JSONResponse(
            {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/rate-limits",
                        },
                    }
                ],
                "extensions": extensions,
            }
        )
    await session.close()  # the GraphQL call is its own transaction
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions.begin() as own:
        answer, changed = await gql.execute(own, shop, query, variables)
    if changed and state.lose_answer(shop, channel.config):
        # Applied, and the answer never reaches the caller: a dropped connection.
        return JSONResponse({"errors": [{"message": "upstream connection lost"}]}, 502)
    answer["extensions"] = extensions
    return JSONResponse(answer)


@router.post(
    "/{shop}/admin/api/{version}/orders.json",
    status_code=201,
    responses=problem_responses(401, 404, 422),
)
async def create_order(
    shop: PathText,
    version: PathText,
    channel: Annotated[Channel, Depends(shop_channel)],
    session: Session,
    body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    """An order sold by the sandbox store: ``{"order": {line_items: [{sku, quantity,
    price}], email, shipping_address, ...}}``. The answer's ``order`` is the body Shopify
    posts as the ``orders/create`` webhook; the store then has one open fulfillment order
    with every line."""
    order = body.get("order")
    items = order.get("line_items") if isinstance(order, dict) else None
    if not isinstance(order, dict) or not isinstance(items, list) or not items:
        raise Problem(422, "order.line_items required", reason=ProblemCode.INVALID_PAYLOAD)
    for item in items:
        if (
            not isinstance(item, dict)
            or not item.get("sku")
            or not isinstance(item.get("quantity"), int)
            or item["quantity"] <= 0
        ):
            raise Problem(
                422,
                "each line item needs a sku and a quantity > 0",
                reason=ProblemCode.INVALID_PAYLOAD,
            )
    count = await session.scalar(
        select(func.count())
        .select_from(SandboxShopifyOrder)
        .where(SandboxShopifyOrder.shop == shop)
    )
    order_id = gql.new_order_id()
    doc = gql.new_order(shop, order_id, 1001 + int(count or 0), order)
    session.add(SandboxShopifyOrder(shop=shop, id=order_id, doc=doc))
    await session.commit()
    return {"order": doc["rest"]}


@router.get(
    "/{shop}/admin/api/{version}/orders/{order_id}.json", responses=problem_responses(401, 404)
)
async def read_order(
    shop: PathText,
    version: PathText,
    order_id: RowId,
    channel: Annotated[Channel, Depends(shop_channel)],
    session: Session,
) -> dict[str, Any]:
    """What the sandbox store holds of an order: the REST order and, under ``graphql``,
    its fulfillment orders, holds, fulfillments and events, cancellation."""
    row = await session.get(SandboxShopifyOrder, (shop, order_id))
    if row is None:
        raise Problem(404, f"no order {order_id} in {shop}", reason=ProblemCode.NOT_FOUND)
    return {"order": row.doc["rest"], "graphql": gql.order_view(row.doc)}


@router.post(
    "/{shop}/admin/api/{version}/orders/{order_id}/edits.json",
    responses=problem_responses(401, 404, 422),
)
async def edit_order(
    shop: PathText,
    version: PathText,
    order_id: RowId,
    channel: Annotated[Channel, Depends(shop_channel)],
    session: Session,
    body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    """A staff edit of a sandbox order (Shopify's ``orderEditBegin`` … ``orderEditCommit``
    in one call): ``{"edit": {"add": [{sku, quantity}], "remove": [{line_item_id,
    quantity}]}}``. The answer is the body Shopify posts as ``orders/edited``; the order's
    line items (GraphQL ``Order.lineItems``) and its fulfillment order change with it."""
    edit = body.get("edit")
    try:
        if not isinstance(edit, dict):
            raise ValueError("edit required")
        add = {str(a["sku"]): int(a["quantity"]) for a in edit.get("add") or []}
        remove = {int(r["line_item_id"]): int(r["quantity"]) for r in edit.get("remove") or []}
    except (KeyError, TypeError, ValueError) as exc:
        raise Problem(422, f"invalid edit: {exc}", reason=ProblemCode.INVALID_PAYLOAD) from exc
    if not add and not remove:
        raise Problem(422, "the edit adds and removes nothing", reason=ProblemCode.INVALID_PAYLOAD)
    row = await session.scalar(
        select(SandboxShopifyOrder)
        .where(SandboxShopifyOrder.shop == shop, SandboxShopifyOrder.id == order_id)
        .with_for_update()
    )
    if row is None:
        raise Problem(404, f"no order {order_id} in {shop}", reason=ProblemCode.NOT_FOUND)
    doc = dict(row.doc)
    try:
        answer = gql.edit_order(doc, add, remove)
    except ValueError as exc:
        raise Problem(422, str(exc), reason=ProblemCode.INVALID_EDIT) from exc
    row.doc = doc
    flag_modified(row, "doc")
    await session.commit()
    return answer
