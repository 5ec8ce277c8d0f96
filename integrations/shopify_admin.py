"""Shopify's GraphQL Admin API, for the write-back: fulfillments with tracking, their
events, fulfillment-order holds and releases, order cancellation.

One POST to ``{base_url}/admin/api/{version}/graphql.json`` per call. What a retry may fix
raises :class:`~integrations.channels.ChannelUnavailable` (transport errors, 429, 5xx,
a ``THROTTLED`` error: Shopify's cost-based limit, whose wait is computed from
``extensions.cost.throttleStatus``); what it never will raises :class:`WritebackRefused`
(401/403, other 4xx, GraphQL errors, ``userErrors``). The access token comes from the
channel config and is only ever put in the request header.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from domain.status import HoldReason
from domain.writeback import WritebackError
from integrations.channels import (
    DEFAULT_SHOPIFY_API_VERSION,
    SHOPIFY_TIMEOUT,
    ChannelRejected,
    ChannelUnavailable,
    ShopifyChannel,
)


class WritebackRefused(Exception):
    """The channel refused the write as sent: repeating it cannot succeed."""

    def __init__(self, reason: WritebackError, message: str) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason


def order_gid(order_id: str | int) -> str:
    return f"gid://shopify/Order/{order_id}"


ORDER_QUERY = """
query WritebackOrder($id: ID!) {
  order(id: $id) {
    id
    name
    cancelledAt
    fulfillmentOrders(first: 20) {
      nodes {
        id
        status
        fulfillmentHolds { id handle reason reasonNotes }
        lineItems(first: 100) {
          nodes { id sku totalQuantity remainingQuantity }
        }
      }
    }
    fulfillments(first: 50) {
      id
      status
      trackingInfo { company number url }
      fulfillmentLineItems(first: 100) { nodes { quantity lineItem { sku } } }
      events(first: 50) { nodes { id status happenedAt } }
    }
  }
}
"""

LINE_ITEMS_QUERY = """
query OrderLineItems($id: ID!) {
  order(id: $id) {
    id
    lineItems(first: 250) { nodes { id sku currentQuantity } }
  }
}
"""

FULFILLMENT_CREATE = """
mutation FulfillmentCreate($fulfillment: FulfillmentInput!, $message: String) {
  fulfillmentCreate(fulfillment: $fulfillment, message: $message) {
    fulfillment { id status trackingInfo { company number url } }
    userErrors { field message }
  }
}
"""

EVENT_CREATE = """
mutation FulfillmentEventCreate($fulfillmentEvent: FulfillmentEventInput!) {
  fulfillmentEventCreate(fulfillmentEvent: $fulfillmentEvent) {
    fulfillmentEvent { id status happenedAt }
    userErrors { field message }
  }
}
"""

HOLD = """
mutation FulfillmentOrderHold($id: ID!, $fulfillmentHold: FulfillmentOrderHoldInput!) {
  fulfillmentOrderHold(id: $id, fulfillmentHold: $fulfillmentHold) {
    fulfillmentHold { id handle reason }
    fulfillmentOrder { id status }
    userErrors { field message code }
  }
}
"""

RELEASE = """
mutation FulfillmentOrderReleaseHold($id: ID!, $holdIds: [ID!]) {
  fulfillmentOrderReleaseHold(id: $id, holdIds: $holdIds) {
    fulfillmentOrder { id status }
    userErrors { field message code }
  }
}
"""

CANCEL = """
mutation OrderCancel(
  $orderId: ID!, $reason: OrderCancelReason!, $refund: Boolean!, $restock: Boolean!,
  $notifyCustomer: Boolean, $staffNote: String
) {
  orderCancel(
    orderId: $orderId, reason: $reason, refund: $refund, restock: $restock,
    notifyCustomer: $notifyCustomer, staffNote: $staffNote
  ) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}
"""


@dataclass
class ShopifyAdmin:
    """The GraphQL Admin API of the shop a ``shopify`` channel points at."""

    code: str
    config: dict[str, Any]
    http: httpx.AsyncClient

    @property
    def url(self) -> str:
        version = self.config.get("api_version") or DEFAULT_SHOPIFY_API_VERSION
        return f"{str(self.config['base_url']).rstrip('/')}/admin/api/{version}/graphql.json"

    def _token(self) -> str:
        try:  # the inventory adapter's lookup: the token, or the env variable it names
            return ShopifyChannel(self.code, self.config, self.http)._token()
        except ChannelRejected as exc:
            raise WritebackRefused(WritebackError.UNAUTHORIZED, str(exc)) from exc

    async def execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """``data`` of one GraphQL call.

        Raises:
            ChannelUnavailable: transport error, 429, 5xx, ``THROTTLED`` (with the wait).
            WritebackRefused: any other refusal.
        """
        headers = {"X-Shopify-Access-Token": self._token(), "Content-Type": "application/json"}
        try:
            response = await self.http.post(
                self.url,
                json={"query": query, "variables": variables},
                headers=headers,
                timeout=SHOPIFY_TIMEOUT,
            )
        except httpx.TransportError as exc:
            raise ChannelUnavailable(f"{self.code}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise ChannelUnavailable(
                f"{self.code}: Shopify answered {status}", retry_after=_retry_after(response)
            )
        if status in (401, 403):
            raise WritebackRefused(
                WritebackError.UNAUTHORIZED, f"{self.code}: Shopify answered {status}"
            )
        if status >= 400:
            raise WritebackRefused(
                WritebackError.USER_ERROR, f"{self.code}: {status} {response.text[:300]}"
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise ChannelUnavailable(f"{self.code}: unreadable Shopify answer") from exc
        errors = body.get("errors") or []
        if errors:
            throttled = [
                e for e in errors if (e.get("extensions") or {}).get("code") == "THROTTLED"
            ]
            if throttled:
                raise ChannelUnavailable(
                    f"{self.code}: THROTTLED", retry_after=throttle_wait(body.get("extensions"))
                )
            text = "; ".join(str(e.get("message")) for e in errors)
            raise WritebackRefused(WritebackError.USER_ERROR, f"{self.code}: {text[:300]}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise ChannelUnavailable(f"{self.code}: Shopify answered without data")
        return data

    # --- queries and mutations ------------------------------------------------------------

    async def order(self, external_id: str) -> dict[str, Any]:
        data = await self.execute(ORDER_QUERY, {"id": order_gid(external_id)})
        order = data.get("order")
        if order is None:
            raise WritebackRefused(
                WritebackError.NOT_FOUND, f"{self.code}: no order {external_id} in Shopify"
            )
        return dict(order)

    async def line_items(self, external_id: str) -> dict[str, str]:
        """Line item id (the number webhooks carry) → SKU, for every line of the order.

        Raises:
            WritebackRefused: no such order (or another refusal).
            ChannelUnavailable: as ``execute``.
        """
        data = await self.execute(LINE_ITEMS_QUERY, {"id": order_gid(external_id)})
        order = data.get("order")
        if order is None:
            raise WritebackRefused(
                WritebackError.NOT_FOUND, f"{self.code}: no order {external_id} in Shopify"
            )
        return {
            str(node["id"]).rsplit("/", 1)[-1]: str(node["sku"])
            for node in order["lineItems"]["nodes"]
            if node.get("sku")
        }

    async def create_fulfillment(
        self,
        by_fulfillment_order: list[dict[str, Any]],
        *,
        company: str,
        number: str,
        url: str,
        notify_customer: bool,
    ) -> dict[str, Any]:
        data = await self.execute(
            FULFILLMENT_CREATE,
            {
                "fulfillment": {
                    "lineItemsByFulfillmentOrder": by_fulfillment_order,
                    "trackingInfo": {"company": company, "number": number, "url": url},
                    "notifyCustomer": notify_customer,
                }
            },
        )
        return _payload(self.code, data, "fulfillmentCreate", "fulfillment")

    async def create_event(
        self, fulfillment_id: str, status: str, happened_at: datetime, message: str | None
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "fulfillmentId": fulfillment_id,
            "status": status,
            "happenedAt": happened_at.isoformat(),
        }
        if message:
            event["message"] = message
        data = await self.execute(EVENT_CREATE, {"fulfillmentEvent": event})
        return _payload(self.code, data, "fulfillmentEventCreate", "fulfillmentEvent")

    async def hold(
        self, fulfillment_order_id: str, reason: HoldReason, notes: str | None, handle: str
    ) -> dict[str, Any]:
        data = await self.execute(
            HOLD,
            {
                "id": fulfillment_order_id,
                "fulfillmentHold": {
                    "reason": reason.value,
                    "reasonNotes": notes,
                    "handle": handle,
                    "notifyMerchant": False,
                },
            },
        )
        return _payload(self.code, data, "fulfillmentOrderHold", "fulfillmentHold")

    async def release(self, fulfillment_order_id: str, hold_ids: list[str]) -> dict[str, Any]:
        data = await self.execute(RELEASE, {"id": fulfillment_order_id, "holdIds": hold_ids})
        return _payload(self.code, data, "fulfillmentOrderReleaseHold", "fulfillmentOrder")

    async def cancel(
        self, external_id: str, *, reason: str, refund: bool, restock: bool, note: str | None
    ) -> dict[str, Any]:
        data = await self.execute(
            CANCEL,
            {
                "orderId": order_gid(external_id),
                "reason": reason,
                "refund": refund,
                "restock": restock,
                "notifyCustomer": False,
                "staffNote": note,
            },
        )
        return _payload(self.code, data, "orderCancel", "job", errors_field="orderCancelUserErrors")


def _payload(
    code: str, data: dict[str, Any], field: str, wanted: str, errors_field: str = "userErrors"
) -> dict[str, Any]:
    """A mutation's ``wanted`` object, or :class:`WritebackRefused` with its user errors."""
    payload = data.get(field) or {}
    user_errors = payload.get(errors_field) or []
    if user_errors:
        text = "; ".join(
            f"{'.'.join(map(str, e.get('field') or [])) or field}: {e.get('message')}"
            for e in user_errors
        )
        raise WritebackRefused(WritebackError.USER_ERROR, f"{code}: {field}: {text[:400]}")
    result = payload.get(wanted)
    if not isinstance(result, dict):
        raise ChannelUnavailable(f"{code}: {field} answered without {wanted}")
    return result


def throttle_wait(extensions: dict[str, Any] | None) -> timedelta:
    """How long until the bucket holds the query's cost again: ``(requested - available) /
    restoreRate`` seconds from ``extensions.cost`` (1 s when Shopify did not say)."""
    try:
        cost = (extensions or {})["cost"]
        status = cost["throttleStatus"]
        missing = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])
        rate = float(status["restoreRate"])
        return timedelta(seconds=max(missing / rate, 0.1)) if rate > 0 else timedelta(seconds=1)
    except (KeyError, TypeError, ValueError):
        return timedelta(seconds=1)


def _retry_after(response: httpx.Response) -> timedelta | None:
    try:
        return timedelta(seconds=float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None
