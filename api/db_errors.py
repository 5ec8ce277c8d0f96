"""Postgres unreachable mid-request: 503 problem+json with Retry-After, never a 500.

A restart, a failover or a dropped connection surfaces as a driver ``OperationalError`` or
``InterfaceError`` from wherever the request touched the database (a key check, a read, the
pack's wait for its label). The request changed nothing it did not commit, and every write
path is idempotent by key, so the honest answer is "retry shortly" — what the fault suite
saw as 500s during a Postgres restart (docs/decisions/0012).
"""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from api.problems import Problem, problem_response
from domain.codes import ProblemCode

log = logging.getLogger(__name__)

#: How long clients are asked to wait before retrying.
RETRY_AFTER_SECONDS = 2

UNAVAILABLE = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable during %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        Problem(
            503,
            "the database is unreachable; retry shortly",
            reason=ProblemCode.DATABASE_UNAVAILABLE,
            title="Service Unavailable",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    )


def install(app: FastAPI) -> None:
    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, _database_unavailable)
