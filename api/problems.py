"""RFC 9457 problem details for every error the API returns.

Clients (handhelds, Shopify, ops tools) branch on ``status`` and the machine ``reason``; the
human ``detail`` is for people. One exception class and three handlers keep every error in
the same shape, whatever raised it.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, WithJsonSchema
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.codes import ProblemCode, every_code

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://shipshape.example/problems/"


#: A ``reason``: one of the codes of domain/codes.py, listed as an ``enum`` in OpenAPI so
#: clients see every value they may have to match.
Reason = Annotated[str, WithJsonSchema({"type": "string", "enum": every_code()})]


class ProblemBody(BaseModel):
    """The problem+json document (for the OpenAPI schema)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    reason: Reason | None = None


class Problem(Exception):
    """Raise from a handler to answer with a problem+json document.

    Args:
        status: HTTP status code.
        detail: What happened, for a person.
        reason: Machine-readable refusal reason: a code of domain/codes.py
            (``ProblemCode.NOT_FOUND``, ``UpdateRefusal.ALREADY_SHIPPED`` ...).
        title: Short summary; defaults to the status phrase.
        extra: Additional members merged into the document (e.g. ``accepted: false``).
        headers: Response headers (e.g. ``WWW-Authenticate``).
    """

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        reason: str | None = None,
        title: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or reason or str(status))
        self.status = status
        self.detail = detail
        self.reason = reason
        self.title = title or _phrase(status)
        self.extra = extra or {}
        self.headers = headers

    def body(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": PROBLEM_BASE + self.reason if self.reason else "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.reason:
            doc["reason"] = self.reason
        doc.update(self.extra)
        return doc


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(
        jsonable_encoder(problem.body()),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


async def _problem_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc)


async def _http_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(
        Problem(exc.status_code, detail, headers=dict(exc.headers) if exc.headers else None)
    )


async def _validation_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    return problem_response(
        Problem(
            422,
            f"{where}: {first['msg']}" if where else str(first["msg"]),
            reason=ProblemCode.VALIDATION_ERROR,
            title="Request validation failed",
            extra={"errors": errors},
        )
    )


async def _data_handler(_: Request, exc: Exception) -> JSONResponse:
    """Postgres' "data exception" class (22xxx: a number out of its column's range, a text
    too long for its column): the request's values, not the server, are wrong. The models'
    bounds (api/bounds.py) should refuse them first; this is the net under them, so a
    value they miss is still a 422 naming no internals, and the transaction is gone."""
    assert isinstance(exc, DataError)
    log.warning("value refused by Postgres: %s", type(exc.orig).__name__)
    return problem_response(
        Problem(
            422, "a value is out of range for what it is stored in", reason=ProblemCode.OUT_OF_RANGE
        )
    )


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""
    app.add_exception_handler(Problem, _problem_handler)
    app.add_exception_handler(DataError, _data_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)


#: ``responses=`` entry for routes, so the problem shape shows in /openapi.json.
def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {
            "model": ProblemBody,
            "content": {PROBLEM_MEDIA_TYPE: {}},
            "description": _phrase(code),
        }
        for code in codes
    }
