"""Keys: hashed at rest, roles enforced, revocation immediate, errors as problem+json."""

from __future__ import annotations

import hashlib

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.tables import ApiKey
from tests.api.conftest import KeyMaker
from tests.conftest import Catalog


async def test_missing_key_is_401_problem(http: httpx.AsyncClient) -> None:
    r = await http.get("/api/v1/warehouses")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == 401 and body["title"] and body["detail"]


async def test_unknown_key_is_401(http: httpx.AsyncClient) -> None:
    r = await http.get("/api/v1/warehouses", headers={"Authorization": "Bearer oms_nope.x"})
    assert r.status_code == 401


async def test_staff_wrong_role_is_403(
    http: httpx.AsyncClient, make_key: KeyMaker, make_catalog
) -> None:  # type: ignore[no-untyped-def]
    cat: Catalog = await make_catalog()
    staff = await make_key("staff", cat.warehouses[0])
    r = await http.post(
        "/api/v1/inventory/adjustments",
        headers=staff,
        json={"sku": cat.skus[0], "warehouse": cat.warehouses[0], "delta": 1, "reason": "count"},
    )
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["reason"] == "forbidden"


async def test_key_created_hashed_and_revocable(
    http: httpx.AsyncClient, admin: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    r = await http.post("/api/v1/keys", headers=admin, json={"role": "ops", "name": "ops lead"})
    assert r.status_code == 201
    key, key_id = r.json()["key"], r.json()["key_id"]
    async with sessions() as s:
        row = (await s.scalars(select(ApiKey).where(ApiKey.key_id == key_id))).one()
        assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
        assert key not in {row.key_hash, row.key_id, row.name}
        secret = key.split(".", 1)[1]
        assert secret not in row.key_hash
    ops = {"Authorization": f"Bearer {key}"}
    assert (await http.get("/api/v1/orders/counts", headers=ops)).status_code == 200
    # ops may not issue keys
    assert (await http.post("/api/v1/keys", headers=ops, json={"role": "ops"})).status_code == 403
    assert (await http.delete(f"/api/v1/keys/{key_id}", headers=admin)).status_code == 200
    assert (await http.get("/api/v1/orders/counts", headers=ops)).status_code == 401
    assert (await http.delete("/api/v1/keys/doesnotexist", headers=admin)).status_code == 404


async def test_staff_key_needs_warehouse(http: httpx.AsyncClient, admin: dict[str, str]) -> None:
    r = await http.post("/api/v1/keys", headers=admin, json={"role": "staff"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"]


async def test_probes_and_metrics(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).status_code == 200
    ready = await http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "temporal": "ok"}
    metrics = await http.get("/metrics")
    assert metrics.status_code == 200
    assert "oms_http_requests_total" in metrics.text
    assert 'route="/healthz"' in metrics.text
