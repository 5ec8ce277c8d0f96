"""``/``: every order in one list — status tabs with live counts, saved views, filters,
free text, priority first, keyset pages — and the bulk actions and views it posts.

``?fragment=rows`` answers only the table body: the page's script fetches it when the
stream says the list changed, so rows are rendered by one template, not twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response

from api.actions import Actions
from api.auth import scope_of
from api.filters import FilterParams, Filters
from api.pages.common import PageUser, form_of, render, with_query
from api.problems import Problem
from api.routers.bulk import BulkIn, run_bulk
from api.routers.views import ViewIn, remove_view, save_view
from domain.codes import ProblemCode
from store import orders as read
from store import views as saved
from store.keys import Principal

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


async def _view_filters(request: Request, who: Principal, view_id: str) -> Filters:
    async with request.app.state.sessions() as session:
        view = await saved.get_view(session, view_id)
    if view is None or not (view.shared or view.key_id == who.key_id):
        raise Problem(404, f"no view {view_id}", reason=ProblemCode.NOT_FOUND)
    return Filters.model_validate(view.filters)


@router.get("/")
async def orders_page(
    request: Request,
    who: PageUser,
    filters: FilterParams,
    cursor: str | None = None,
    view: str | None = None,
    fragment: str | None = None,
) -> Response:
    if view:
        filters = await _view_filters(request, who, view)
    sort = filters.sort or "newest"
    async with request.app.state.sessions() as session:
        try:
            rows, next_cursor = await read.list_orders(
                session, filters.to_filter(who), limit=PAGE_SIZE, cursor=cursor, sort=sort
            )
        except read.BadCursor as exc:
            raise Problem(422, str(exc), reason=ProblemCode.BAD_CURSOR) from exc
        counts = await read.status_counts(session, scope_of(who))
        views = await saved.visible_views(session, who.key_id)
    params = filters.query_params()
    list_qs = with_query("", {**params, "view": view})
    context: dict[str, Any] = {
        "rows": rows,
        "list_qs": list_qs,
        "first_page": cursor is None,
    }
    if fragment == "rows":
        return render(request, "_order_rows.html", who, **context)
    return render(
        request,
        "orders.html",
        who,
        **context,
        filters=filters,
        params=params,
        view=view,
        views=views,
        counts=counts,
        total=sum(counts.values()),
        sort=sort,
        next_url=with_query("/", {**params, "view": view, "cursor": next_cursor})
        if next_cursor
        else None,
        tab_url=lambda status: with_query("/", {**params, "status": status, "cursor": None}),
        sort_url=lambda s: with_query("/", {**params, "sort": s}),
        csv_url=with_query("/api/v1/orders.csv", params),
        warehouse_scope=scope_of(who),
    )


@router.post("/bulk")
async def bulk_page(request: Request, who: PageUser) -> Response:
    """The list's bulk form: runs the action, then shows one line per order."""
    form = await form_of(request)
    try:
        body = BulkIn(
            action=form.get("action"),  # type: ignore[arg-type]
            order_ids=form.get("order_ids") or [],
            reason=form.get("reason") or None,
            tag=form.get("tag") or None,
        )
    except ValidationError as exc:
        raise Problem(422, exc.errors()[0]["msg"], reason=ProblemCode.VALIDATION_ERROR) from exc
    actions = Actions(request.app.state.sessions, request.app.state.temporal, who)
    results = await run_bulk(actions, who, body)
    return render(
        request,
        "bulk_result.html",
        who,
        action=body.action.value,
        results=results,
        done=sum(r.ok for r in results),
        back="/" + str(form.get("back") or ""),
    )


@router.post("/views")
async def save_view_page(request: Request, who: PageUser) -> Response:
    form = await form_of(request)
    try:
        filters = Filters.model_validate(
            {k: v for k, v in form.items() if k in Filters.model_fields and v not in ("", None)}
        )
        body = ViewIn(name=form.get("name") or "", filters=filters, shared=bool(form.get("shared")))
    except ValidationError as exc:
        raise Problem(422, exc.errors()[0]["msg"], reason=ProblemCode.VALIDATION_ERROR) from exc
    async with request.app.state.sessions() as session:
        view = await save_view(session, who, body)
    return RedirectResponse(f"/?view={view.view_id}", status_code=303)


@router.post("/views/{view_id}/delete")
async def delete_view_page(request: Request, view_id: str, who: PageUser) -> Response:
    await form_of(request)
    async with request.app.state.sessions() as session:
        await remove_view(session, who, view_id)
    return RedirectResponse("/", status_code=303)


STATIC = Path(__file__).resolve().parent / "static"
_ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}


@router.get("/static/{name}")
async def asset(name: str) -> FileResponse:
    """The dashboard's two assets, by name (nothing else under ``static/`` is served)."""
    media = _ASSETS.get(name)
    if media is None:
        raise Problem(404, f"no asset {name}", reason=ProblemCode.NOT_FOUND)
    return FileResponse(STATIC / name, media_type=media, headers={"Cache-Control": "no-cache"})
