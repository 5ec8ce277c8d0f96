"""The API's outer guard on what a request may carry, before any route reads it.

Three refusals every route shares (docs/decisions/0011-hostile-input.md), in one ASGI
middleware rather than per field or per route:

* **413** — a body over the route's limit (``OMS_MAX_BODY_BYTES``, 1 MiB by default; the
  Shopify webhook ``OMS_MAX_WEBHOOK_BODY_BYTES``, 5 MiB; the CSV import 10 MiB). A declared
  ``Content-Length`` over it is refused without reading a byte; a chunked body is counted
  while it streams and refused the moment it passes the limit, so a hostile client never
  makes the API hold more than the limit.
* **415** — a body in a media type the route does not take (JSON routes take JSON; form
  pages take forms; the import takes CSV or multipart), read from the route itself.
* **422** — text Postgres cannot store or that is not text at all: NUL (``\\u0000`` in
  JSON, ``%00`` in a query or form, a NUL byte in CSV), lone UTF-16 surrogates
  (``\\ud800`` in JSON) and bodies that are not UTF-8. Checked here once for every field,
  every model (API or domain), every free-form ``config`` dict and the raw-body webhooks;
  pydantic's bounds and lengths check the rest.

Every refusal is problem+json (api/problems.py) and happens before the route runs, so a
refused request changes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Any

from fastapi import params
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Router, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import Problem, problem_response
from domain.codes import ProblemCode
from oms.settings import Settings

JSON = "application/json"
FORM = ("application/x-www-form-urlencoded", "multipart/form-data")
#: The CSV import's largest file (api/routers/inventory.py).
IMPORT_MAX_BYTES = 10 * 1024 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyLimit(StrEnum):
    """Which limit a route's body has (``openapi_extra`` ``x-body-limit``)."""

    DEFAULT = "default"
    WEBHOOK = "webhook"
    IMPORT = "import"


def body_limit(limit: BodyLimit, *media_types: str) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its body raw: its limit and media types
    (which the guard enforces and /openapi.json shows as the request body)."""
    extra: dict[str, Any] = {"x-body-limit": limit.value}
    if media_types:
        extra["requestBody"] = {
            "required": True,
            "content": {t: {"schema": {"type": "string"}} for t in media_types},
        }
    return extra


def route_contexts(routes: Iterable[BaseRoute]) -> Iterator[tuple[str, set[str], APIRoute]]:
    """Every API route with its full path and methods, through included routers.

    FastAPI >= 0.160 keeps an included router as one branch whose routes take its prefix
    only when resolved (``iter_route_contexts``); older versions copy them into the app."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before the included-router branches
        for route in routes:
            if isinstance(route, APIRoute):
                yield route.path_format, set(route.methods or ()), route
        return
    for context in iter_route_contexts(list(routes)):
        original = context.original_route
        if isinstance(original, APIRoute) and context.path_format is not None:
            yield context.path_format, set(context.methods or ()), original


def media_type_of(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def accepted_media_types(route: BaseRoute) -> tuple[str, ...] | None:
    """The media types a route's body may have; None when it takes no body or any."""
    if not isinstance(route, APIRoute):
        return None
    extra = route.openapi_extra or {}
    declared = extra.get("requestBody", {}).get("content")
    if declared:
        return tuple(declared)
    if route.body_field is None:
        return None
    if isinstance(route.body_field.field_info, params.Form):
        return FORM
    return (JSON,)


def _json_like(media_type: str) -> bool:
    return media_type == JSON or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def unsafe_text_in(value: Any) -> ProblemCode | None:
    """The first string (key or value, at any depth) Postgres cannot store, as a refusal."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return ProblemCode.NUL_CHARACTER
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return ProblemCode.INVALID_UNICODE
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _refuse_text(body: bytes, media_type: str) -> Problem | None:
    """A 422 for a body whose text cannot be stored, else None (parse errors are the
    route's to answer, as they always were)."""
    if _json_like(media_type) or media_type == "":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _unicode_problem("the body is not UTF-8")
        if "\\u" not in text and "\x00" not in text:
            return None  # nothing escaped: every character already decoded above
        try:
            refusal = unsafe_text_in(json.loads(text))
        except ValueError:
            return None
        if refusal is ProblemCode.NUL_CHARACTER:
            return _nul_problem("a string in the body contains NUL (\\u0000)")
        if refusal is ProblemCode.INVALID_UNICODE:
            return _unicode_problem("a string in the body has a lone UTF-16 surrogate")
        return None
    if media_type == FORM[0] and (b"\x00" in body or b"%00" in body.lower()):
        return _nul_problem("a form field contains NUL (%00)")
    if media_type.startswith("text/") and b"\x00" in body:
        return _nul_problem("the text contains a NUL byte")
    return None


def _nul_problem(detail: str) -> Problem:
    return Problem(422, detail, reason=ProblemCode.NUL_CHARACTER, title="Request validation failed")


def _unicode_problem(detail: str) -> Problem:
    return Problem(
        422, detail, reason=ProblemCode.INVALID_UNICODE, title="Request validation failed"
    )


class InputGuard:
    """ASGI middleware: 413 / 415 / 422 before a route sees the request (module doc)."""

    def __init__(self, app: ASGIApp, *, router: Router, settings: Settings) -> None:
        self.app = app
        self.router = router
        self.limits = {
            BodyLimit.DEFAULT: settings.max_body_bytes,
            BodyLimit.WEBHOOK: settings.max_webhook_body_bytes,
            BodyLimit.IMPORT: IMPORT_MAX_BYTES,
        }
        #: (path regex, methods, route), built at the first request (routes are all in).
        self._table: list[tuple[re.Pattern[str], set[str], APIRoute]] | None = None

    def _route(self, scope: Scope) -> APIRoute | None:
        if self._table is None:
            self._table = [
                (compile_path(path)[0], methods, route)
                for path, methods, route in route_contexts(self.router.routes)
            ]
        for regex, methods, route in self._table:
            if scope["method"] in methods and regex.match(scope["path"]):
                return route
        return None

    def _limit(self, route: BaseRoute | None) -> int:
        extra = (route.openapi_extra or {}) if isinstance(route, APIRoute) else {}
        return self.limits[BodyLimit(extra.get("x-body-limit", BodyLimit.DEFAULT))]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b"").lower():
            await problem_response(_nul_problem("the URL contains NUL (%00)"))(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        length_header = headers.get(b"content-length")
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        try:
            length = int(length_header) if length_header is not None else None
        except ValueError:
            length = None
        has_body = (length or 0) > 0 or chunked
        if scope["method"] not in BODY_METHODS or not has_body:
            await self.app(scope, receive, send)
            return
        route = self._route(scope)
        limit = self._limit(route)
        if length is not None and length > limit:
            await self._too_large(limit, scope, receive, send)
            return
        media_type = media_type_of(headers.get(b"content-type", b"").decode("latin-1"))
        accepted = accepted_media_types(route) if route is not None else None
        if (
            accepted is not None
            and media_type
            and not (media_type in accepted or (JSON in accepted and _json_like(media_type)))
        ):
            problem = Problem(
                415,
                f"this route takes {', '.join(accepted)}, not {media_type}",
                reason=ProblemCode.UNSUPPORTED_MEDIA_TYPE,
            )
            await problem_response(problem)(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left: nothing to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(limit, scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        refused = _refuse_text(body, media_type)
        if refused is not None:
            await problem_response(refused)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _too_large(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        problem = Problem(
            413,
            f"the body is larger than {limit} bytes",
            reason=ProblemCode.BODY_TOO_LARGE,
            extra={"limit": limit},
            headers={"Connection": "close"},
        )
        await problem_response(problem)(scope, receive, send)
