"""The sandbox Shopify store's GraphQL Admin API: the part the write-back uses, with
Shopify's shapes, user errors and cost-based throttling.

A real GraphQL server (graphql-core, over the SDL below): a client gets exactly the fields
it selects, a misspelt field is a GraphQL error as Shopify's would be. The store's orders
live in ``sandbox_shopify_orders`` (one JSON document each, changed under a row lock); they
are made by ``POST /sandbox/shopify/{shop}/admin/api/{version}/orders.json`` (see
``api/routers/sandbox_shopify.py``), whose answer is the body Shopify would post as the
``orders/create`` webhook, and edited by ``POST .../orders/{id}/edits.json``
(:func:`edit_order`), whose answer is the ``orders/edited`` body; ``Order.lineItems``
tells which SKU an edit's line item ids are.

Behaviour the write-back must cope with, as Shopify's:

* ``userErrors`` for what can never succeed (a quantity over what remains to fulfil, a
  fulfillment order that is closed, on hold or cancelled, a cancelled order...).
* A leaky bucket per shop (``sandbox_bucket_size``, default 1000 points;
  ``sandbox_restore_rate``, default 50/s; a query costs 10, a mutation 10): past it the
  answer is ``errors[{extensions: {code: THROTTLED}}]`` with ``extensions.cost``.
  ``sandbox_throttle_first: N`` throttles the first N calls of this API process.
* ``sandbox_lose_first: N``: the first N mutations are applied and their answer lost
  (HTTP 502), as a connection dropped after Shopify acted would be.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

from graphql import GraphQLError, build_schema, graphql
from graphql.type import GraphQLResolveInfo
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from store.tables import SandboxShopifyOrder

SDL = """
scalar DateTime
scalar URL

enum FulfillmentOrderStatus { OPEN IN_PROGRESS ON_HOLD CLOSED CANCELLED INCOMPLETE SCHEDULED }
enum FulfillmentHoldReason {
  AWAITING_PAYMENT HIGH_RISK_OF_FRAUD INCORRECT_ADDRESS INVENTORY_OUT_OF_STOCK OTHER
  AWAITING_RETURN_ITEMS UNKNOWN_DELIVERY_DATE
}
enum FulfillmentStatus { SUCCESS CANCELLED ERROR FAILURE }
enum FulfillmentEventStatus {
  ATTEMPTED_DELIVERY CARRIER_PICKED_UP CONFIRMED DELAYED DELIVERED FAILURE IN_TRANSIT
  LABEL_PRINTED LABEL_PURCHASED OUT_FOR_DELIVERY PICKED_UP READY_FOR_PICKUP
}
enum OrderCancelReason { CUSTOMER DECLINED FRAUD INVENTORY OTHER STAFF }

type UserError { field: [String!] message: String! }
type FulfillmentOrderHoldUserError { field: [String!] message: String! code: String }
type OrderCancelUserError { field: [String!] message: String! code: String }

type LineItem { id: ID! sku: String quantity: Int! currentQuantity: Int! title: String }
type LineItemConnection { nodes: [LineItem!]! }
type FulfillmentOrderLineItem {
  id: ID! sku: String totalQuantity: Int! remainingQuantity: Int! lineItem: LineItem!
}
type FulfillmentOrderLineItemConnection { nodes: [FulfillmentOrderLineItem!]! }
type FulfillmentHold {
  id: ID! handle: String reason: FulfillmentHoldReason! reasonNotes: String
}
type FulfillmentOrder {
  id: ID!
  status: FulfillmentOrderStatus!
  fulfillmentHolds: [FulfillmentHold!]!
  lineItems(first: Int): FulfillmentOrderLineItemConnection!
}
type FulfillmentOrderConnection { nodes: [FulfillmentOrder!]! }
type FulfillmentTrackingInfo { company: String number: String url: URL }
type FulfillmentLineItem { id: ID! quantity: Int lineItem: LineItem! }
type FulfillmentLineItemConnection { nodes: [FulfillmentLineItem!]! }
type FulfillmentEvent {
  id: ID! status: FulfillmentEventStatus! happenedAt: DateTime! message: String
}
type FulfillmentEventConnection { nodes: [FulfillmentEvent!]! }
type Fulfillment {
  id: ID!
  status: FulfillmentStatus!
  createdAt: DateTime!
  trackingInfo(first: Int): [FulfillmentTrackingInfo!]!
  fulfillmentLineItems(first: Int): FulfillmentLineItemConnection!
  events(first: Int): FulfillmentEventConnection!
}
type Order {
  id: ID!
  name: String!
  cancelledAt: DateTime
  cancelReason: OrderCancelReason
  lineItems(first: Int): LineItemConnection!
  fulfillmentOrders(first: Int): FulfillmentOrderConnection!
  fulfillments(first: Int): [Fulfillment!]!
}
type Job { id: ID! done: Boolean! }

input FulfillmentOrderLineItemInput { id: ID! quantity: Int! }
input FulfillmentOrderLineItemsInput {
  fulfillmentOrderId: ID!
  fulfillmentOrderLineItems: [FulfillmentOrderLineItemInput!]
}
input FulfillmentTrackingInput { company: String number: String url: URL }
input FulfillmentInput {
  lineItemsByFulfillmentOrder: [FulfillmentOrderLineItemsInput!]!
  trackingInfo: FulfillmentTrackingInput
  notifyCustomer: Boolean
}
input FulfillmentEventInput {
  fulfillmentId: ID! status: FulfillmentEventStatus! happenedAt: DateTime message: String
}
input FulfillmentOrderHoldInput {
  reason: FulfillmentHoldReason! reasonNotes: String handle: String notifyMerchant: Boolean
}

type FulfillmentCreatePayload { fulfillment: Fulfillment userErrors: [UserError!]! }
type FulfillmentEventCreatePayload {
  fulfillmentEvent: FulfillmentEvent userErrors: [UserError!]!
}
type FulfillmentOrderHoldPayload {
  fulfillmentHold: FulfillmentHold
  fulfillmentOrder: FulfillmentOrder
  userErrors: [FulfillmentOrderHoldUserError!]!
}
type FulfillmentOrderReleaseHoldPayload {
  fulfillmentOrder: FulfillmentOrder userErrors: [FulfillmentOrderHoldUserError!]!
}
type OrderCancelPayload { job: Job orderCancelUserErrors: [OrderCancelUserError!]! }

type Query {
  order(id: ID!): Order
  fulfillment(id: ID!): Fulfillment
}
type Mutation {
  fulfillmentCreate(fulfillment: FulfillmentInput!, message: String): FulfillmentCreatePayload
  fulfillmentEventCreate(fulfillmentEvent: FulfillmentEventInput!): FulfillmentEventCreatePayload
  fulfillmentOrderHold(
    id: ID!, fulfillmentHold: FulfillmentOrderHoldInput!
  ): FulfillmentOrderHoldPayload
  fulfillmentOrderReleaseHold(id: ID!, holdIds: [ID!]): FulfillmentOrderReleaseHoldPayload
  orderCancel(
    orderId: ID!, reason: OrderCancelReason!, refund: Boolean!, restock: Boolean!,
    notifyCustomer: Boolean, staffNote: String
  ): OrderCancelPayload
}
"""

SCHEMA = build_schema(SDL)

QUERY_COST = 10
MUTATION_COST = 10

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


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- the store: orders as documents -------------------------------------------------------


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


def _next(doc: dict[str, Any]) -> int:
    doc["seq"] = int(doc.get("seq", 0)) + 1
    return int(doc["id"]) * SPAN + 200 + doc["seq"]


def _line_item(ln: dict[str, Any]) -> dict[str, Any]:
    return {"id": gid("LineItem", ln["lineItemId"]), "sku": ln["sku"], "title": ln["title"]}


def order_view(doc: dict[str, Any]) -> dict[str, Any]:
    """The ``Order`` as the GraphQL API shows it."""
    return {
        "id": gid("Order", doc["id"]),
        "name": doc["name"],
        "cancelledAt": doc.get("cancelledAt"),
        "cancelReason": doc.get("cancelReason"),
        "lineItems": {
            "nodes": [
                {
                    "id": gid("LineItem", ln["id"]),
                    "sku": ln["sku"],
                    "title": ln["title"],
                    "quantity": ln.get("original_quantity", ln["quantity"]),
                    "currentQuantity": ln["quantity"],
                }
                for ln in doc["rest"]["line_items"]
            ]
        },
        "fulfillmentOrders": {"nodes": [fo_view(fo) for fo in doc["fulfillmentOrders"]]},
        "fulfillments": [fulfillment_view(f) for f in doc["fulfillments"]],
    }


def fo_view(fo: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": gid("FulfillmentOrder", fo["id"]),
        "status": fo["status"],
        "fulfillmentHolds": [
            {**h, "id": gid("FulfillmentHold", h["id"])} for h in fo.get("holds", [])
        ],
        "lineItems": {
            "nodes": [
                {
                    "id": gid("FulfillmentOrderLineItem", ln["id"]),
                    "sku": ln["sku"],
                    "totalQuantity": ln["totalQuantity"],
                    "remainingQuantity": ln["remainingQuantity"],
                    "lineItem": {**_line_item(ln), "quantity": ln["totalQuantity"]},
                }
                for ln in fo["lines"]
            ]
        },
    }


def fulfillment_view(f: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": gid("Fulfillment", f["id"]),
        "status": f["status"],
        "createdAt": f["createdAt"],
        "trackingInfo": f["trackingInfo"],
        "fulfillmentLineItems": {
            "nodes": [
                {
                    "id": gid("FulfillmentLineItem", int(f["id"]) * 10 + i),
                    "quantity": ln["quantity"],
                    "lineItem": {
                        "id": gid("LineItem", ln["lineItemId"]),
                        "sku": ln["sku"],
                        "title": ln["sku"],
                        "quantity": ln["quantity"],
                    },
                }
                for i, ln in enumerate(f["lines"], start=1)
            ]
        },
        "events": {"nodes": [{**e, "id": gid("FulfillmentEvent", e["id"])} for e in f["events"]]},
    }


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


def _err(message: str, *path: str, code: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"field": list(path) or None, "message": message}
    if code is not None:
        out["code"] = code
    return out


def _owner(value: str, kind: str) -> int | None:
    number = gid_number(value, kind)
    return number // SPAN if number is not None else None


# --- resolvers ----------------------------------------------------------------------------


async def resolve_order(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    store: Store = info.context["store"]
    doc = await store.load(gid_number(id, "Order"))
    return order_view(doc) if doc else None


async def resolve_fulfillment(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    store: Store = info.context["store"]
    doc = await store.load(_owner(id, "Fulfillment"))
    number = gid_number(id, "Fulfillment")
    for f in (doc or {}).get("fulfillments", []):
        if f["id"] == number:
            return fulfillment_view(f)
    return None


async def fulfillment_create(
    _: Any, info: GraphQLResolveInfo, fulfillment: dict[str, Any], message: str | None = None
) -> dict[str, Any]:
    store: Store = info.context["store"]
    groups = fulfillment["lineItemsByFulfillmentOrder"]
    if not groups:
        return {
            "fulfillment": None,
            "userErrors": [_err("No line items to fulfill.", "fulfillment")],
        }
    owners = {_owner(g["fulfillmentOrderId"], "FulfillmentOrder") for g in groups}
    if len(owners) != 1 or None in owners:
        return {
            "fulfillment": None,
            "userErrors": [_err("Fulfillment orders must belong to one order.", "fulfillment")],
        }
    doc = await store.load(owners.pop())
    if doc is None:
        return {"fulfillment": None, "userErrors": [_err("Fulfillment order does not exist.")]}
    by_id = {fo["id"]: fo for fo in doc["fulfillmentOrders"]}
    taken: list[tuple[dict[str, Any], int]] = []
    for g in groups:
        fo = by_id.get(gid_number(g["fulfillmentOrderId"], "FulfillmentOrder") or -1)
        if fo is None:
            return {"fulfillment": None, "userErrors": [_err("Fulfillment order does not exist.")]}
        if doc.get("cancelledAt") or fo["status"] not in ("OPEN", "IN_PROGRESS"):
            return {
                "fulfillment": None,
                "userErrors": [
                    _err(
                        f"Fulfillment order {gid('FulfillmentOrder', fo['id'])} has an "
                        f"unfulfillable status= {fo['status'].lower()}.",
                        "fulfillment",
                    )
                ],
            }
        lines = {ln["id"]: ln for ln in fo["lines"]}
        wanted = g.get("fulfillmentOrderLineItems")
        if wanted is None:  # the whole fulfillment order
            wanted = [
                {
                    "id": gid("FulfillmentOrderLineItem", ln["id"]),
                    "quantity": ln["remainingQuantity"],
                }
                for ln in fo["lines"]
                if ln["remainingQuantity"] > 0
            ]
        for w in wanted:
            line = lines.get(gid_number(w["id"], "FulfillmentOrderLineItem") or -1)
            if line is None:
                return {
                    "fulfillment": None,
                    "userErrors": [_err("Invalid fulfillment order line item id.", "fulfillment")],
                }
            if w["quantity"] <= 0 or w["quantity"] > line["remainingQuantity"]:
                return {
                    "fulfillment": None,
                    "userErrors": [
                        _err(
                            "Invalid fulfillment order line item quantity requested.",
                            "fulfillment",
                        )
                    ],
                }
            taken.append((line, int(w["quantity"])))
    for line, qty in taken:
        line["remainingQuantity"] -= qty
    for fo in doc["fulfillmentOrders"]:
        if fo["status"] in ("OPEN", "IN_PROGRESS"):
            left = sum(ln["remainingQuantity"] for ln in fo["lines"])
            done = sum(ln["totalQuantity"] for ln in fo["lines"]) - left
            fo["status"] = "CLOSED" if left == 0 else ("IN_PROGRESS" if done else "OPEN")
    tracking = fulfillment.get("trackingInfo") or {}
    record = {
        "id": _next(doc),
        "status": "SUCCESS",
        "createdAt": now_iso(),
        "trackingInfo": [
            {
                "company": tracking.get("company"),
                "number": tracking.get("number"),
                "url": tracking.get("url"),
            }
        ]
        if tracking
        else [],
        "notifyCustomer": bool(fulfillment.get("notifyCustomer")),
        "message": message,
        "lines": [
            {"lineItemId": line["lineItemId"], "sku": line["sku"], "quantity": qty}
            for line, qty in taken
        ],
        "events": [],
    }
    doc["fulfillments"].append(record)
    await store.save(doc)
    info.context["mutated"] = True
    return {"fulfillment": fulfillment_view(record), "userErrors": []}


async def fulfillment_event_create(
    _: Any,
    info: GraphQLResolveInfo,
    fulfillmentEvent: dict[str, Any],  # noqa: N803
) -> dict[str, Any]:
    store: Store = info.context["store"]
    fid = fulfillmentEvent["fulfillmentId"]
    doc = await store.load(_owner(fid, "Fulfillment"))
    number = gid_number(fid, "Fulfillment")
    found = [f for f in (doc or {}).get("fulfillments", []) if f["id"] == number]
    if doc is None or not found:
        return {
            "fulfillmentEvent": None,
            "userErrors": [
                _err("Fulfillment does not exist.", "fulfillmentEvent", "fulfillmentId")
            ],
        }
    event = {
        "id": _next(doc),
        "status": fulfillmentEvent["status"],
        "happenedAt": fulfillmentEvent.get("happenedAt") or now_iso(),
        "message": fulfillmentEvent.get("message"),
    }
    found[0]["events"].append(event)
    await store.save(doc)
    info.context["mutated"] = True
    return {
        "fulfillmentEvent": {**event, "id": gid("FulfillmentEvent", event["id"])},
        "userErrors": [],
    }


def _find_fo(doc: dict[str, Any] | None, id: str) -> dict[str, Any] | None:
    number = gid_number(id, "FulfillmentOrder")
    for fo in (doc or {}).get("fulfillmentOrders", []):
        if fo["id"] == number:
            return fo
    return None


async def fulfillment_order_hold(
    _: Any,
    info: GraphQLResolveInfo,
    id: str,
    fulfillmentHold: dict[str, Any],  # noqa: N803
) -> dict[str, Any]:
    store: Store = info.context["store"]
    doc = await store.load(_owner(id, "FulfillmentOrder"))
    fo = _find_fo(doc, id)
    if doc is None or fo is None:
        return {"userErrors": [_err("Fulfillment order not found.", "id", code="NOT_FOUND")]}
    if fo["status"] not in ("OPEN", "IN_PROGRESS", "ON_HOLD"):
        return {
            "userErrors": [
                _err(
                    f"The fulfillment order's status ({fo['status']}) does not allow a hold.",
                    "id",
                    code="INVALID_FULFILLMENT_ORDER_STATUS",
                )
            ]
        }
    handle = fulfillmentHold.get("handle")
    if handle and any(h.get("handle") == handle for h in fo["holds"]):
        return {
            "userErrors": [
                _err(
                    "A hold with this handle already exists.",
                    "fulfillmentHold",
                    "handle",
                    code="DUPLICATE_FULFILLMENT_HOLD_HANDLES",
                )
            ]
        }
    hold = {
        "id": _next(doc),
        "handle": handle,
        "reason": fulfillmentHold["reason"],
        "reasonNotes": fulfillmentHold.get("reasonNotes"),
    }
    fo["holds"].append(hold)
    fo["status"] = "ON_HOLD"
    await store.save(doc)
    info.context["mutated"] = True
    return {
        "fulfillmentHold": {**hold, "id": gid("FulfillmentHold", hold["id"])},
        "fulfillmentOrder": fo_view(fo),
        "userErrors": [],
    }


async def fulfillment_order_release_hold(
    _: Any,
    info: GraphQLResolveInfo,
    id: str,
    holdIds: list[str] | None = None,  # noqa: N803
) -> dict[str, Any]:
    store: Store = info.context["store"]
    doc = await store.load(_owner(id, "FulfillmentOrder"))
    fo = _find_fo(doc, id)
    if doc is None or fo is None:
        return {"userErrors": [_err("Fulfillment order not found.", "id", code="NOT_FOUND")]}
    if fo["status"] != "ON_HOLD":
        return {
            "userErrors": [
                _err(
                    "The fulfillment order is not on hold.",
                    "id",
                    code="INVALID_FULFILLMENT_ORDER_STATUS",
                )
            ]
        }
    wanted = {gid_number(h, "FulfillmentHold") for h in holdIds} if holdIds else None
    fo["holds"] = [h for h in fo["holds"] if wanted is not None and h["id"] not in wanted]
    if not fo["holds"]:
        done = any(ln["remainingQuantity"] < ln["totalQuantity"] for ln in fo["lines"])
        fo["status"] = "IN_PROGRESS" if done else "OPEN"
    await store.save(doc)
    info.context["mutated"] = True
    return {"fulfillmentOrder": fo_view(fo), "userErrors": []}


async def order_cancel(
    _: Any,
    info: GraphQLResolveInfo,
    orderId: str,  # noqa: N803
    reason: str,
    refund: bool,
    restock: bool,
    notifyCustomer: bool | None = None,  # noqa: N803
    staffNote: str | None = None,  # noqa: N803
) -> dict[str, Any]:
    store: Store = info.context["store"]
    doc = await store.load(gid_number(orderId, "Order"))
    if doc is None:
        return {
            "orderCancelUserErrors": [_err("Order does not exist.", "orderId", code="NOT_FOUND")]
        }
    if doc.get("cancelledAt"):
        return {
            "orderCancelUserErrors": [
                _err("Cannot cancel an order that is already cancelled.", "orderId", code="INVALID")
            ]
        }
    if doc["fulfillments"]:
        return {
            "orderCancelUserErrors": [
                _err("Cannot cancel an order with fulfillments.", "orderId", code="INVALID")
            ]
        }
    doc["cancelledAt"] = now_iso()
    doc["cancelReason"] = reason
    doc["cancel"] = {
        "reason": reason,
        "refund": refund,
        "restock": restock,
        "notifyCustomer": bool(notifyCustomer),
        "staffNote": staffNote,
    }
    for fo in doc["fulfillmentOrders"]:
        fo["status"] = "CLOSED" if fo["status"] == "CLOSED" else "CANCELLED"
        fo["holds"] = []
    await store.save(doc)
    info.context["mutated"] = True
    return {"job": {"id": gid("Job", _next(doc)), "done": True}, "orderCancelUserErrors": []}


ROOT: dict[str, Callable[..., Any]] = {
    "order": resolve_order,
    "fulfillment": resolve_fulfillment,
    "fulfillmentCreate": fulfillment_create,
    "fulfillmentEventCreate": fulfillment_event_create,
    "fulfillmentOrderHold": fulfillment_order_hold,
    "fulfillmentOrderReleaseHold": fulfillment_order_release_hold,
    "orderCancel": order_cancel,
}


def _bound(name: str) -> Callable[..., Any]:
    """graphql-core calls a callable root attribute as ``f(info, **args)``."""
    resolver = ROOT[name]

    async def call(info: GraphQLResolveInfo, **args: Any) -> Any:
        return await resolver(None, info, **args)

    return call


ROOT_VALUE = {name: _bound(name) for name in ROOT}


# --- cost-based throttling -------------------------------------------------------------------


@dataclass
class Bucket:
    """Shopify's leaky bucket for one shop: ``maximum`` points, refilled ``rate``/s."""

    maximum: float
    rate: float
    available: float
    at: float = field(default_factory=time.monotonic)

    def take(self, cost: float) -> bool:
        now = time.monotonic()
        self.available = min(self.maximum, self.available + (now - self.at) * self.rate)
        self.at = now
        if self.available < cost:
            return False
        self.available -= cost
        return True


@dataclass
class SandboxShopify:
    """Per-API-process state of the sandbox stores: buckets and the fault counters."""

    buckets: dict[str, Bucket] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    mutations: dict[str, int] = field(default_factory=dict)

    def cost_extensions(
        self, shop: str, config: dict[str, Any], cost: int
    ) -> tuple[bool, dict[str, Any]]:
        """(allowed, ``extensions.cost``) for a call of ``cost`` points."""
        maximum = float(config.get("sandbox_bucket_size", 1000))
        rate = float(config.get("sandbox_restore_rate", 50))
        bucket = self.buckets.setdefault(shop, Bucket(maximum, rate, maximum))
        self.calls[shop] = self.calls.get(shop, 0) + 1
        forced = self.calls[shop] <= int(config.get("sandbox_throttle_first", 0))
        allowed = not forced and bucket.take(cost)
        available = 0.0 if forced else bucket.available
        return allowed, {
            "cost": {
                "requestedQueryCost": cost,
                "actualQueryCost": cost if allowed else None,
                "throttleStatus": {
                    "maximumAvailable": maximum,
                    "currentlyAvailable": int(available),
                    "restoreRate": rate,
                },
            }
        }

    def lose_answer(self, shop: str, config: dict[str, Any]) -> bool:
        """Whether this mutation's answer is to be lost (``sandbox_lose_first``)."""
        self.mutations[shop] = self.mutations.get(shop, 0) + 1
        return self.mutations[shop] <= int(config.get("sandbox_lose_first", 0))


def is_mutation(query: str) -> bool:
    return query.lstrip().startswith("mutation")


async def execute(
    session: AsyncSession, shop: str, query: str, variables: dict[str, Any] | None
) -> tuple[dict[str, Any], bool]:
    """Run one GraphQL document against ``shop``'s orders (in the caller's transaction);
    returns the response body and whether it changed anything."""
    context: dict[str, Any] = {"store": Store(session, shop), "mutated": False}
    result = await graphql(
        SCHEMA, query, root_value=ROOT_VALUE, context_value=context, variable_values=variables
    )
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [_error(e) for e in result.errors]
    if result.data is not None or not result.errors:
        body["data"] = result.data
    return body, bool(context["mutated"])


def _error(error: GraphQLError) -> dict[str, Any]:
    out: dict[str, Any] = {"message": error.message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        out["path"] = list(error.path)
    return out


def new_order_id() -> int:
    """A 13-digit order id, as Shopify's look; ``id * SPAN`` still fits a bigint."""
    return 10**12 + uuid4().int % (9 * 10**12)
