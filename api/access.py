"""Who may call which route: the declared access table.

The dependencies in api/auth.py (``Admin``, ``Ops``, ``Floor`` ...) and the page guards in
api/pages/common.py enforce access; this table says what they must add up to, in one place
a reviewer can read. tests/hostile/test_access_table.py walks every route of the app with
every kind of caller (admin, ops, staff of the shipment's warehouse, staff of another,
integration, no key, a revoked key) and checks the answer against it, so a route added
without an entry here fails the suite, and so does a route whose guard drifts from it
(docs/decisions/0011-hostile-input.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    OPS = "ops"
    STAFF = "staff"
    INTEGRATION = "integration"


class Gate(StrEnum):
    """How a route recognises its caller."""

    #: ``Authorization: Bearer <key>`` (or the dashboard's session cookie): 401 without a
    #: live key, 403 for a role not listed.
    KEY = "key"
    #: The dashboard's session cookie: 303 to /login without one, 403 for a role not listed.
    PAGE = "page"
    #: A shared secret that is not an OMS key: an HMAC over the body (webhooks from
    #: Shopify and carriers) or the sandbox Shopify's access token. 401 without it; keys
    #: play no part.
    SIGNED = "signed"
    #: The dev stack's mailbox: 404 for everyone unless the dev SMTP sink is on (``oms
    #: dev``), then as KEY (and the dashboard session) for the roles listed.
    DEV = "dev"
    #: Anyone: health, metrics, the customer's tracking page (its token is the secret),
    #: static assets, the sign-in form.
    PUBLIC = "public"


@dataclass(frozen=True)
class Access:
    gate: Gate
    roles: frozenset[Role] = frozenset()
    #: Staff act only on their own warehouse's shipments and orders (403
    #: ``other_warehouse`` / ``forbidden``); lists and counts are scoped instead.
    own_warehouse: bool = False


ADMIN = frozenset({Role.ADMIN})
OPS = frozenset({Role.ADMIN, Role.OPS})
FLOOR = frozenset({Role.ADMIN, Role.OPS, Role.STAFF})
READ = frozenset({Role.ADMIN, Role.OPS, Role.STAFF, Role.INTEGRATION})
INTAKE = frozenset({Role.ADMIN, Role.INTEGRATION})

PUBLIC = Access(Gate.PUBLIC)
SIGNED = Access(Gate.SIGNED)
DEV_ADMIN = Access(Gate.DEV, ADMIN)


def key(roles: frozenset[Role], *, own_warehouse: bool = False) -> Access:
    return Access(Gate.KEY, roles, own_warehouse)


def page(roles: frozenset[Role], *, own_warehouse: bool = False) -> Access:
    return Access(Gate.PAGE, roles, own_warehouse)


#: (method, path as the app declares it) -> who may call it.
ACCESS: dict[tuple[str, str], Access] = {
    # keys
    ("POST", "/api/v1/keys"): key(ADMIN),
    ("DELETE", "/api/v1/keys/{key_id}"): key(ADMIN),
    # catalog and stock
    ("POST", "/api/v1/warehouses"): key(OPS),
    ("PATCH", "/api/v1/warehouses/{code}"): key(OPS),
    ("GET", "/api/v1/warehouses"): key(READ),
    ("POST", "/api/v1/products"): key(OPS),
    ("GET", "/api/v1/products/{sku}"): key(READ),
    ("PUT", "/api/v1/products/{sku}/low-stock-threshold"): key(OPS),
    ("POST", "/api/v1/inventory/adjustments"): key(OPS),
    ("POST", "/api/v1/inventory/import"): key(OPS),
    ("GET", "/api/v1/inventory"): key(READ),
    ("GET", "/api/v1/inventory/low-stock"): key(READ),
    # orders in
    ("POST", "/webhooks/shopify"): SIGNED,
    ("POST", "/api/v1/orders"): key(INTAKE),
    # reading orders (staff see their warehouse's orders only: scoped server-side)
    ("GET", "/api/v1/orders"): key(READ),
    ("GET", "/api/v1/orders.csv"): key(READ),
    ("GET", "/api/v1/orders/counts"): key(READ),
    ("GET", "/api/v1/orders/{order_id}"): key(READ, own_warehouse=True),
    ("GET", "/api/v1/orders/{order_id}/history"): key(OPS),
    ("GET", "/api/v1/stream"): key(READ),
    ("GET", "/api/v1/views"): key(READ),
    ("POST", "/api/v1/views"): key(READ),
    ("DELETE", "/api/v1/views/{view_id}"): key(READ),
    # acting on orders
    ("POST", "/api/v1/orders/bulk"): key(FLOOR),
    ("POST", "/api/v1/orders/{order_id}/cancel"): key(OPS),
    ("POST", "/api/v1/orders/{order_id}/holds"): key(OPS),
    ("POST", "/api/v1/orders/{order_id}/holds/{hold_id}/release"): key(OPS),
    ("POST", "/api/v1/orders/{order_id}/tags"): key(FLOOR, own_warehouse=True),
    ("DELETE", "/api/v1/orders/{order_id}/tags/{tag}"): key(FLOOR, own_warehouse=True),
    # the warehouse floor
    ("GET", "/api/v1/shipments"): key(FLOOR),
    ("GET", "/api/v1/shipments/{shipment_id}"): key(FLOOR, own_warehouse=True),
    ("GET", "/api/v1/shipments/{shipment_id}/label"): key(FLOOR, own_warehouse=True),
    ("POST", "/api/v1/shipments/{shipment_id}/scans"): key(FLOOR, own_warehouse=True),
    ("POST", "/api/v1/shipments/{shipment_id}/pack"): key(FLOOR, own_warehouse=True),
    ("POST", "/api/v1/shipments/{shipment_id}/reject"): key(FLOOR, own_warehouse=True),
    ("POST", "/api/v1/shipments/{shipment_id}/packaging-check"): key(FLOOR, own_warehouse=True),
    ("POST", "/api/v1/shipments/{shipment_id}/label/retry"): key(OPS),
    ("POST", "/api/v1/shipments/{shipment_id}/move"): key(OPS),
    # carriers
    ("POST", "/webhooks/carriers/{carrier}"): SIGNED,
    # ops and rules
    ("GET", "/api/v1/ops/stuck"): key(OPS),
    ("GET", "/api/v1/analytics/accuracy"): key(OPS),
    ("GET", "/api/v1/analytics/errors"): key(OPS),
    ("GET", "/api/v1/analytics/delays"): key(OPS),
    ("GET", "/api/v1/analytics/throughput"): key(OPS),
    ("GET", "/api/v1/rules/routing"): key(OPS),
    ("PUT", "/api/v1/rules/routing"): key(ADMIN),
    ("POST", "/api/v1/routing/preview"): key(OPS),
    ("GET", "/api/v1/rules/tags"): key(OPS),
    ("PUT", "/api/v1/rules/tags"): key(ADMIN),
    ("POST", "/api/v1/rules/tags/preview"): key(OPS),
    ("GET", "/api/v1/rules/templates"): key(OPS),
    ("PUT", "/api/v1/rules/templates"): key(ADMIN),
    ("GET", "/api/v1/rules/templates/steps"): key(OPS),
    # sales channels
    ("POST", "/api/v1/channels"): key(ADMIN),
    ("PATCH", "/api/v1/channels/{code}"): key(ADMIN),
    ("GET", "/api/v1/channels"): key(OPS),
    ("GET", "/api/v1/channels/{code}/pushes"): key(OPS),
    ("POST", "/api/v1/channels/{code}/sync"): key(OPS),
    # the sandbox Shopify Admin API: Shopify's own token header, checked by the sandbox
    ("POST", "/sandbox/shopify/{shop}/admin/api/{version}/inventory_levels/set.json"): SIGNED,
    ("POST", "/sandbox/shopify/{shop}/admin/api/{version}/graphql.json"): SIGNED,
    ("POST", "/sandbox/shopify/{shop}/admin/api/{version}/orders.json"): SIGNED,
    ("GET", "/sandbox/shopify/{shop}/admin/api/{version}/orders/{order_id}.json"): SIGNED,
    ("POST", "/sandbox/shopify/{shop}/admin/api/{version}/orders/{order_id}/edits.json"): SIGNED,
    # merchant webhooks out
    ("POST", "/api/v1/webhooks"): key(ADMIN),
    ("GET", "/api/v1/webhooks"): key(ADMIN),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): key(ADMIN),
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): key(ADMIN),
    ("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): key(ADMIN),
    # dev mailbox (admin; the pages also by dashboard session)
    ("GET", "/dev/mailbox.json"): DEV_ADMIN,
    ("GET", "/dev/mailbox"): DEV_ADMIN,
    ("GET", "/dev/mailbox/{mail_id}"): DEV_ADMIN,
    # public
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/track/{token}"): PUBLIC,
    ("GET", "/scan"): PUBLIC,
    ("GET", "/scan/scan.js"): PUBLIC,
    ("GET", "/scan/scan.css"): PUBLIC,
    ("GET", "/static/{name}"): PUBLIC,
    ("GET", "/static/analytics/{name}"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    # the dashboard's pages
    ("GET", "/"): page(FLOOR),
    ("POST", "/bulk"): page(FLOOR),
    ("POST", "/views"): page(FLOOR),
    ("POST", "/views/{view_id}/delete"): page(FLOOR),
    ("GET", "/orders/{order_id}"): page(FLOOR, own_warehouse=True),
    ("POST", "/orders/{order_id}/release"): page(OPS),
    ("POST", "/orders/{order_id}/cancel"): page(OPS),
    # (the order's warehouse is checked behind the form's CSRF check by api/actions.py,
    # whose refusal a person reads on the order page they are sent back to)
    ("POST", "/orders/{order_id}/tags"): page(FLOOR),
    ("POST", "/orders/{order_id}/shipments/{shipment_id}/move"): page(OPS),
    ("GET", "/floor"): page(FLOOR),
    ("GET", "/ops"): page(OPS),
    ("GET", "/analytics"): page(OPS),
}
