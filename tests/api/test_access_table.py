"""Every route of the app x every kind of caller, against the declared table (api/access.py).

Callers: admin, ops, staff of the shipment's warehouse, staff of another, integration, no
key, a revoked key. Key routes are called with ``Authorization: Bearer``; dashboard pages
with the session cookie that key signs in to (a revoked key's session is dead; an
integration key cannot sign in). Bodies are empty, except where the route checks the
shipment's warehouse in its handler, after the body is validated: there a valid body makes
the call reach that check.

Refused means 401 / a 303 to /login (who are you?) or 403 ``forbidden`` /
``other_warehouse`` (not you); anything else (200, 404, 409, 422, a 403 ``csrf`` from the
form check behind the role check ...) means the gate let the caller through.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.access import ACCESS, Access, Gate, Role
from api.input_guard import route_contexts
from tests.api.conftest import KeyMaker, OpenShipment
from tests.api.dashboard_helpers import login_token
from tests.conftest import Catalog

CALLERS = ("none", "revoked", "integration", "staff_other", "staff_here", "ops", "admin")
ROLE_OF = {
    "integration": Role.INTEGRATION,
    "staff_other": Role.STAFF,
    "staff_here": Role.STAFF,
    "ops": Role.OPS,
    "admin": Role.ADMIN,
}
#: Bodies for the routes that check the shipment's warehouse in the handler.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/shipments/{shipment_id}/scans"): {
        "barcode": "0000000000000",
        "scan_id": "access-{n}",
    },
    ("POST", "/api/v1/shipments/{shipment_id}/pack"): {"weight_grams": 100},
    ("POST", "/api/v1/shipments/{shipment_id}/reject"): {"reason": "access table"},
    ("POST", "/api/v1/shipments/{shipment_id}/packaging-check"): {},
    ("POST", "/api/v1/orders/{order_id}/tags"): {"tags": ["access-table"]},
}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, methods, _ in route_contexts(app.routes)
        for method in methods
        if method != "HEAD"
    }


def test_every_route_has_an_entry_and_every_entry_a_route(api_app: FastAPI) -> None:
    routes = app_routes(api_app)
    missing = sorted(routes - ACCESS.keys())
    stale = sorted(ACCESS.keys() - routes)
    assert not missing, f"routes without an entry in api/access.py: {missing}"
    assert not stale, f"entries in api/access.py for no route: {stale}"


@dataclass
class Caller:
    name: str
    bearer: dict[str, str]
    #: A client holding a dashboard session for the key (None: cannot sign in).
    browser: httpx.AsyncClient | None


def expected(access: Access, caller: str) -> str:
    """``unauthenticated``, ``forbidden``, ``allowed`` or ``absent`` (a dev route off)."""
    if access.gate is Gate.PUBLIC:
        return "allowed"
    if access.gate is Gate.SIGNED:
        return "unauthenticated"  # no signature: a key grants nothing here
    if access.gate is Gate.DEV:
        return "absent"  # the session's API runs without the dev SMTP sink
    if caller in ("none", "revoked") or (access.gate is Gate.PAGE and caller == "integration"):
        return "unauthenticated"
    if ROLE_OF[caller] not in access.roles:
        return "forbidden"
    if access.own_warehouse and caller == "staff_other":
        return "forbidden"
    return "allowed"


def observed(r: httpx.Response) -> str:
    if r.status_code == 404 and "no dev mailbox" in r.text:
        return "absent"
    if r.status_code == 401:
        return "unauthenticated"
    if r.status_code == 303 and r.headers.get("location", "").startswith("/login?"):
        return "unauthenticated"
    if r.status_code == 403:
        reason = r.json().get("reason") if "json" in r.headers.get("content-type", "") else None
        if reason in ("forbidden", "other_warehouse"):
            return "forbidden"
    return "allowed"


async def _signed_in(http: httpx.AsyncClient, key: str) -> httpx.AsyncClient | None:
    transport = httpx.ASGITransport(app=http._transport.app)  # type: ignore[attr-defined]
    browser = httpx.AsyncClient(transport=transport, base_url=str(http.base_url))
    token = await login_token(browser)
    r = await browser.post("/login", data={"key": key, "next": "/", "login_token": token})
    if r.status_code != 303:
        await browser.aclose()
        return None
    return browser


@pytest.fixture
async def callers(
    http: httpx.AsyncClient,
    make_key: KeyMaker,
    admin: dict[str, str],
    open_shipment: Callable[..., Awaitable[OpenShipment]],
    make_catalog: Callable[..., Awaitable[Catalog]],
) -> AsyncIterator[tuple[OpenShipment, dict[str, Caller]]]:
    cat = await make_catalog(n_products=1)
    ship = await open_shipment([cat.skus[0]], [1])
    other = next(w for w in cat.warehouses if w != ship.warehouse)
    headers = {
        "none": {},
        "revoked": await make_key("ops"),
        "integration": await make_key("integration"),
        "staff_other": await make_key("staff", other),
        "staff_here": ship.staff,
        "ops": await make_key("ops"),
        "admin": admin,
    }
    found: dict[str, Caller] = {}
    for name, header in headers.items():
        key = header.get("Authorization", "").removeprefix("Bearer ")
        browser = await _signed_in(http, key) if key else None
        found[name] = Caller(name, header, browser)
    revoked_id = headers["revoked"]["Authorization"].removeprefix("Bearer oms_").split(".")[0]
    r = await http.delete(f"/api/v1/keys/{revoked_id}", headers=admin)
    assert r.status_code == 200, r.text
    yield ship, found
    for caller in found.values():
        if caller.browser is not None:
            await caller.browser.aclose()


def _url(path: str, ship: OpenShipment) -> str:
    values = {"shipment_id": ship.shipment_id, "order_id": ship.order_id}

    def fill(m: re.Match[str]) -> str:
        name = m.group(1).split(":")[0]
        if name in values:
            return values[name]
        return "1" if name.endswith(("mail_id", "delivery_id")) else "nope"

    return re.sub(r"\{([^}]+)\}", fill, path)


async def test_every_route_answers_every_caller_as_the_table_says(
    http: httpx.AsyncClient, api_app: FastAPI, callers: tuple[OpenShipment, dict[str, Caller]]
) -> None:
    ship, by_name = callers
    wrong: list[str] = []
    checked = 0
    for method, path in sorted(app_routes(api_app)):
        access = ACCESS[(method, path)]
        if path == "/api/v1/stream" or path == "/logout":
            continue  # below: the stream never ends; signing out would end the sessions
        url = _url(path, ship)
        for name in CALLERS:
            caller = by_name[name]
            body = BODIES.get((method, path))
            kwargs: dict[str, Any] = {}
            if body is not None:
                kwargs["json"] = {
                    k: v.format(n=uuid.uuid4().hex) if isinstance(v, str) else v
                    for k, v in body.items()
                }
            if access.gate is Gate.PAGE:
                client = caller.browser
                if client is None:
                    client, kwargs["headers"] = http, {}
            else:
                client, kwargs["headers"] = http, caller.bearer
            r = await client.request(method, url, **kwargs, follow_redirects=False)
            checked += 1
            want, got = expected(access, name), observed(r)
            if want != got:
                wrong.append(f"{method} {path} as {name}: want {want}, got {r.status_code} {got}")
    assert not wrong, "\n".join(wrong)
    assert checked >= 7 * 80


async def test_the_stream_refuses_like_its_entry(
    http: httpx.AsyncClient, callers: tuple[OpenShipment, dict[str, Caller]]
) -> None:
    """Only the refusals: an admitted caller's stream would never end."""
    _, by_name = callers
    access = ACCESS[("GET", "/api/v1/stream")]
    for name in CALLERS:
        want = expected(access, name)
        if want == "allowed":
            continue
        r = await http.get("/api/v1/stream", headers=by_name[name].bearer)
        assert observed(r) == want, (name, r.status_code, r.text)
