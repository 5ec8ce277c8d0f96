"""The order list's filters as one dependency: the JSON list, the CSV export and the
orders page read the same query parameters, and a saved view stores the same set.

The caller's warehouse scope is applied here, from the key, never from the request: a
staff key lists only orders that ship from its warehouse, whatever it asks for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.auth import scope_of
from domain.status import OrderStatus
from store.keys import Principal
from store.orders import OrderFilter

Sort = Literal["newest", "priority"]


class Filters(BaseModel):
    """A saved view's filters (all optional; empty means every order)."""

    model_config = ConfigDict(extra="forbid")

    status: OrderStatus | None = None
    tag: str | None = Field(default=None, max_length=100)
    warehouse: str | None = Field(default=None, max_length=32)
    priority: int | None = Field(default=None, ge=-1000, le=1000)
    stuck: bool | None = None
    channel: str | None = Field(default=None, max_length=64)
    payment: str | None = Field(default=None, max_length=16)
    q: str | None = Field(default=None, max_length=100)
    since: datetime | None = None
    until: datetime | None = None
    sort: Sort | None = None

    def to_filter(self, principal: Principal | None = None) -> OrderFilter:
        return OrderFilter(
            status=self.status.value if self.status else None,
            tag=self.tag or None,
            warehouse=self.warehouse or None,
            priority=self.priority,
            stuck=self.stuck,
            channel=self.channel or None,
            payment=self.payment or None,
            q=(self.q or "").strip() or None,
            since=self.since,
            until=self.until,
            scope_warehouse=scope_of(principal) if principal else None,
        )

    def query_params(self) -> dict[str, Any]:
        """The filters as query parameters (for links that keep the list's filters)."""
        out: dict[str, Any] = {}
        for name, value in self.model_dump(mode="json", exclude_none=True).items():
            if value == "" or (name == "sort" and value == "newest"):
                continue
            out[name] = str(value).lower() if isinstance(value, bool) else value
        return out


def filter_params(
    status: Annotated[str | None, Query(description="an order status", max_length=32)] = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    warehouse: Annotated[str | None, Query(max_length=32)] = None,
    priority: Annotated[str | None, Query(description="minimum priority", max_length=6)] = None,
    stuck: Annotated[str | None, Query(description="true or false", max_length=5)] = None,
    channel: Annotated[str | None, Query(max_length=64)] = None,
    payment: Annotated[
        str | None,
        Query(max_length=16, description="pending, paid, captured, refunded, voided"),
    ] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    since: Annotated[str | None, Query(description="created at or after", max_length=40)] = None,
    until: Annotated[str | None, Query(description="created before", max_length=40)] = None,
    sort: Annotated[str | None, Query(description="newest or priority", max_length=10)] = None,
) -> Filters:
    """The filters from the query string. Empty values mean "not filtered" (a page's filter
    form sends every field); a bad value is a 422 like any other."""
    given = {
        "status": status,
        "tag": tag,
        "warehouse": warehouse,
        "priority": priority,
        "stuck": stuck,
        "channel": channel,
        "payment": payment,
        "q": q,
        "since": since,
        "until": until,
        "sort": sort,
    }
    try:
        return Filters.model_validate({k: v for k, v in given.items() if v not in (None, "")})
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]
        ) from exc


FilterParams = Annotated[Filters, Depends(filter_params)]
