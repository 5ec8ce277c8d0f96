"""Hostile input at the door (api/input_guard.py, api/bounds.py): 413 before the body is
read whole, 415 for a media type the route does not take, 422 for NUL, lone surrogates and
numbers past their bounds; each refusal is problem+json and changes nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.codes import ProblemCode, ScanRefusal, UpdateRefusal, every_code
from store.tables import InventoryAdjustment, OrderIntake, Product, Warehouse
from tests.api.helpers import shopify_order
from tests.conftest import Catalog

MiB = 1024 * 1024


def _problem(r: httpx.Response, status: int, reason: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    if reason is not None:
        assert r.json()["reason"] == reason, r.text


async def _product_count(sessions: async_sessionmaker[AsyncSession], sku: str) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).where(Product.sku == sku)) or 0)


def _product(sku: str, **extra: object) -> dict[str, object]:
    return {"sku": sku, "name": "Guard test", "weight_grams": 100, **extra}


async def test_a_declared_length_over_the_limit_is_413_unread(
    http: httpx.AsyncClient, admin: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    sku = f"G-{uuid.uuid4().hex[:8]}"
    body = json.dumps(_product(sku, padding="x" * MiB)).encode()
    r = await http.post(
        "/api/v1/products",
        content=body,
        headers={**admin, "Content-Type": "application/json"},
    )
    _problem(r, 413, "body_too_large")
    assert r.json()["limit"] == MiB
    assert await _product_count(sessions, sku) == 0


async def test_a_streamed_body_is_cut_off_at_the_limit(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """No Content-Length (chunked): counted while it streams, refused once past the limit,
    and the rest is never pulled from the client."""
    chunk = b" " * (64 * 1024)
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(160):  # 10 MiB if read to the end
            sent += 1
            yield chunk

    r = await http.post(
        "/api/v1/products",
        content=endless(),
        headers={**admin, "Content-Type": "application/json"},
    )
    _problem(r, 413, "body_too_large")
    assert sent <= MiB // len(chunk) + 2  # stopped right after the limit


async def test_the_shopify_webhook_takes_more_than_the_default_limit(
    shopify_post: Callable[..., Awaitable[httpx.Response]],
    make_catalog: Callable[..., Awaitable[Catalog]],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cat = await make_catalog()
    payload = shopify_order(cat.skus)
    payload["note_attributes"] = [{"name": "pad", "value": "x" * (2 * MiB)}]
    r = await shopify_post(payload, webhook_id=f"wh-{uuid.uuid4()}")
    assert r.status_code == 202, r.text[:500]
    too_big = shopify_order(cat.skus)
    too_big["note_attributes"] = [{"name": "pad", "value": "x" * (6 * MiB)}]
    r = await shopify_post(too_big, webhook_id=f"wh-{uuid.uuid4()}")
    _problem(r, 413, "body_too_large")
    async with sessions() as s:
        stored = await s.scalar(
            select(func.count()).where(OrderIntake.external_id == str(too_big["id"]))
        )
    assert stored == 0


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/v1/products", "text/plain"),
        ("/api/v1/products", "application/x-www-form-urlencoded"),
        ("/api/v1/inventory/import", "application/json"),
    ],
)
async def test_a_media_type_the_route_does_not_take_is_415(
    path: str, content_type: str, http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    r = await http.post(
        path,
        content=json.dumps(_product(f"G-{uuid.uuid4().hex[:8]}")).encode(),
        headers={**admin, "Content-Type": content_type},
    )
    _problem(r, 415, "unsupported_media_type")


async def test_json_with_a_charset_or_a_json_suffix_is_taken(
    http: httpx.AsyncClient, admin: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        sku = f"G-{uuid.uuid4().hex[:8]}"
        r = await http.post(
            "/api/v1/products",
            content=json.dumps(_product(sku)).encode(),
            headers={**admin, "Content-Type": content_type},
        )
        assert r.status_code == 201, r.text
        assert await _product_count(sessions, sku) == 1


@pytest.mark.parametrize(
    ("raw_name", "reason"),
    [
        ('"Mug\\u0000"', "nul_character"),
        ('"Mug \\ud800"', "invalid_unicode"),
        ('"\\udc00 Mug"', "invalid_unicode"),
    ],
)
async def test_nul_and_lone_surrogates_in_json_are_422(
    raw_name: str,
    reason: str,
    http: httpx.AsyncClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    sku = f"G-{uuid.uuid4().hex[:8]}"
    body = f'{{"sku": "{sku}", "name": {raw_name}, "weight_grams": 100}}'.encode()
    r = await http.post(
        "/api/v1/products", content=body, headers={**admin, "Content-Type": "application/json"}
    )
    _problem(r, 422, reason)
    assert await _product_count(sessions, sku) == 0


async def test_nul_deep_in_a_free_form_config_is_422(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {
        "code": f"c{uuid.uuid4().hex[:8]}",
        "name": "guard",
        "kind": "shopify",
        "config": {"nested": [{"\u0000key": "v"}]},
    }
    r = await http.post("/api/v1/channels", json=body, headers=admin)
    _problem(r, 422, "nul_character")


async def test_a_surrogate_pair_is_text_and_is_stored(
    http: httpx.AsyncClient, admin: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    sku = f"G-{uuid.uuid4().hex[:8]}"
    body = f'{{"sku": "{sku}", "name": "Mug \\ud83d\\ude00", "weight_grams": 100}}'.encode()
    r = await http.post(
        "/api/v1/products", content=body, headers={**admin, "Content-Type": "application/json"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "Mug \U0001f600"


async def test_a_body_that_is_not_utf8_is_422(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    r = await http.post(
        "/api/v1/products",
        content=b'{"sku": "\xff\xfe", "name": "x", "weight_grams": 1}',
        headers={**admin, "Content-Type": "application/json"},
    )
    _problem(r, 422, "invalid_unicode")


async def test_nul_in_a_query_a_form_or_a_csv_is_422(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _problem(await http.get("/api/v1/orders?q=mug%00", headers=admin), 422, "nul_character")
    _problem(await http.get("/api/v1/inventory?sku=%00", headers=admin), 422, "nul_character")
    r = await http.post(
        "/login",
        content=b"key=oms_x%00&login_token=t",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _problem(r, 422, "nul_character")
    r = await http.post(
        "/api/v1/inventory/import",
        content=b"sku,warehouse,on_hand\nA\x00,WH,1\n",
        headers={**admin, "Content-Type": "text/csv"},
    )
    _problem(r, 422, "nul_character")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/products", _product("G-BIG", weight_grams=10**12), "weight_grams"),
        (
            "/api/v1/warehouses",
            {
                "code": "G-BIG",
                "name": "big",
                "country_code": "US",
                "latitude": 1,
                "longitude": 1,
                "priority": -(10**21),
            },
            "priority",
        ),
        (
            "/api/v1/warehouses",
            {
                "code": "G-BIG",
                "name": "big",
                "country_code": "US",
                "latitude": 1,
                "longitude": 1,
                "daily_capacity": 2**31,
            },
            "daily_capacity",
        ),
        (
            "/api/v1/inventory/adjustments",
            {"sku": "G-BIG", "warehouse": "G-BIG", "on_hand": 2**31, "reason": "count"},
            "on_hand",
        ),
        (
            "/api/v1/orders",
            {"external_id": "x", "channel": "web", "email": "a@b", "financial_status": "paid"},
            "shipping_address",
        ),
    ],
)
async def test_numbers_past_their_bounds_are_422_naming_the_field(
    path: str,
    body: dict[str, object],
    field: str,
    http: httpx.AsyncClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    r = await http.post(path, json=body, headers=admin)
    _problem(r, 422, "validation_error")
    assert any(field in map(str, e["loc"]) for e in r.json()["errors"]), r.text
    async with sessions() as s:
        assert await s.get(Warehouse, "G-BIG") is None
        assert await _product_count(sessions, "G-BIG") == 0


async def test_query_and_path_numbers_past_their_bounds_are_422(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _problem(await http.get("/api/v1/orders?priority=999999", headers=admin), 422)
    r = await http.post(f"/api/v1/webhooks/nope/deliveries/{2**63}/redeliver", headers=admin)
    _problem(r, 422, "validation_error")


async def test_a_level_pushed_past_its_column_is_422_and_unchanged(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    make_catalog: Callable[..., Awaitable[Catalog]],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Each delta is within bounds; their sum is not: Postgres' range is the last net."""
    cat = await make_catalog(n_products=1)
    where = {"sku": cat.skus[0], "warehouse": cat.warehouses[0]}
    r = await http.post(
        "/api/v1/inventory/adjustments",
        json={**where, "on_hand": 10**9, "reason": "count"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    for _ in range(2):
        r = await http.post(
            "/api/v1/inventory/adjustments",
            json={**where, "delta": 10**9, "reason": "receipt"},
            headers=admin,
        )
    _problem(r, 422)
    levels = await http.get("/api/v1/inventory", params={"sku": cat.skus[0]}, headers=admin)
    on_hand = {lv["warehouse"]: lv["on_hand"] for lv in levels.json()}
    assert on_hand[cat.warehouses[0]] == 2 * 10**9
    async with sessions() as s:
        adjustments = await s.scalar(
            select(func.count()).where(InventoryAdjustment.sku == cat.skus[0])
        )
    assert adjustments == 3  # setup + count + the first receipt; the refused one left none


async def test_openapi_documents_the_common_answers(http: httpx.AsyncClient) -> None:
    doc = (await http.get("/openapi.json")).json()
    post = doc["paths"]["/api/v1/products"]["post"]
    for code in ("401", "403", "413", "415", "422"):
        assert "application/problem+json" in post["responses"][code]["content"], code
    assert "application/json" not in post["responses"]["422"]["content"]
    name = doc["components"]["schemas"]["ProductIn"]["properties"]["name"]
    assert name["maxLength"] == 300
    weight = doc["components"]["schemas"]["ProductIn"]["properties"]["weight_grams"]
    assert weight["maximum"] == 1_000_000


async def test_openapi_lists_every_problem_reason(http: httpx.AsyncClient) -> None:
    """Clients match on ``reason``: the problem schema lists every code of domain/codes.py."""
    doc = (await http.get("/openapi.json")).json()
    reason = doc["components"]["schemas"]["ProblemBody"]["properties"]["reason"]
    listed = next(s["enum"] for s in reason["anyOf"] if "enum" in s)
    assert listed == every_code()
    assert {ProblemCode.NOT_FOUND, ScanRefusal.OVER_SCAN, UpdateRefusal.ALREADY_SHIPPED} <= set(
        listed
    )


async def test_every_documented_answer_names_its_content_type(http: httpx.AsyncClient) -> None:
    """An answer with a body says what it is (a bare entry lets any content type pass)."""
    doc = (await http.get("/openapi.json")).json()
    bare = [
        f"{method.upper()} {path} {code}"
        for path, operations in doc["paths"].items()
        for method, operation in operations.items()
        for code, answer in operation["responses"].items()
        if not answer.get("content") and code != "204" and not code.startswith("3")
    ]
    assert not bare, bare
