"""Calling a workflow Update from the API: one way, three outcomes.

An Update either answers, is refused by the workflow (its validator or handler raised
``ApplicationError(type=<code>)``: :class:`Refused`), finds its workflow finished (``None``:
the caller answers from the read model), or cannot reach Temporal (503, retry). Routes,
the dashboard's actions and the scan station differ only in what they make of a refusal,
so :func:`run_update` classifies and :func:`answer_update` is the routes' usual answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from api.problems import Problem
from api.temporal import UPDATE_ERRORS, is_not_found, refusal, unavailable

T = TypeVar("T")


class Refused(Exception):
    """A refusal with its code (domain/codes.py) and a sentence for people."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail

    def problem(self, status: int, title: str | None = None) -> Problem:
        return Problem(status, self.detail, reason=self.reason, title=title)


async def run_update(
    call: Awaitable[T],
    *,
    unreachable: Callable[[BaseException], Exception] = unavailable,
) -> T | None:
    """The Update's result; None when its workflow does not exist or has finished.

    Raises:
        Refused: the workflow refused it.
        Problem: 503 when Temporal cannot be reached (or what ``unreachable`` makes of it).
    """
    try:
        return await call
    except UPDATE_ERRORS as exc:
        refused = refusal(exc)
        if refused is not None:
            raise Refused(*refused) from exc
        if is_not_found(exc):
            return None
        raise unreachable(exc) from exc


async def answer_update(
    call: Awaitable[T],
    *,
    status: int = 409,
    status_of: Mapping[str, int] | None = None,
    title: str | None = None,
) -> T | None:
    """:func:`run_update`, a refusal answered as problem+json: ``status`` (409, the state
    does not allow it), or its code's entry in ``status_of``."""
    try:
        return await run_update(call)
    except Refused as exc:
        raise exc.problem((status_of or {}).get(exc.reason, status), title) from exc
