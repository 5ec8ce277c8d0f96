"""Tag rules over HTTP: seeded defaults, versioned validated saves, the preview, intake.

Tag rules are global in the test database: the tests here that PUT restore the rules they
found in a ``finally``, and no other module changes them. Nothing assumes a version number
beyond "the seeded one is 1".
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.app import create_app
from domain.models import OrderInput
from domain.names import order_workflow_id
from domain.tagging import DEFAULT_TAG_RULES, validate_tag_rules
from oms.settings import Settings
from store.db import create_engine, sessionmaker
from store.tables import Product, RuleSet
from store.tagging import KIND, ensure_default_tag_rules
from tests.api.conftest import KeyMaker
from tests.api.helpers import shopify_order
from tests.conftest import Catalog, scratch_database

Sessions = async_sessionmaker[AsyncSession]
MakeCatalog = Callable[..., Awaitable[Catalog]]
URL = "/api/v1/rules/tags"

PORTLAND = {
    "name": "Mara Lindqvist",
    "address1": "418 Alder Street",
    "city": "Portland",
    "province_code": "OR",
    "zip": "97205",
    "country_code": "US",
}


async def fragile_catalog(make_catalog: MakeCatalog, sessions: Sessions) -> Catalog:
    """Two products: the first tagged fragile (and kitchen), the second untagged."""
    cat = await make_catalog()
    async with sessions.begin() as s:
        product = await s.get(Product, cat.skus[0])
        assert product is not None
        product.tags = ["fragile", "kitchen"]
    return cat


def order_body(skus: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "external_id": uuid.uuid4().hex[:12],
        "channel": "web",
        "email": "mara@example.com",
        "shipping_address": PORTLAND,
        "shipping_method": "standard",
        "lines": [{"sku": sku, "quantity": 1, "unit_price": "20.00"} for sku in skus],
        "financial_status": "paid",
        **extra,
    }


@asynccontextmanager
async def restoring(http: httpx.AsyncClient, admin: dict[str, str]) -> AsyncIterator[int]:
    """Yield the current version; afterwards save the rules found as a new version."""
    r = await http.get(URL, headers=admin)
    assert r.status_code == 200, r.text
    before = r.json()
    try:
        yield before["version"]
    finally:
        r = await http.put(URL, json={"rules": before["rules"]}, headers=admin)
        assert r.status_code == 200, r.text


# --- reading --------------------------------------------------------------------------------


async def test_defaults_are_seeded_as_version_1(
    http: httpx.AsyncClient, make_key: KeyMaker, sessions: Sessions
) -> None:
    async with sessions() as s:
        seeded = await s.get(RuleSet, (KIND, 1))
    assert seeded is not None and seeded.actor == "seed"
    assert seeded.rules == DEFAULT_TAG_RULES.to_json()

    names = [rule["name"] for rule in seeded.rules]
    assert names == ["express-shipping", "fragile-items", "high-value", "international"]
    assert seeded.created_at is not None

    ops = await make_key("ops")
    r = await http.get(URL, headers=ops)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] >= 1
    assert set(body) == {"version", "rules", "actor", "created_at"}
    async with sessions() as s:  # what the API reads is the latest saved version
        latest = await s.scalar(
            select(RuleSet).where(RuleSet.kind == KIND).order_by(RuleSet.version.desc()).limit(1)
        )
    assert latest is not None
    assert (body["version"], body["actor"]) == (latest.version, latest.actor)
    assert validate_tag_rules(body["rules"]) == validate_tag_rules(latest.rules)


async def test_roles(
    http: httpx.AsyncClient, make_key: KeyMaker, make_catalog: MakeCatalog
) -> None:
    cat = await make_catalog()
    staff = await make_key("staff", cat.warehouses[0])
    ops = await make_key("ops")
    integration = await make_key("integration")
    rules = {"rules": DEFAULT_TAG_RULES.to_json()}
    assert (await http.get(URL, headers=staff)).status_code == 403
    assert (await http.get(URL)).status_code == 401
    for who in (staff, ops, integration):
        r = await http.put(URL, json=rules, headers=who)
        assert r.status_code == 403, r.text
        assert r.json()["reason"] == "forbidden"
    r = await http.post(f"{URL}/preview", json=order_body(cat.skus), headers=staff)
    assert r.status_code == 403


# --- saving ---------------------------------------------------------------------------------


async def test_put_saves_a_new_version(http: httpx.AsyncClient, admin: dict[str, str]) -> None:
    rules = [
        *DEFAULT_TAG_RULES.to_json(),
        {
            "name": "wholesale",
            "when": {
                "any": [
                    {"field": "units", "op": "gte", "value": 50},
                    {"field": "order_tags", "op": "contains_any", "value": ["B2B"]},
                ]
            },
            "add_tags": ["wholesale"],
            "priority": 5,
        },
    ]
    async with restoring(http, admin) as version:
        r = await http.put(URL, json={"rules": rules, "expected_version": version}, headers=admin)
        assert r.status_code == 200, r.text
        saved = r.json()
        assert saved["version"] == version + 1
        assert saved["actor"] and saved["created_at"]
        assert saved["rules"][-1]["name"] == "wholesale"
        r = await http.get(URL, headers=admin)
        assert r.json()["version"] == version + 1
        assert r.json()["rules"] == saved["rules"]
        # Without expected_version the save goes on top of whatever is there.
        r = await http.put(URL, json={"rules": rules[:1]}, headers=admin)
        assert r.status_code == 200 and r.json()["version"] == version + 2


async def test_invalid_rules_are_422_with_where_and_why_and_nothing_saved(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    before = (await http.get(URL, headers=admin)).json()
    bad = [
        DEFAULT_TAG_RULES.to_json()[0],
        {
            "name": "broken",
            "when": {
                "all": [
                    {"field": "total", "op": "gte", "value": "a lot"},
                    {"field": "skus", "op": "gt", "value": 3},
                ]
            },
            "add_tags": ["Big Order"],
        },
        {"name": "express-shipping", "when": {"any": []}, "add_tags": ["x"]},
    ]
    r = await http.put(
        URL, json={"rules": bad, "expected_version": before["version"]}, headers=admin
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["reason"] == "invalid_rules"
    assert [e["where"] for e in problem["errors"]] == [
        "rules[1].when.all[0].value",
        "rules[1].when.all[1].op",
        "rules[1].add_tags[0]",
        "rules[2].when.any",
        "rules[2].name",
    ]
    assert all(e["why"] for e in problem["errors"])
    assert "rules[1].when.all[0].value" in problem["detail"]
    after = (await http.get(URL, headers=admin)).json()
    assert after["version"] == before["version"]
    assert after["rules"] == before["rules"]
    # A body that is not even a list of rules is refused the same way.
    r = await http.put(URL, json={"rules": ["nope"]}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["where"] == "rules[0]"


async def test_stale_expected_version_is_409(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    async with restoring(http, admin) as version:
        rules = DEFAULT_TAG_RULES.to_json()
        r = await http.put(URL, json={"rules": rules, "expected_version": version}, headers=admin)
        assert r.status_code == 200, r.text
        # A colleague started from ``version`` too: their save must not overwrite ours.
        r = await http.put(URL, json={"rules": rules, "expected_version": version}, headers=admin)
        assert r.status_code == 409, r.text
        assert r.json()["reason"] == "version_conflict"
        assert r.json()["current_version"] == version + 1
        assert (await http.get(URL, headers=admin)).json()["version"] == version + 1


# --- preview --------------------------------------------------------------------------------


async def test_preview_of_an_overnight_fragile_order(
    http: httpx.AsyncClient,
    make_key: KeyMaker,
    make_catalog: MakeCatalog,
    sessions: Sessions,
    admin: dict[str, str],
) -> None:
    cat = await fragile_catalog(make_catalog, sessions)
    ops = await make_key("ops")
    async with restoring(http, admin):
        # The defaults in force, whatever an earlier test left: the test sets what it asserts.
        r = await http.put(URL, json={"rules": DEFAULT_TAG_RULES.to_json()}, headers=admin)
        assert r.status_code == 200, r.text
        current = (await http.get(URL, headers=ops)).json()
        assert validate_tag_rules(current["rules"]) == DEFAULT_TAG_RULES
        body = order_body(cat.skus, shipping_method="overnight", tags=["VIP"])
        r = await http.post(f"{URL}/preview", json=body, headers=ops)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["rules_version"] == current["version"]
        assert out["tags"] == ["fragile", "high-priority", "VIP"]
        assert out["priority"] == 50
        assert out["matched"] == ["express-shipping", "fragile-items"]
        explained = {e["rule"]: e for e in out["explanations"]}
        assert set(explained) == {rule["name"] for rule in current["rules"]}

        # An unsaved rule set: tried on the same order, saved nowhere.
        trial = [
            {
                "name": "abroad-or-big",
                "when": {
                    "any": [
                        {"field": "country", "op": "ne", "value": {"fact": "home_country"}},
                        {"field": "units", "op": "gte", "value": 2},
                    ]
                },
                "add_tags": ["check-twice"],
                "priority": 7,
            }
        ]
        r = await http.post(f"{URL}/preview", json={**body, "rules": trial}, headers=ops)
        assert r.status_code == 200, r.text
        assert r.json()["tags"] == ["check-twice", "VIP"]
        assert r.json()["priority"] == 7 and r.json()["rules_version"] is None
        assert (await http.get(URL, headers=ops)).json()["version"] == current["version"]

        trial[0]["when"] = {"field": "units", "op": "contains_any", "value": [2]}
        r = await http.post(f"{URL}/preview", json={**body, "rules": trial}, headers=ops)
        assert r.status_code == 422
        assert r.json()["errors"][0]["where"] == "rules[0].when.op"


# --- intake hands every order its tagging context ---------------------------------------------


async def _started_with(client: Client, order_id: str) -> OrderInput:
    handle = client.get_workflow_handle(order_workflow_id(order_id))
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    [order] = pydantic_data_converter.payload_converter.from_payloads(
        list(started.input.payloads), [OrderInput]
    )
    assert isinstance(order, OrderInput)
    return order


@pytest.mark.usefixtures("worker")
async def test_orders_are_started_with_rules_product_tags_and_home_country(
    http: httpx.AsyncClient,
    make_key: KeyMaker,
    make_catalog: MakeCatalog,
    sessions: Sessions,
    shopify_post: Callable[..., Awaitable[httpx.Response]],
    client: Client,
    admin: dict[str, str],
) -> None:
    cat = await fragile_catalog(make_catalog, sessions)
    version = (await http.get(URL, headers=admin)).json()["version"]

    payload = shopify_order(cat.skus, [1, 1])
    payload["tags"] = " VIP, ,repeat-buyer,"
    r = await shopify_post(payload, webhook_id=f"wh-{uuid.uuid4()}")
    assert r.status_code == 202, r.text
    shopify = await _started_with(client, r.json()["order_id"])
    assert shopify.tags == ["VIP", "repeat-buyer"]
    assert shopify.tagging is not None
    assert shopify.tagging.version >= version
    assert shopify.tagging.product_tags == {cat.skus[0]: ["fragile", "kitchen"], cat.skus[1]: []}
    assert shopify.tagging.home_country == "US"

    integ = await make_key("integration")
    headers = {**integ, "Idempotency-Key": uuid.uuid4().hex}
    r = await http.post("/api/v1/orders", json=order_body(cat.skus[:1]), headers=headers)
    assert r.status_code == 202, r.text
    api = await _started_with(client, r.json()["order_id"])
    assert api.tagging is not None and api.tagging.version >= version
    assert api.tagging.product_tags == {cat.skus[0]: ["fragile", "kitchen"]}


# --- seeding on first start -------------------------------------------------------------------


@pytest.fixture(scope="module")
def empty_database_url(database_url: str) -> Iterator[str]:
    """A database of its own, migrated and empty: what a first start finds."""
    with scratch_database(database_url, "oms_tags") as url:
        yield url


async def test_two_apps_starting_at_once_seed_version_1_once(
    empty_database_url: str, settings: Settings, client: Client
) -> None:
    engine = create_engine(empty_database_url, pool_size=4)
    try:
        apps = [create_app(settings, client=client, engine=engine) for _ in range(3)]

        async def start(app: Any) -> None:
            async with app.router.lifespan_context(app):
                pass

        await asyncio.gather(*(start(app) for app in apps))
        async with sessionmaker(engine)() as s:
            rows = (await s.scalars(select(RuleSet).where(RuleSet.kind == KIND))).all()
            assert [(r.version, r.actor) for r in rows] == [(1, "seed")]
            assert rows[0].rules == DEFAULT_TAG_RULES.to_json()
        async with sessionmaker(engine).begin() as s:  # and again: nothing to do
            assert await ensure_default_tag_rules(s) is False
    finally:
        await engine.dispose()
