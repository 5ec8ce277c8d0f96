"""An order document as the GraphQL API shows it: the ``Order``, its fulfillment orders and
its fulfillments.
"""

from __future__ import annotations

from typing import Any

from integrations.shopify_sandbox.orders import gid


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
