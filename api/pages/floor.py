"""``/floor`` (per warehouse: the work list by priority with pick progress, and what has
waited longest) and ``/ops`` (stuck orders, oldest first, with what unsticks them).

A staff key sees only its own warehouse on the floor and has no ``/ops``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.pages.common import OpsUser, PageUser, render
from domain.summary import OrderSummary
from store import catalog, watchdog
from store import orders as read
from store.orders import OrderFilter
from store.tables import OrderRow, ShipmentRow

router = APIRouter(include_in_schema=False)


def progress(shipment: ShipmentRow) -> dict[str, int]:
    quantity = sum(int(ln.get("quantity", 0)) for ln in shipment.lines)
    picked = sum(int(ln.get("picked", 0)) for ln in shipment.lines)
    return {
        "picked": picked,
        "quantity": quantity,
        "percent": round(100 * picked / quantity) if quantity else 0,
    }


@router.get("/floor")
async def floor_page(
    request: Request, who: PageUser, warehouse: str | None = None, fragment: str | None = None
) -> Response:
    async with request.app.state.sessions() as session:
        if who.role == "staff":
            codes = [who.warehouse or ""]
        else:
            known = [w.code for w in await catalog.list_warehouses(session) if w.active]
            codes = [warehouse] if warehouse in known else known
        sites: list[dict[str, Any]] = []
        for code in codes:
            work = await read.work_list(session, warehouse=code, status=None, limit=100)
            waiting = await read.waiting_longest(session, warehouse=code, limit=5)
            sites.append(
                {
                    "code": code,
                    "work": [(s, progress(s)) for s in work],
                    "waiting": [(s, progress(s)) for s in waiting],
                }
            )
        all_codes = (
            codes
            if who.role == "staff"
            else [w.code for w in await catalog.list_warehouses(session) if w.active]
        )
    template = "_floor_main.html" if fragment == "main" else "floor.html"
    return render(request, template, who, sites=sites, selected=warehouse, all_codes=all_codes)


def _since(row: OrderRow) -> datetime:
    return OrderSummary.read(row.summary).stuck_since or row.updated_at.astimezone(UTC)


@router.get("/ops")
async def ops_page(request: Request, who: OpsUser, fragment: str | None = None) -> Response:
    async with request.app.state.sessions() as session:
        stuck = sorted(await read.stuck_orders(session), key=_since)
        held, _ = await read.list_orders(session, OrderFilter(status="on_hold"), limit=100)
        watched = await watchdog.marks(session)
    rows = []
    for r in stuck:
        summary = OrderSummary.read(r.summary)
        rows.append(
            {
                "order": r,
                "since": _since(r),
                "step": summary.stuck_step(),
                "reason": summary.stuck_reason,
                "holds": summary.holds,
            }
        )
    holds_of = {o.order_id: OrderSummary.read(o.summary).holds for o in held}
    template = "_ops_main.html" if fragment == "main" else "ops.html"
    return render(request, template, who, stuck=rows, held=held, holds_of=holds_of, watched=watched)
