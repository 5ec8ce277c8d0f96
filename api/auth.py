"""Bearer-key authentication and role checks, as FastAPI dependencies.

``admin`` may do everything; other roles are listed per route. Staff keys are bound to one
warehouse: routes that touch a shipment check it with :func:`ensure_warehouse`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from cachetools import TTLCache
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.deps import Autocommit
from api.problems import Problem
from api.session import COOKIE, CSRF_HEADER, SAFE_METHODS, csrf_ok, session_id_of
from domain.codes import ProblemCode
from store.keys import Principal, hash_key, verify_key
from store.sessions import resolve_session

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class KeyCache:
    """Verified keys this process trusts for ``seconds`` without reading them again.

    Every floor request (a scan every second or two per handheld) would otherwise spend a
    Postgres round trip re-reading the same key. Entries are keyed by the key's hash (the
    plain key is not kept) and only successful verifications are cached, so an unknown key
    is read every time. :meth:`forget` drops a revoked key at once in this process; other
    API processes see the revocation when their entry expires.
    """

    def __init__(
        self, seconds: float, *, size: int = 10_000, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: TTLCache[str, Principal] | None = (
            TTLCache(maxsize=size, ttl=seconds, timer=timer) if seconds > 0 else None
        )

    def get(self, key: str) -> Principal | None:
        return self._entries.get(hash_key(key)) if self._entries is not None else None

    def put(self, key: str, principal: Principal) -> None:
        if self._entries is not None:
            self._entries[hash_key(key)] = principal

    def __len__(self) -> int:
        return len(self._entries) if self._entries is not None else 0

    def digests(self) -> list[str]:
        """The cached keys' hashes (what is kept instead of the keys)."""
        return list(self._entries) if self._entries is not None else []

    def forget(self, key_id: str) -> None:
        if self._entries is not None:
            for digest in [d for d, p in self._entries.items() if p.key_id == key_id]:
                self._entries.pop(digest, None)


def key_cache(request: Request) -> KeyCache:
    cache: KeyCache = request.app.state.key_cache
    return cache


async def session_principal(request: Request, db: AsyncEngine) -> Principal | None:
    """The key behind the request's dashboard session cookie, or None.

    Sets ``request.state.csrf_token`` (the session's token) for pages to embed.
    """
    session_id = session_id_of(request)
    if session_id is None:
        return None
    async with AsyncSession(db) as session:
        found = await resolve_session(session, session_id)
    if found is None:
        return None
    request.state.csrf_token = found.csrf_token
    principal = Principal(found.key_id, found.role, found.warehouse, found.name)
    request.state.principal = principal
    return principal


async def current_principal(request: Request, db: Autocommit) -> Principal:
    """The verified caller; 401 if the key is missing, unknown or revoked.

    A Bearer key, or else the dashboard's session cookie; a state-changing request on the
    cookie must carry the session's CSRF token in ``X-CSRF-Token`` (403 otherwise).

    The key is read in autocommit on a connection given back at once: a request that goes
    on to wait for a workflow holds no pooled connection for its key.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if not header and COOKIE in request.cookies:
        principal = await session_principal(request, db)
        if principal is None:
            raise Problem(401, "the session has ended", reason=ProblemCode.UNAUTHENTICATED)
        if request.method not in SAFE_METHODS and not csrf_ok(
            request.state.csrf_token, request.headers.get(CSRF_HEADER)
        ):
            raise Problem(403, "missing or wrong CSRF token", reason=ProblemCode.CSRF)
        return principal
    if scheme.lower() != "bearer" or not token:
        raise Problem(
            401, "missing bearer key", reason=ProblemCode.UNAUTHENTICATED, headers=_CHALLENGE
        )
    cache = key_cache(request)
    principal = cache.get(token)
    if principal is None:
        async with AsyncSession(db) as session:
            principal = await verify_key(session, token)
        if principal is None:
            raise Problem(
                401,
                "unknown or revoked key",
                reason=ProblemCode.UNAUTHENTICATED,
                headers=_CHALLENGE,
            )
        cache.put(token, principal)
    request.state.principal = principal
    return principal


def require(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting ``admin`` and ``roles``; 403 for any other role."""
    allowed = {"admin", *roles}

    async def dependency(
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> Principal:
        if principal.role not in allowed:
            raise Problem(
                403,
                f"role {principal.role} may not do this (needs {' or '.join(sorted(allowed))})",
                reason=ProblemCode.FORBIDDEN,
            )
        return principal

    return dependency


def scope_of(principal: Principal) -> str | None:
    """The warehouse a key is confined to (staff), else None: lists, counts, exports and
    streams apply it server-side, whatever the request asks for."""
    return principal.warehouse if principal.role == "staff" else None


def ensure_warehouse(principal: Principal, warehouse: str) -> None:
    """Staff act only on their own warehouse's shipments."""
    if principal.role == "staff" and principal.warehouse != warehouse:
        raise Problem(
            403,
            f"this key is bound to warehouse {principal.warehouse}",
            reason=ProblemCode.OTHER_WAREHOUSE,
        )


def ensure_ships_from(principal: Principal, warehouses: list[str] | None) -> None:
    """Staff see and act on only the orders shipping from their warehouse (as the lists
    show them)."""
    if principal.role == "staff" and principal.warehouse not in (warehouses or []):
        raise Problem(
            403, "this order does not ship from your warehouse", reason=ProblemCode.FORBIDDEN
        )


Admin = Annotated[Principal, Depends(require())]
Ops = Annotated[Principal, Depends(require("ops"))]
Intake = Annotated[Principal, Depends(require("integration"))]
Floor = Annotated[Principal, Depends(require("ops", "staff"))]
Reader = Annotated[Principal, Depends(require("ops", "staff", "integration"))]
