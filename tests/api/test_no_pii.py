"""No customer PII (email, name, address) where operators and tools fan it out: Temporal
search attributes (listed to anyone with namespace access), metric labels (scraped into
Prometheus and kept for weeks) and log lines. An order with known, unique PII goes through
intake, allocation and its shipment; then each of the three is searched for it."""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from domain import names
from store.tables import ShipmentRow
from tests.api.helpers import eventually, shopify_order
from tests.conftest import Catalog


async def test_an_orders_pii_reaches_no_search_attribute_metric_or_log(
    http: httpx.AsyncClient,
    shopify_post: Callable[..., Awaitable[httpx.Response]],
    make_catalog: Callable[..., Awaitable[Catalog]],
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    worker: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    mark = secrets.token_hex(4)
    pii = {
        "email": f"zelda.{mark}@example.com",
        "first": f"Zelda{mark}",
        "last": f"Quill{mark}",
        "street": f"{mark} Hostile Lane",
        "phone": f"+1 555 {int(mark, 16) % 10**7:07d}",
    }
    cat = await make_catalog()
    payload = shopify_order(cat.skus)
    payload["email"] = pii["email"]
    payload["customer"] = {"first_name": pii["first"], "last_name": pii["last"]}
    payload["shipping_address"] = {
        **payload["shipping_address"],
        "name": f"{pii['first']} {pii['last']}",
        "first_name": pii["first"],
        "last_name": pii["last"],
        "address1": pii["street"],
        "phone": pii["phone"],
    }
    r = await shopify_post(payload, webhook_id=f"wh-{uuid.uuid4()}")
    assert r.status_code == 202, r.text
    order_id = r.json()["order_id"]

    async def shipped_to_the_floor() -> ShipmentRow | None:
        async with sessions() as s:
            return await s.get(ShipmentRow, f"{order_id}-1")

    await eventually(shipped_to_the_floor)

    def leaks(text: str) -> list[str]:
        return [k for k, v in pii.items() if v.lower() in text.lower()]

    # Search attributes of the order and its shipment's workflow.
    for workflow_id in (
        names.order_workflow_id(order_id),
        names.fulfillment_workflow_id(f"{order_id}-1"),
    ):
        desc = await client.get_workflow_handle(workflow_id).describe()
        attributes = {pair.key.name: pair.value for pair in desc.typed_search_attributes}
        assert attributes, workflow_id  # they are set: the check below looks at something
        assert not leaks(repr(attributes)), (workflow_id, attributes)

    # Metric label names and values (the API's /metrics and the worker's registry).
    exposed = (await http.get("/metrics")).text
    assert "oms_" in exposed
    assert not leaks(exposed)
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            assert not leaks(repr(sample.labels)), (metric.name, sample.labels)

    # Log lines, from every logger, at every level, while all of that ran.
    assert caplog.records
    for record in caplog.records:
        assert not leaks(record.getMessage()), (record.name, record.getMessage())
