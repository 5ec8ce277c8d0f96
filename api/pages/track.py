"""``GET /track/{token}``: the customer's tracking page, no sign-in.

The token (``secrets.token_urlsafe(24)``, made when the order's first email is rendered)
is the only key: the page reads nothing but that token's order — its name and status,
its parcels with carrier links, and a timeline of customer-safe order events and carrier
events. An unknown or malformed token is a 404 page that says no more than that.

The token is a bearer secret in a URL, so it must not spread: no caching, no Referer to
the carrier's site, no indexing, and the access log shows ``/track/…`` instead of it.
"""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from api.bounds import PathText
from api.pages.common import templates
from store.tracking import order_for_token, tracking_view

router = APIRouter(tags=["tracking"])

#: What keeps the token where it is (see the module docstring).
PRIVATE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}

#: The order's status in a customer's words (holds, risk and stock are not their news).
ORDER_WORDS = {
    "shipped": "Shipped",
    "partially_shipped": "Partly shipped",
    "delivered": "Delivered",
    "cancelled": "Cancelled",
    "failed": "We could not complete this order",
}
SHIPMENT_WORDS = {
    "open": "Being prepared",
    "picking": "Being prepared",
    "packed": "Packed",
    "shipped": "Shipped",
    "in_transit": "In transit",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered",
    "exception": "Delivery problem",
    "cancelled": "Cancelled",
}

_TOKEN_IN_PATH = re.compile(r"/track/[^/?\s\"]+")


class HideTrackingTokens(logging.Filter):
    """Rewrites ``/track/<token>`` to ``/track/…`` in log records (uvicorn's access log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_PATH.sub("/track/…", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str) and "/track/" in record.msg:
            record.msg = _TOKEN_IN_PATH.sub("/track/…", record.msg)
        return True


TOKEN_FILTER = HideTrackingTokens()
logging.getLogger("uvicorn.access").addFilter(TOKEN_FILTER)


def _missing(request: Request) -> Response:
    return templates.TemplateResponse(
        request, "track_missing.html", {}, status_code=404, headers=PRIVATE
    )


@router.get(
    "/track/{token}",
    response_class=HTMLResponse,
    responses={
        404: {
            "description": "unknown or malformed token (an HTML page)",
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    },
)
async def tracking_page(request: Request, token: PathText) -> Response:
    """The customer's tracking page for the order behind ``token`` (HTML)."""
    async with request.app.state.sessions() as session:
        order_id = await order_for_token(session, token)
        view = await tracking_view(session, order_id) if order_id else None
    if view is None:
        return _missing(request)
    return templates.TemplateResponse(
        request,
        "track.html",
        {
            "view": view,
            "order_words": ORDER_WORDS.get(view.status, "Being prepared"),
            "shipment_words": SHIPMENT_WORDS,
        },
        headers=PRIVATE,
    )
