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

The package, by concept: ``schema`` (the SDL), ``orders`` (orders as documents and their
store), ``views`` (what GraphQL shows of them), ``resolvers`` (queries and mutations) and
``endpoint`` (throttling, faults, execution); every public name is re-exported here.
"""

from integrations.shopify_sandbox.endpoint import (
    MUTATION_COST,
    QUERY_COST,
    Bucket,
    SandboxShopify,
    execute,
    is_mutation,
)
from integrations.shopify_sandbox.orders import (
    SPAN,
    Store,
    edit_order,
    gid,
    gid_number,
    new_order,
    new_order_id,
    now_iso,
)
from integrations.shopify_sandbox.resolvers import (
    ROOT,
    ROOT_VALUE,
    fulfillment_create,
    fulfillment_event_create,
    fulfillment_order_hold,
    fulfillment_order_release_hold,
    order_cancel,
    resolve_fulfillment,
    resolve_order,
)
from integrations.shopify_sandbox.schema import SCHEMA, SDL
from integrations.shopify_sandbox.views import fo_view, fulfillment_view, order_view

__all__ = [
    "Bucket",
    "MUTATION_COST",
    "QUERY_COST",
    "ROOT",
    "ROOT_VALUE",
    "SCHEMA",
    "SDL",
    "SPAN",
    "SandboxShopify",
    "Store",
    "edit_order",
    "execute",
    "fo_view",
    "fulfillment_create",
    "fulfillment_event_create",
    "fulfillment_order_hold",
    "fulfillment_order_release_hold",
    "fulfillment_view",
    "gid",
    "gid_number",
    "is_mutation",
    "new_order",
    "new_order_id",
    "now_iso",
    "order_cancel",
    "order_view",
    "resolve_fulfillment",
    "resolve_order",
]
