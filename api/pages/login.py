"""``/login`` and ``/logout``: trade an API key for a session cookie, and back.

The key is typed once into a form and checked like a Bearer key; the browser then holds
only a signed session id (see :mod:`api.session`), never the key, so no page script can
read or leak it.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated, Any

from cachetools import TTLCache
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from api.auth import session_principal
from api.pages.common import PAGE_ROLES, form_of, render
from api.session import (
    clear_session_cookie,
    csrf_ok,
    is_https,
    session_id_of,
    set_session_cookie,
)
from store.keys import verify_key
from store.sessions import close_session, open_session

router = APIRouter(include_in_schema=False)

#: Failed sign-ins per client address this process tolerates in ``FAILURE_WINDOW`` seconds
#: before answering 429: keys are 256-bit random, so this only keeps a script from
#: hammering the key table (each failure is a database read), per process.
MAX_FAILURES = 20
FAILURE_WINDOW = 300
_failures: TTLCache[str, int] = TTLCache(maxsize=10_000, ttl=FAILURE_WINDOW)


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no ``//host``): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


LOGIN_COOKIE = "oms_login"


def login_page(
    request: Request, next: str | None, error: str | None, status_code: int = 200, **kw: Any
) -> Response:
    """The form, with a fresh sign-in token in a hidden field and in a ``SameSite=Strict``
    cookie (double submit): a form posted from another site carries no cookie, so it
    cannot sign a browser in with someone else's key."""
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        None,
        next=safe_next(next),
        error=error,
        login_token=token,
        status_code=status_code,
        **kw,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
        path="/login",
    )
    return response


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return login_page(request, next, None)


@router.post("/login")
async def login(
    request: Request,
    key: Annotated[str, Form(max_length=200)],
    next: Annotated[str | None, Form(max_length=2000)] = None,
    login_token: Annotated[str | None, Form(max_length=100)] = None,
) -> Response:
    if not csrf_ok(request.cookies.get(LOGIN_COOKIE, ""), login_token):
        return login_page(
            request, next, "The sign-in form expired; please sign in again.", status_code=403
        )
    who = _client(request)
    if _failures.get(who, 0) >= MAX_FAILURES:
        return login_page(
            request,
            next,
            "Too many failed sign-ins from here; wait a few minutes.",
            status_code=429,
            headers={"Retry-After": str(FAILURE_WINDOW)},
        )
    async with AsyncSession(request.app.state.autocommit) as session:
        principal = await verify_key(session, key.strip())
    if principal is None or principal.role not in PAGE_ROLES:
        _failures[who] = _failures.get(who, 0) + 1
        error = (
            "That key is not valid (unknown or revoked)."
            if principal is None
            else f"A {principal.role} key cannot use the dashboard."
        )
        return login_page(request, next, error, status_code=401)
    settings = request.app.state.settings
    async with request.app.state.sessions.begin() as session:
        opened = await open_session(
            session, principal.key_id, timedelta(hours=settings.session_hours)
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(request, response, opened.session_id)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Ends the session everywhere (its row goes); needs the page's CSRF token."""
    response = RedirectResponse("/login", status_code=303)
    if await session_principal(request, request.app.state.autocommit) is not None:
        await form_of(request)
        session_id = session_id_of(request)
        if session_id:
            async with request.app.state.sessions.begin() as session:
                await close_session(session, session_id)
    clear_session_cookie(request, response)
    return response
