"""One GraphQL call to a sandbox shop: the leaky-bucket cost throttling and the injected
faults (throttled first calls, lost answers) of this API process, and the execution itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError, graphql
from sqlalchemy.ext.asyncio import AsyncSession

from integrations.shopify_sandbox.orders import Store
from integrations.shopify_sandbox.resolvers import ROOT_VALUE
from integrations.shopify_sandbox.schema import SCHEMA

QUERY_COST = 10
MUTATION_COST = 10


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
