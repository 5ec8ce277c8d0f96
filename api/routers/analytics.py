"""``/api/v1/analytics/*``: accuracy, error patterns, time in step and throughput (ops,
admin), each over ``[since, until)`` (default: the last 7 days) and each also as CSV
(``format=csv``). The SQL is in ``store/analytics.py``."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from api.auth import Ops
from api.deps import Session
from api.problems import Problem, problem_responses
from api.schemas.ops import (
    AccuracyRow,
    DelayRow,
    DelaysOut,
    ErrorsOut,
    ThroughputOut,
    ThroughputRow,
    Window,
)
from domain.codes import ProblemCode
from store import analytics as store
from store.analytics import AccuracyGroup, Bucket, DelayGroup, DelayStep, ErrorKey

router = APIRouter(tags=["analytics"])

#: The window when ``since`` is not given.
DEFAULT_WINDOW = timedelta(days=7)
#: At most this many buckets in a throughput answer (a year of hours).
MAX_BUCKETS = 24 * 366

Format = Literal["json", "csv"]
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "the rows (JSON, or CSV with format=csv)"}
}


def window_of(since: datetime | None, until: datetime | None) -> Window:
    """``[since, until)`` in UTC; naive times are UTC. ``since`` must be before ``until``."""
    end = _utc(until) if until else datetime.now(UTC)
    start = _utc(since) if since else end - DEFAULT_WINDOW
    if start >= end:
        raise Problem(422, "since must be before until", reason=ProblemCode.INVALID_WINDOW)
    return Window(since=start, until=end)


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def as_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str], name: str) -> Response:
    """The rows as a CSV file: a header row, then one line per row (empty: the header)."""
    buf = io.StringIO()
    out = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore")
    out.writeheader()
    for row in rows:
        out.writerow({k: _cell(v) for k, v in row.items()})
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _cell(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


@router.get(
    "/api/v1/analytics/accuracy",
    response_model=list[AccuracyRow],
    responses={**problem_responses(401, 403, 422), **CSV_RESPONSES},
)
async def accuracy(
    session: Session,
    _: Ops,
    group_by: AccuracyGroup = AccuracyGroup.WAREHOUSE,
    since: datetime | None = None,
    until: datetime | None = None,
    warehouse: Annotated[str | None, Query(max_length=32)] = None,
    format: Format = "json",
) -> list[AccuracyRow] | Response:
    """Scan accuracy (accepted ÷ scans) and fulfillment accuracy (shipments shipped with
    no refused scan and no weight mismatch ÷ shipments shipped) per group; most refused
    scans first. Fulfillment fields are null per ``station`` (a station ships no
    shipment as a whole). ``warehouse``: only that warehouse's scans and shipments."""
    w = window_of(since, until)
    rows = [
        AccuracyRow(
            group=c.group,
            scans=c.scans,
            rejected=c.rejected,
            accuracy=round((c.scans - c.rejected) / c.scans, 4) if c.scans else 1.0,
            shipped=c.shipped,
            shipped_clean=c.shipped_clean,
            fulfillment_accuracy=(
                round(c.shipped_clean / c.shipped, 4)
                if c.shipped and c.shipped_clean is not None
                else None
            ),
        )
        for c in await store.accuracy(session, group_by, w.since, w.until, warehouse)
    ]
    if format == "csv":
        return as_csv([r.model_dump() for r in rows], list(AccuracyRow.model_fields), "accuracy")
    return rows


def error_keys(group_by: str) -> list[ErrorKey]:
    """``reason,warehouse`` → the keys; unknown or repeated keys are a 422."""
    names = [n.strip() for n in group_by.split(",") if n.strip()]
    allowed = {k.value for k in ErrorKey}
    bad = [n for n in names if n not in allowed]
    if not names or bad or len(set(names)) != len(names):
        raise Problem(
            422,
            f"group_by takes a subset of {', '.join(allowed)} (got {group_by!r})",
            reason=ProblemCode.INVALID_GROUP_BY,
        )
    return [ErrorKey(n) for n in names]


@router.get(
    "/api/v1/analytics/errors",
    response_model=ErrorsOut,
    responses={**problem_responses(401, 403, 422), **CSV_RESPONSES},
)
async def errors(
    session: Session,
    _: Ops,
    group_by: str = "reason",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    format: Format = "json",
) -> ErrorsOut | Response:
    """Refused scans and refused packs per ``group_by`` keys (any subset of reason,
    warehouse, sku, station, day; rows keep that order), largest first: the first rows are
    the top offenders. ``share`` is of all refusals in the window."""
    keys = error_keys(group_by)
    w = window_of(since, until)
    rows = await store.errors(session, keys, w.since, w.until, limit)
    if format == "csv":
        columns = [k.value for k in ErrorKey if k in keys] + ["refused", "share"]
        return as_csv(rows, columns, "errors")
    return ErrorsOut(rows=rows, since=w.since, until=w.until)


@router.get(
    "/api/v1/analytics/delays",
    response_model=DelaysOut,
    responses={**problem_responses(401, 403, 422), **CSV_RESPONSES},
)
async def delays(
    session: Session,
    _: Ops,
    step: DelayStep | None = None,
    group_by: DelayGroup = DelayGroup.WAREHOUSE,
    since: datetime | None = None,
    until: datetime | None = None,
    format: Format = "json",
) -> DelaysOut | Response:
    """Time in each template step (completed in the window), per group: p50/p90/p99 in
    seconds and SLA breaches; ``deliver`` is shipped → delivered (no SLA). ``group_by=all``:
    one row per step over every order (``group`` is ``all``)."""
    w = window_of(since, until)
    rows = await store.delays(session, group_by, step, w.since, w.until)
    if format == "csv":
        return as_csv(rows, list(DelayRow.model_fields), "delays")
    return DelaysOut(rows=[DelayRow(**r) for r in rows], since=w.since, until=w.until)


@router.get(
    "/api/v1/analytics/throughput",
    response_model=ThroughputOut,
    responses={**problem_responses(401, 403, 422), **CSV_RESPONSES},
)
async def throughput(
    session: Session,
    _: Ops,
    bucket: Bucket = Bucket.HOUR,
    since: datetime | None = None,
    until: datetime | None = None,
    format: Format = "json",
) -> ThroughputOut | Response:
    """Orders received, shipments shipped and delivered, orders cancelled per UTC hour or
    day; every bucket of the window is listed."""
    w = window_of(since, until)
    size = timedelta(hours=1) if bucket is Bucket.HOUR else timedelta(days=1)
    if (w.until - w.since) / size > MAX_BUCKETS:
        raise Problem(
            422,
            f"at most {MAX_BUCKETS} buckets; use bucket=day or a shorter window",
            reason=ProblemCode.WINDOW_TOO_LARGE,
        )
    rows = await store.throughput(session, bucket, w.since, w.until)
    if format == "csv":
        return as_csv(rows, list(ThroughputRow.model_fields), "throughput")
    return ThroughputOut(rows=[ThroughputRow(**r) for r in rows], since=w.since, until=w.until)
