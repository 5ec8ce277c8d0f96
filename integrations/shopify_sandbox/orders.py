"""The sandbox store's orders as documents: Shopify-style ids, a new order from a REST
``orders.json`` body, an order edit, and the per-shop ``Store`` that loads and saves them
under a row lock (``sandbox_shopify_orders``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from store.tables import SandboxShopifyOrder

#: Ids of an order's parts are ``<order id> * SPAN + n``, so a part's id names its order.
SPAN = 1000


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def gid_number(value: str, kind: str) -> int | None:
    prefix = f"gid://shopify/{kind}/"
    if not value.startswith(prefix):
        return None
    try:
        return int(value.removeprefix(prefix))
    except ValueError:
        return None


def owner_id(value: str, kind: str) -> int | None:
    """The id of the order that the part ``value`` (a gid of ``kind``) belongs to."""
    number = gid_number(value, kind)
    return number // SPAN if number is not None else None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_order_id() -> int:
    """A 13-digit order id, as Shopify's look; ``id * SPAN`` still fits a bigint."""
    return 10**12 + uuid4().int % (9 * 10**12)


def new_order(shop: str, order_id: int, number: int, body: dict[str, Any]) -> dict[str, Any]:
    """A sandbox order from a REST ``orders.json`` body: its REST answer (``rest``) and one
    open fulfillment order holding every line (a one-location store)."""
    lines: list[dict[str, Any]] = []
    for i, item in enumerate(body.get("line_items") or [], start=1):
        lines.append(
            {
                "id": order_id * SPAN + 500 + i,
                "sku": str(item["sku"]),
                "quantity": int(item["quantity"]),
                "price": str(item.get("price", "0")),
                "title": item.get("title") or str(item["sku"]),
            }
        )
    name = f"#{number}"
    rest = {
        **{k: v for k, v in body.items() if k != "line_items"},
        "id": order_id,
        "name": name,
        "created_at": now_iso(),
        "admin_graphql_api_id": gid("Order", order_id),
        "line_items": lines,
    }
    rest.setdefault("currency", "USD")
    rest.setdefault("financial_status", "paid")
    rest.setdefault(
        "total_price",
        str(sum(Decimal(ln["price"]) * int(ln["quantity"]) for ln in lines)),
    )
    return {
        "shop": shop,
        "id": order_id,
        "name": name,
        "rest": rest,
        "cancelledAt": None,
        "cancelReason": None,
        "cancel": None,
        "fulfillmentOrders": [
            {
                "id": order_id * SPAN + 1,
                "status": "OPEN",
                "holds": [],
                "lines": [
                    {
                        "id": order_id * SPAN + 100 + i,
                        "lineItemId": ln["id"],
                        "sku": ln["sku"],
                        "title": ln["title"],
                        "totalQuantity": ln["quantity"],
                        "remainingQuantity": ln["quantity"],
                    }
                    for i, ln in enumerate(lines, start=1)
                ],
            }
        ],
        "fulfillments": [],
        "seq": 0,
    }


def edit_order(doc: dict[str, Any], add: dict[str, int], remove: dict[int, int]) -> dict[str, Any]:
    """Apply an order edit, as Shopify's ``orderEditBegin`` … ``orderEditCommit`` would:
    ``add`` new line items (SKU → units), ``remove`` units of existing ones (line item id
    → units, at most what is left unfulfilled). Changes ``doc``; returns the body Shopify
    posts as the ``orders/edited`` webhook (additions and removals by line item id).

    Raises:
        ValueError: an unknown line item or more units than it has left to fulfil.
    """
    rest = doc["rest"]
    fo = doc["fulfillmentOrders"][0]
    by_item = {ln["lineItemId"]: ln for fo_ in doc["fulfillmentOrders"] for ln in fo_["lines"]}
    removals = []
    for item_id, units in sorted(remove.items()):
        line = by_item.get(item_id)
        item = next((li for li in rest["line_items"] if li["id"] == item_id), None)
        if line is None or item is None:
            raise ValueError(f"no line item {item_id}")
        if units <= 0 or units > line["remainingQuantity"]:
            raise ValueError(f"line item {item_id} has {line['remainingQuantity']} unfulfilled")
        item.setdefault("original_quantity", item["quantity"])
        item["quantity"] -= units
        line["totalQuantity"] -= units
        line["remainingQuantity"] -= units
        removals.append({"id": item_id, "delta": units})
    additions = []
    for sku, units in sorted(add.items()):
        if units <= 0:
            raise ValueError(f"{sku}: add at least one unit")
        n = len(rest["line_items"]) + 1
        item_id = int(doc["id"]) * SPAN + 500 + n
        rest["line_items"].append(
            {"id": item_id, "sku": sku, "quantity": units, "price": "0", "title": sku}
        )
        fo["lines"].append(
            {
                "id": int(doc["id"]) * SPAN + 100 + n,
                "lineItemId": item_id,
                "sku": sku,
                "title": sku,
                "totalQuantity": units,
                "remainingQuantity": units,
            }
        )
        additions.append({"id": item_id, "delta": units})
    doc["edits"] = int(doc.get("edits", 0)) + 1
    return {
        "order_edit": {
            "id": int(doc["id"]) * SPAN + 900 + doc["edits"],
            "order_id": doc["id"],
            "created_at": now_iso(),
            "notify_customer": False,
            "staff_note": "",
            "line_items": {"additions": additions, "removals": removals},
        }
    }


def next_part_id(doc: dict[str, Any]) -> int:
    """A new id for a part of the order (a fulfillment, event, hold, job), counted in ``seq``."""
    doc["seq"] = int(doc.get("seq", 0)) + 1
    return int(doc["id"]) * SPAN + 200 + doc["seq"]


@dataclass
class Store:
    """The orders of one shop, read and changed inside one transaction."""

    session: AsyncSession
    shop: str

    async def load(self, order_id: int | None) -> dict[str, Any] | None:
        if order_id is None:
            return None
        row = await self.session.scalar(
            select(SandboxShopifyOrder)
            .where(SandboxShopifyOrder.shop == self.shop, SandboxShopifyOrder.id == order_id)
            .with_for_update()
        )
        return dict(row.doc) if row is not None else None

    async def save(self, doc: dict[str, Any]) -> None:
        row = await self.session.get(SandboxShopifyOrder, (self.shop, int(doc["id"])))
        assert row is not None
        row.doc = doc
        flag_modified(row, "doc")
        await self.session.flush()
