"""``/orders/{order_id}``: one order — lines, shipments with pick progress and tracking,
holds, tags, routing, template steps with SLAs, the event timeline (who did what), the
workflow histories, next/previous within the list it was opened from — and its actions.

The live state comes from the workflow (a Query) when it answers, else from the read
model. ``?fragment=main`` answers the live part only, for the page's script to swap in
when the stream reports a change of this order or its shipments.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response
from temporalio.client import Client

from api.actions import ActionResult, Actions, live_state
from api.filters import Filters
from api.history import timeline
from api.order_views import order_in_scope
from api.pages.common import OpsUser, PageUser, form_of, render, with_query
from api.problems import Problem
from api.schemas.orders import HistoryEntry
from api.temporal import TRANSIENT
from domain import names
from domain.codes import ProblemCode
from domain.summary import OrderSummary
from store import catalog
from store import orders as read
from store import views as saved
from store.keys import Principal

router = APIRouter(include_in_schema=False)


async def _history(client: Client, workflow_id: str) -> list[HistoryEntry] | None:
    try:
        hist = await client.get_workflow_handle(workflow_id).fetch_history()
    except TRANSIENT:
        return None
    return timeline(list(hist.events))


async def _list_filters(request: Request, who: Principal, qs: str) -> Filters:
    """The filters of the list the order was opened from (its query string, or its view)."""
    params = dict(parse_qsl(qs.lstrip("?")))
    view_id = params.get("view")
    if view_id:
        async with request.app.state.sessions() as session:
            view = await saved.get_view(session, view_id)
        if view is not None and (view.shared or view.key_id == who.key_id):
            return Filters.model_validate(view.filters)
    try:
        return Filters.model_validate(
            {k: v for k, v in params.items() if k in Filters.model_fields and v}
        )
    except ValidationError:
        return Filters()


async def _context(request: Request, who: Principal, order_id: str, qs: str) -> dict[str, Any]:
    sessions = request.app.state.sessions
    client: Client = request.app.state.temporal
    async with sessions() as session:
        row = await order_in_scope(session, who, order_id)
        shipments = await read.shipments_of(session, order_id)
        events = await read.events_of(session, order_id)
        warehouses = [w.code for w in await catalog.list_warehouses(session) if w.active]
    state = await live_state(client, order_id)
    summary = OrderSummary.read(row.summary)
    if state is not None:
        holds, lines, steps = state.holds, state.lines, state.steps
        routing, status, tags = state.routing, state.status.value, state.tags
    else:
        holds, lines, steps = summary.holds, summary.lines, summary.steps
        routing, status, tags = summary.routing, row.status, list(row.tags)
    filters = await _list_filters(request, who, qs)
    async with sessions() as session:
        prev_id, next_id = await read.neighbours(
            session, filters.to_filter(who), row, filters.sort or "newest"
        )
    return {
        "order": row,
        "status": status,
        "tags": tags,
        "holds": holds,
        "lines": lines,
        "steps": steps,
        "routing": routing,
        "live": state is not None,
        "cancel_reason": summary.cancel_reason,
        "stuck_reason": summary.stuck_reason,
        "stuck_since": summary.stuck_since,
        "shipments": shipments,
        "events": list(reversed(events)),
        "warehouses": warehouses,
        "qs": qs,
        "prev_url": f"/orders/{prev_id}{qs}" if prev_id else None,
        "next_url": f"/orders/{next_id}{qs}" if next_id else None,
        "back_url": "/" + qs,
    }


@router.get("/orders/{order_id}")
async def order_page(
    request: Request, order_id: str, who: PageUser, fragment: str | None = None
) -> Response:
    qs = _list_qs(request)
    context = await _context(request, who, order_id, qs)
    if fragment == "main":
        return render(request, "_order_main.html", who, **context)
    client: Client = request.app.state.temporal
    settings = request.app.state.settings
    workflow_id = names.order_workflow_id(order_id)
    ship_ids = [s.shipment_id for s in context["shipments"]]
    histories = await asyncio.gather(
        _history(client, workflow_id),
        *(_history(client, names.fulfillment_workflow_id(s)) for s in ship_ids),
    )
    return render(
        request,
        "order.html",
        who,
        **context,
        msg=request.query_params.get("msg"),
        history=histories[0],
        shipment_histories=list(zip(ship_ids, histories[1:], strict=True)),
        workflow_id=workflow_id,
        temporal_url=f"{settings.temporal_ui_base}/workflows/{workflow_id}",
        temporal_base=settings.temporal_ui_base,
    )


def _list_qs(request: Request) -> str:
    """The query string of the list (all but the page's own ``msg``/``fragment``)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("msg", "fragment")]
    return f"?{urlencode(kept)}" if kept else ""


def _back(order_id: str, qs: str, result: ActionResult, what: str) -> Response:
    msg = f"{what}: done" if result.ok else f"{what} refused: {result.detail or result.reason}"
    params = dict(parse_qsl(qs.lstrip("?")))
    return RedirectResponse(with_query(f"/orders/{order_id}", {**params, "msg": msg}), 303)


@router.post("/orders/{order_id}/release")
async def release_page(request: Request, order_id: str, who: OpsUser) -> Response:
    form = await form_of(request)
    actions = Actions(request.app.state.sessions, request.app.state.temporal, who)
    result = await actions.release_holds(order_id, form.get("hold_id") or None)
    return _back(order_id, form.get("qs", ""), result, "Release hold")


@router.post("/orders/{order_id}/cancel")
async def cancel_page(request: Request, order_id: str, who: OpsUser) -> Response:
    form = await form_of(request)
    reason = str(form.get("reason") or "").strip()[:500] or "cancelled by ops"
    actions = Actions(request.app.state.sessions, request.app.state.temporal, who)
    result = await actions.cancel(order_id, reason)
    return _back(order_id, form.get("qs", ""), result, "Cancel")


@router.post("/orders/{order_id}/tags")
async def tags_page(request: Request, order_id: str, who: PageUser) -> Response:
    form = await form_of(request)
    tag = str(form.get("tag") or "").strip()
    if not tag or len(tag) > 100:
        raise Problem(422, "a tag of 1 to 100 characters", reason=ProblemCode.VALIDATION_ERROR)
    add = form.get("op", "add") != "remove"
    actions = Actions(request.app.state.sessions, request.app.state.temporal, who)
    result = await actions.change_tag(order_id, tag, add=add)
    return _back(order_id, form.get("qs", ""), result, f"{'Add' if add else 'Remove'} tag {tag}")


@router.post("/orders/{order_id}/shipments/{shipment_id}/move")
async def move_page(request: Request, order_id: str, shipment_id: str, who: OpsUser) -> Response:
    form = await form_of(request)
    warehouse = str(form.get("warehouse") or "").strip()
    reason = str(form.get("reason") or "").strip()[:500] or "moved by ops"
    actions = Actions(request.app.state.sessions, request.app.state.temporal, who)
    result = await actions.move_shipment(order_id, shipment_id, warehouse, reason)
    return _back(order_id, form.get("qs", ""), result, f"Move to {warehouse}")
