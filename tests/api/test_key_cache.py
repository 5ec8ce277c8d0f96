"""Verified keys are trusted for OMS_KEY_CACHE_SECONDS, never longer, and revocation
through this process applies at once (store reads saved on every floor request)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth import KeyCache
from store.keys import Principal, hash_key
from store.tables import ApiKey
from tests.api.conftest import KeyMaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(api_app: FastAPI) -> Iterator[Clock]:
    """The app's key cache on a clock the test moves (restored afterwards)."""
    clock = Clock()
    saved = api_app.state.key_cache
    api_app.state.key_cache = KeyCache(10, timer=clock)
    try:
        yield clock
    finally:
        api_app.state.key_cache = saved


def test_cache_keeps_hashes_expires_and_forgets() -> None:
    clock = Clock()
    cache = KeyCache(10, timer=clock)
    who = Principal(key_id="k1", role="staff", warehouse="WH-1")
    cache.put("oms_k1.secret", who)
    assert cache.get("oms_k1.secret") == who
    assert cache.get("oms_k1.other") is None
    assert cache.digests() == [hash_key("oms_k1.secret")]  # the plain key is not kept
    clock.now += 9.9
    assert cache.get("oms_k1.secret") == who
    clock.now += 0.2
    assert cache.get("oms_k1.secret") is None  # expired: the next request reads the key
    cache.put("oms_k1.secret", who)
    cache.put("oms_k2.secret", Principal(key_id="k2", role="ops"))
    cache.forget("k1")
    assert cache.get("oms_k1.secret") is None
    assert cache.get("oms_k2.secret") is not None


def test_zero_seconds_caches_nothing() -> None:
    cache = KeyCache(0)
    cache.put("oms_k1.secret", Principal(key_id="k1", role="ops"))
    assert cache.get("oms_k1.secret") is None


async def test_revoked_elsewhere_is_refused_once_the_entry_expires(
    http: httpx.AsyncClient,
    make_key: KeyMaker,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    ops = await make_key("ops")
    key_id = ops["Authorization"].removeprefix("Bearer oms_").split(".", 1)[0]
    assert (await http.get("/api/v1/orders/counts", headers=ops)).status_code == 200
    # Another API process revokes it: this one trusts its entry for at most 10 s.
    async with sessions.begin() as s:
        await s.execute(update(ApiKey).where(ApiKey.key_id == key_id).values(revoked_at=func.now()))
    clock.now += 5
    assert (await http.get("/api/v1/orders/counts", headers=ops)).status_code == 200
    clock.now += 5.1
    refused = await http.get("/api/v1/orders/counts", headers=ops)
    assert refused.status_code == 401
    assert refused.json()["reason"] == "unauthenticated"


async def test_revoke_through_the_api_applies_at_once(
    http: httpx.AsyncClient, admin: dict[str, str], make_key: KeyMaker, clock: Clock
) -> None:
    ops = await make_key("ops")
    key_id = ops["Authorization"].removeprefix("Bearer oms_").split(".", 1)[0]
    assert (await http.get("/api/v1/orders/counts", headers=ops)).status_code == 200
    assert (await http.delete(f"/api/v1/keys/{key_id}", headers=admin)).status_code == 200
    assert (await http.get("/api/v1/orders/counts", headers=ops)).status_code == 401


async def test_unknown_keys_are_not_cached(
    http: httpx.AsyncClient, api_app: FastAPI, clock: Clock
) -> None:
    bogus = {"Authorization": "Bearer oms_0123456789abcdef.not-a-secret"}
    for _ in range(2):
        assert (await http.get("/api/v1/orders/counts", headers=bogus)).status_code == 401
    assert len(api_app.state.key_cache) == 0
