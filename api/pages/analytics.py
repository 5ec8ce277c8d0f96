"""``/analytics``: charts over the analytics API — orders per hour by status, fulfillment
accuracy per warehouse over time, refused scans by reason × warehouse, time in step
(p50/p90/p99) and SLA breaches by step — each with its table and CSV link, over a date
range. The page's script (``static/analytics.js``) reads the same JSON endpoints with the
session cookie and draws with uPlot (vendored with its licence under
``static/vendor/uplot``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from starlette.responses import Response

from api.pages.common import OpsUser, render
from api.problems import Problem
from domain.codes import ProblemCode

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).resolve().parent / "static"
#: name → (file, media type); nothing else is served.
ASSETS = {
    "analytics.js": (STATIC / "analytics.js", "text/javascript"),
    "uPlot.iife.min.js": (STATIC / "vendor" / "uplot" / "uPlot.iife.min.js", "text/javascript"),
    "uPlot.min.css": (STATIC / "vendor" / "uplot" / "uPlot.min.css", "text/css"),
    "uPlot.LICENSE": (STATIC / "vendor" / "uplot" / "LICENSE", "text/plain"),
}


@router.get("/static/analytics/{name}")
async def asset(name: str) -> FileResponse:
    found = ASSETS.get(name)
    if found is None:
        raise Problem(404, f"no asset {name}", reason=ProblemCode.NOT_FOUND)
    path, media = found
    return FileResponse(path, media_type=media, headers={"Cache-Control": "no-cache"})


@router.get("/analytics")
async def analytics_page(
    request: Request, who: OpsUser, since: str | None = None, until: str | None = None
) -> Response:
    """The date range comes as ``YYYY-MM-DD`` (the form's date inputs); default: the last
    7 days, today included."""
    today = datetime.now(UTC).date()
    return render(
        request,
        "analytics.html",
        who,
        since=since or (today - timedelta(days=6)).isoformat(),
        until=until or today.isoformat(),
    )
