"""A sandbox of Shopify's ``inventory_levels/set.json``, so the Shopify adapter runs for real.

``POST /sandbox/shopify/{shop}/admin/api/{version}/inventory_levels/set.json`` behaves as
the store ``{shop}`` would: it needs the access token of the ``shopify`` channel whose code
is ``{shop}``, resolves the inventory item back to a SKU through that channel's
``inventory_item_ids``, and remembers each ``Idempotency-Key`` in
``sandbox_channel_receipts``: a repeated key gets the first answer and records nothing new.
Point a channel at it with ``base_url = <API>/sandbox/shopify/<channel code>``.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.bounds import PathText
from api.deps import Session
from api.problems import Problem, problem_responses
from api.stock_schemas import (
    ShopifyInventoryLevel,
    ShopifyInventoryLevelAnswer,
    ShopifyInventoryLevelSet,
)
from integrations.channels import record_receipt
from store import channels as repo
from store.tables import Channel

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
        raise Problem(401, "invalid API key or access token", reason="unauthenticated")
    channel = await repo.get_channel(session, shop)
    if channel is None or channel.kind != "shopify":
        raise Problem(404, f"no sandbox Shopify store {shop}", reason="not_found")
    expected = str(channel.config.get("access_token") or "")
    if expected and not hmac.compare_digest(access_token.encode(), expected.encode()):
        raise Problem(401, "invalid API key or access token", reason="unauthenticated")
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
        raise Problem(400, "Idempotency-Key header required", reason="missing_idempotency_key")
    if body.location_id != int(channel.config.get("location_id", -1)):
        raise Problem(422, f"no location {body.location_id} in {shop}", reason="unknown_location")
    items = {int(v): sku for sku, v in channel.config.get("inventory_item_ids", {}).items()}
    sku = items.get(body.inventory_item_id)
    if sku is None:
        raise Problem(
            422, f"inventory item {body.inventory_item_id} does not exist", reason="unknown_item"
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
