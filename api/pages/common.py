"""What every dashboard page shares: templates, the signed-in key, CSRF on forms.

Pages are rendered on the server (Jinja2, autoescaped) and read the read model directly;
their forms post back to page routes that run :mod:`api.actions` and redirect (303), so
they work without scripts. A page without a session redirects to ``/login``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from api.auth import session_principal
from api.problems import Problem, problem_response
from api.session import CSRF_FIELD, csrf_ok
from domain.codes import ProblemCode
from domain.status import OrderStatus
from store.keys import Principal

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
PAGE_ROLES = frozenset({"admin", "ops", "staff"})
OPS_ROLES = frozenset({"admin", "ops"})
NO_STORE = {"Cache-Control": "no-store"}


def _ago(value: datetime | str | None) -> str:
    """'3 min ago' for a timestamp (pages show ages; the title attribute has the time)."""
    if value is None:
        return ""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    seconds = int((datetime.now(UTC) - at).total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def _when(value: datetime | str | None) -> str:
    if value is None:
        return ""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


templates.env.filters["ago"] = _ago
templates.env.filters["when"] = _when
templates.env.filters["label"] = lambda s: str(s or "").replace("_", " ")
templates.env.globals["STATUSES"] = [s.value for s in OrderStatus]


def login_redirect(request: Request) -> Problem:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Problem(
        303,
        "sign in first",
        reason=ProblemCode.LOGIN,
        headers={"Location": f"/login?next={quote(target)}"},
    )


async def page_user(request: Request) -> Principal:
    """The signed-in key (admin, ops or staff); otherwise 303 to ``/login``."""
    who = await session_principal(request, request.app.state.autocommit)
    if who is None:
        raise login_redirect(request)
    if who.role not in PAGE_ROLES:
        raise Problem(403, f"role {who.role} has no dashboard", reason=ProblemCode.FORBIDDEN)
    return who


PageUser = Annotated[Principal, Depends(page_user)]


async def ops_user(who: PageUser) -> Principal:
    if who.role not in OPS_ROLES:
        raise Problem(403, "this page is for ops", reason=ProblemCode.FORBIDDEN)
    return who


OpsUser = Annotated[Principal, Depends(ops_user)]


async def form_of(request: Request) -> dict[str, Any]:
    """The posted form, after its CSRF token is checked (403 ``csrf`` when wrong/missing).

    Multi-valued fields (bulk ``order_ids``) come back as lists."""
    form = await request.form()
    if not csrf_ok(getattr(request.state, "csrf_token", ""), str(form.get(CSRF_FIELD) or "")):
        raise Problem(403, "missing or wrong CSRF token", reason=ProblemCode.CSRF)
    out: dict[str, Any] = {}
    for key in form:
        values = [str(v) for v in form.getlist(key)]
        out[key] = values if len(values) > 1 or key == "order_ids" else values[0]
    return out


def render(
    request: Request,
    name: str,
    who: Principal | None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    return templates.TemplateResponse(
        request,
        name,
        {
            "who": who,
            "is_ops": who is not None and who.role in OPS_ROLES,
            "csrf": getattr(request.state, "csrf_token", ""),
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
        headers={**NO_STORE, **(headers or {})},
    )


def with_query(path: str, params: dict[str, Any]) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(clean)}" if clean else path


_API_PREFIXES = ("/api/", "/webhooks/", "/sandbox/", "/track/", "/dev/")


async def problem_page(request: Request, exc: Exception) -> Response:
    """Problems on pages as a page (a person reads it), elsewhere as problem+json."""
    assert isinstance(exc, Problem)
    wants_html = "text/html" in request.headers.get("accept", "")
    if (
        exc.status < 400
        or not wants_html
        or request.url.path.startswith(_API_PREFIXES)
        or request.query_params.get("fragment")
    ):
        return problem_response(exc)
    who = getattr(request.state, "principal", None)
    return render(
        request, "error.html", who, status_code=exc.status, problem=exc, headers=exc.headers
    )
