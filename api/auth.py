"""Bearer-key authentication and role checks, as FastAPI dependencies.

``admin`` may do everything; other roles are listed per route. Staff keys are bound to one
warehouse: routes that touch a shipment check it with :func:`ensure_warehouse`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from api.deps import Session
from api.problems import Problem
from store.keys import Principal, verify_key

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def current_principal(request: Request, session: Session) -> Principal:
    """The verified caller; 401 if the key is missing, unknown or revoked."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "missing bearer key", reason="unauthenticated", headers=_CHALLENGE)
    principal = await verify_key(session, token.strip())
    if principal is None:
        raise Problem(401, "unknown or revoked key", reason="unauthenticated", headers=_CHALLENGE)
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
                reason="forbidden",
            )
        return principal

    return dependency


def ensure_warehouse(principal: Principal, warehouse: str) -> None:
    """Staff act only on their own warehouse's shipments."""
    if principal.role == "staff" and principal.warehouse != warehouse:
        raise Problem(
            403, f"this key is bound to warehouse {principal.warehouse}", reason="other_warehouse"
        )


Admin = Annotated[Principal, Depends(require())]
Ops = Annotated[Principal, Depends(require("ops"))]
Intake = Annotated[Principal, Depends(require("integration"))]
Floor = Annotated[Principal, Depends(require("ops", "staff"))]
Reader = Annotated[Principal, Depends(require("ops", "staff", "integration"))]
