"""``GET /api/v1/orders.csv``: the list's filters as a CSV file, streamed.

Rows are read in keyset pages (the list's own query) and go out as each page is written,
so a million-row export holds one page in memory, not the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth import Reader
from api.filters import FilterParams
from api.problems import problem_responses
from store import orders as read
from store.orders import OrderFilter

router = APIRouter(tags=["orders"], responses=problem_responses(401, 403, 422))

COLUMNS = (
    "order_id",
    "name",
    "status",
    "priority",
    "stuck",
    "tags",
    "warehouses",
    "channel",
    "email",
    "total",
    "currency",
    "created_at",
    "updated_at",
)
BATCH = 1000


async def csv_rows(
    sessions: async_sessionmaker[AsyncSession], f: OrderFilter, sort: str
) -> AsyncIterator[str]:
    """Keyset pages of ``BATCH`` rows, each read in its own short transaction: the first
    rows go out after one index range scan whatever the table's size, and no transaction
    stays open while a slow client downloads."""
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(COLUMNS)
    cursor: str | None = None
    while True:
        async with sessions() as session:
            rows, cursor = await read.list_orders(session, f, limit=BATCH, cursor=cursor, sort=sort)
        for r in rows:
            out.writerow(
                (
                    r.order_id,
                    r.name,
                    r.status,
                    r.priority,
                    "yes" if r.stuck else "no",
                    " ".join(r.tags),
                    " ".join(r.warehouses),
                    r.channel,
                    r.email,
                    r.total,
                    r.currency,
                    r.created_at.isoformat(),
                    r.updated_at.isoformat(),
                )
            )
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
        if cursor is None:
            return


@router.get(
    "/api/v1/orders.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "one row per order"}},
)
async def export_csv(request: Request, who: Reader, filters: FilterParams) -> StreamingResponse:
    """Every order under the filters (as the list orders them), a header row first."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        csv_rows(request.app.state.sessions, filters.to_filter(who), filters.sort or "newest"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="orders-{stamp}.csv"'},
    )
