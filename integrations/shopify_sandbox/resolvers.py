"""The GraphQL root fields: the two queries and the write-back's mutations, with Shopify's
``userErrors`` for what can never succeed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql.type import GraphQLResolveInfo

from integrations.shopify_sandbox.orders import (
    Store,
    gid,
    gid_number,
    next_part_id,
    now_iso,
    owner_id,
)
from integrations.shopify_sandbox.views import fo_view, fulfillment_view, order_view


def _err(message: str, *path: str, code: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"field": list(path) or None, "message": message}
    if code is not None:
        out["code"] = code
    return out


async def _save(info: GraphQLResolveInfo, doc: dict[str, Any]) -> None:
    """Save a mutation's change and say the call changed something: only such a call's
    answer may be lost on purpose (``sandbox_lose_first``), as if after Shopify acted."""
    store: Store = info.context["store"]
    await store.save(doc)
    info.context["mutated"] = True


async def resolve_order(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    store: Store = info.context["store"]
    doc = await store.load(gid_number(id, "Order"))
    return order_view(doc) if doc else None


async def resolve_fulfillment(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    store: Store = info.context["store"]
    doc = await store.load(owner_id(id, "Fulfillment"))
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
    owners = {owner_id(g["fulfillmentOrderId"], "FulfillmentOrder") for g in groups}
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
        "id": next_part_id(doc),
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
    await _save(info, doc)
    return {"fulfillment": fulfillment_view(record), "userErrors": []}


async def fulfillment_event_create(
    _: Any,
    info: GraphQLResolveInfo,
    fulfillmentEvent: dict[str, Any],  # noqa: N803
) -> dict[str, Any]:
    store: Store = info.context["store"]
    fid = fulfillmentEvent["fulfillmentId"]
    doc = await store.load(owner_id(fid, "Fulfillment"))
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
        "id": next_part_id(doc),
        "status": fulfillmentEvent["status"],
        "happenedAt": fulfillmentEvent.get("happenedAt") or now_iso(),
        "message": fulfillmentEvent.get("message"),
    }
    found[0]["events"].append(event)
    await _save(info, doc)
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
    doc = await store.load(owner_id(id, "FulfillmentOrder"))
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
        "id": next_part_id(doc),
        "handle": handle,
        "reason": fulfillmentHold["reason"],
        "reasonNotes": fulfillmentHold.get("reasonNotes"),
    }
    fo["holds"].append(hold)
    fo["status"] = "ON_HOLD"
    await _save(info, doc)
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
    doc = await store.load(owner_id(id, "FulfillmentOrder"))
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
    await _save(info, doc)
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
    await _save(info, doc)
    return {"job": {"id": gid("Job", next_part_id(doc)), "done": True}, "orderCancelUserErrors": []}


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
