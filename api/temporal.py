"""Translating Temporal client errors into HTTP answers.

Validators refuse Updates by raising ``ApplicationError(type=<reason>)``; the client sees a
``WorkflowUpdateFailedError`` whose cause carries that type. A workflow that does not exist
or has closed answers ``NOT_FOUND``; anything else from the RPC layer means Temporal is not
reachable right now, which the caller should retry (503).
"""

from __future__ import annotations

from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.metrics import TEMPORAL_UNAVAILABLE
from api.problems import Problem
from domain.codes import ProblemCode


def refusal(exc: BaseException) -> tuple[str, str] | None:
    """``(reason, message)`` of an Update refused or failed with an ``ApplicationError``."""
    if isinstance(exc, WorkflowUpdateFailedError):
        cause: BaseException | None = exc.cause
        while cause is not None and not isinstance(cause, ApplicationError):
            cause = cause.__cause__
        if isinstance(cause, ApplicationError):
            return cause.type or ProblemCode.REFUSED, cause.message
    return None


def is_not_found(exc: BaseException) -> bool:
    """The workflow does not exist or has already closed."""
    return isinstance(exc, RPCError) and exc.status == RPCStatusCode.NOT_FOUND


def unavailable(exc: BaseException | None = None) -> Problem:
    TEMPORAL_UNAVAILABLE.inc()
    detail = "the workflow service is unreachable; retry shortly"
    if exc is not None:
        detail += f" ({type(exc).__name__}: {exc})"
    return Problem(
        503, detail, reason=ProblemCode.TEMPORAL_UNAVAILABLE, headers={"Retry-After": "2"}
    )


TRANSIENT = (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError, RuntimeError)
#: What an ``execute_update`` may raise that a handler turns into an answer.
UPDATE_ERRORS = (WorkflowUpdateFailedError, *TRANSIENT)
