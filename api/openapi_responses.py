"""The answers every route can give, written into /openapi.json in one place.

Routes list their own outcomes (404, 409, 503 ...). What they share comes from layers
around them, so it is added here, once, to the generated document: the input guard's
413/415/422 (api/input_guard.py), malformed parameters and JSON (422), the key check's
401/403 (api/auth.py), Temporal out of reach (503) where a route talks to it. All are
problem+json: FastAPI's default 422 entry
(``application/json`` ``HTTPValidationError``) is replaced, since api/problems.py answers
every validation error as problem+json. Without this, clients and schemathesis see
statuses and content types the schema never mentioned (docs/decisions/0011-hostile-input.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.auth import current_principal
from api.deps import get_client
from api.input_guard import BODY_METHODS, accepted_media_types, route_contexts
from api.problems import PROBLEM_MEDIA_TYPE, ProblemBody, _phrase

_PROBLEM_REF = {"$ref": "#/components/schemas/ProblemBody"}


def _calls(dependant: Dependant) -> Iterator[Any]:
    stack = [dependant]
    while stack:
        dep = stack.pop()
        yield dep.call
        stack.extend(dep.dependencies)


def needs_key(route: APIRoute) -> bool:
    """True when the route checks a Bearer key (or the dashboard session behind one)."""
    return any(call is current_principal for call in _calls(route.dependant))


def common_codes(route: APIRoute, method: str) -> list[int]:
    """The statuses a route can answer whatever its handler does."""
    codes = [422]  # bad parameters, malformed JSON, NUL in the URL or body
    if needs_key(route):
        codes += [401, 403]
    if any(call is get_client for call in _calls(route.dependant)):
        codes += [503]  # Temporal unreachable (api/temporal.py ``unavailable``)
    if method in BODY_METHODS and accepted_media_types(route) is not None:
        codes += [413, 415]
    return codes


def add_common_responses(app: FastAPI, schema: dict[str, Any]) -> None:
    """Add :func:`common_codes` as problem+json to every operation of ``schema``.

    A route's own entry for a code is kept (it may say more, e.g. the rules editor's 422),
    but answers only in problem+json."""
    schema.setdefault("components", {}).setdefault("schemas", {}).setdefault(
        "ProblemBody", ProblemBody.model_json_schema()
    )
    for operations in schema["paths"].values():
        for operation in operations.values():
            for code, entry in operation.get("responses", {}).items():
                _problem_only(code, entry)
    for path, methods, route in route_contexts(app.routes):
        if not route.include_in_schema or path not in schema["paths"]:
            continue
        for method in methods:
            operation = schema["paths"][path].get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for code in common_codes(route, method):
                entry = responses.setdefault(str(code), {"description": _phrase(code)})
                content = entry.setdefault("content", {})
                if code == 422 and PROBLEM_MEDIA_TYPE not in content:
                    content.clear()  # FastAPI's default HTTPValidationError: never sent
                content.setdefault(PROBLEM_MEDIA_TYPE, {"schema": _PROBLEM_REF})


def _problem_only(code: str, entry: dict[str, Any]) -> None:
    """An error entry from ``problem_responses``: its schema under problem+json only.

    (``model=`` makes FastAPI file the schema under ``application/json``, which errors are
    never sent as.)"""
    content = entry.get("content", {})
    if not code.startswith(("4", "5")) or PROBLEM_MEDIA_TYPE not in content:
        return
    plain = content.pop("application/json", None)
    if not content[PROBLEM_MEDIA_TYPE].get("schema"):
        content[PROBLEM_MEDIA_TYPE]["schema"] = (plain or {}).get("schema", _PROBLEM_REF)


#: OpenAPI links: what a created resource's answer lets a client (and schemathesis'
#: stateful phase) call next. (method, path, status) -> [(method, path, {param: field})].
LINKS: dict[tuple[str, str, str], list[tuple[str, str, dict[str, str]]]] = {
    ("post", "/api/v1/products", "201"): [
        ("get", "/api/v1/products/{sku}", {"sku": "sku"}),
        ("put", "/api/v1/products/{sku}/low-stock-threshold", {"sku": "sku"}),
    ],
    ("post", "/api/v1/warehouses", "201"): [
        ("patch", "/api/v1/warehouses/{code}", {"code": "code"}),
    ],
    ("post", "/api/v1/channels", "201"): [
        ("patch", "/api/v1/channels/{code}", {"code": "code"}),
        ("get", "/api/v1/channels/{code}/pushes", {"code": "code"}),
        ("post", "/api/v1/channels/{code}/sync", {"code": "code"}),
    ],
    ("post", "/api/v1/webhooks", "201"): [
        ("get", "/api/v1/webhooks/{webhook_id}/deliveries", {"webhook_id": "webhook_id"}),
        ("delete", "/api/v1/webhooks/{webhook_id}", {"webhook_id": "webhook_id"}),
    ],
    ("post", "/api/v1/views", "201"): [
        ("delete", "/api/v1/views/{view_id}", {"view_id": "view_id"}),
    ],
    ("post", "/api/v1/orders", "202"): [
        ("get", "/api/v1/orders/{order_id}", {"order_id": "order_id"}),
        ("get", "/api/v1/orders/{order_id}/history", {"order_id": "order_id"}),
        ("post", "/api/v1/orders/{order_id}/holds", {"order_id": "order_id"}),
        ("post", "/api/v1/orders/{order_id}/tags", {"order_id": "order_id"}),
        ("post", "/api/v1/orders/{order_id}/cancel", {"order_id": "order_id"}),
    ],
}


def add_links(schema: dict[str, Any]) -> None:
    """Write :data:`LINKS` into the operations' responses (by operationId)."""
    paths = schema["paths"]
    for (method, path, status), targets in LINKS.items():
        response = paths[path][method]["responses"][status]
        links = response.setdefault("links", {})
        for target_method, target_path, params in targets:
            target = paths[target_path][target_method]
            links[target["operationId"]] = {
                "operationId": target["operationId"],
                "parameters": {k: f"$response.body#/{v}" for k, v in params.items()},
            }


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` document the common answers (built once, then cached)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            add_common_responses(app, schema)
            add_links(schema)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
