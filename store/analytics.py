"""The analytics reads: scan and fulfillment accuracy, error patterns, time in step and
throughput, each over a time window ``[since, until)``.

They read what the writes keep ready (migration 0012,
docs/decisions/0010-analytics-reads-and-the-stuck-watchdog.md): ``scan_events`` through
its covering ``(created_at)`` index, ``pack_refusals``, ``shipment_outcomes`` (one row per
shipped shipment, with its refusals counted when it shipped), ``order_step_times`` (one row
per completed template step) and ``order_events`` through a partial index on the four
throughput event types. Accuracy by template reads the order's template kept on each scan
row (migration 0014); delays read each step's stored ``seconds`` and ``over_sla``, so both
are index-only scans of their window. Every group column comes from a fixed map below,
never from input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, LiteralString

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import PackRefusalRow


class AccuracyGroup(StrEnum):
    WAREHOUSE = "warehouse"
    SKU = "sku"
    STATION = "station"
    DAY = "day"
    TEMPLATE = "template"


class ErrorKey(StrEnum):
    """The keys errors can be grouped by, in the order they appear in a row."""

    REASON = "reason"
    WAREHOUSE = "warehouse"
    SKU = "sku"
    STATION = "station"
    DAY = "day"


class DelayGroup(StrEnum):
    #: One row per step over every order (the dashboard's distributions).
    ALL = "all"
    WAREHOUSE = "warehouse"
    SKU = "sku"
    TEMPLATE = "template"
    CARRIER = "carrier"


class DelayStep(StrEnum):
    """Template steps (domain.templates.Step) plus ``deliver``: shipped → delivered."""

    VERIFY = "verify"
    PAY = "pay"
    ALLOCATE = "allocate"
    PICK = "pick"
    PACKAGING_CHECK = "packaging_check"
    PACK_VERIFICATION = "pack_verification"
    PACK = "pack"
    SHIP = "ship"
    DELIVER = "deliver"


class Bucket(StrEnum):
    HOUR = "hour"
    DAY = "day"


def _day(col: str) -> str:
    return f"to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


_SCAN_GROUP: dict[AccuracyGroup, str] = {
    AccuracyGroup.WAREHOUSE: "s.warehouse",
    AccuracyGroup.SKU: "s.sku",
    AccuracyGroup.STATION: "s.station",
    AccuracyGroup.DAY: _day("s.created_at"),
    #: The order's template, kept on the scan row by migration 0014's triggers.
    AccuracyGroup.TEMPLATE: "s.template",
}
#: Fulfillment accuracy's group over ``shipment_outcomes`` (a station packs no shipment as
#: a whole, so it has none).
_OUTCOME_GROUP: dict[AccuracyGroup, str] = {
    AccuracyGroup.WAREHOUSE: "f.warehouse",
    AccuracyGroup.SKU: "sku",
    AccuracyGroup.DAY: _day("f.shipped_at"),
    AccuracyGroup.TEMPLATE: "f.template",
}
_ERROR_KEY: dict[ErrorKey, str] = {
    ErrorKey.REASON: "reason",
    ErrorKey.WAREHOUSE: "warehouse",
    ErrorKey.SKU: "sku",
    ErrorKey.STATION: "station",
    ErrorKey.DAY: _day("created_at"),
}
_DELAY_GROUP: dict[DelayGroup, str] = {
    DelayGroup.ALL: "'all'",
    DelayGroup.WAREHOUSE: "t.warehouse",
    DelayGroup.SKU: "sku",
    DelayGroup.TEMPLATE: "t.template",
    DelayGroup.CARRIER: "t.carrier",
}
STEP_ORDER = ", ".join(f"'{s.value}'" for s in DelayStep)


@dataclass(frozen=True)
class AccuracyCounts:
    group: str | None
    scans: int
    rejected: int
    shipped: int | None
    shipped_clean: int | None


async def record_pack_refusal(
    session: AsyncSession,
    *,
    shipment_id: str,
    order_id: str | None,
    warehouse: str,
    reason: str,
    weight_grams: int | None,
    station: str | None,
) -> None:
    """One refused pack, in the caller's transaction."""
    session.add(
        PackRefusalRow(
            shipment_id=shipment_id,
            order_id=order_id,
            warehouse=warehouse,
            station=station,
            reason=reason,
            weight_grams=weight_grams,
        )
    )


def _sql(query: str) -> Any:
    """A statement assembled only from this module's fixed fragments."""
    return text(query)


async def accuracy(
    session: AsyncSession,
    group: AccuracyGroup,
    since: datetime,
    until: datetime,
    warehouse: str | None = None,
) -> list[AccuracyCounts]:
    """Scans and refused scans per group, and the shipments shipped (and shipped clean:
    no refused scan, no weight mismatch) per group; most refused scans first. ``warehouse``
    narrows both to one warehouse (e.g. its accuracy per day)."""
    only = " AND s.warehouse = :warehouse" if warehouse is not None else ""
    only_f = " AND f.warehouse = :warehouse" if warehouse is not None else ""
    query = (
        f"SELECT {_SCAN_GROUP[group]} AS grp, count(*) AS n,"
        " count(*) FILTER (WHERE NOT s.accepted) AS rejected FROM scan_events s"
        f" WHERE s.created_at >= :since AND s.created_at < :until{only} GROUP BY grp"
    )
    scans = await session.execute(
        _sql(query), {"since": since, "until": until, "warehouse": warehouse}
    )
    found: dict[str | None, list[int]] = {g: [int(n), int(r)] for g, n, r in scans.all()}
    outcomes: dict[str | None, tuple[int, int]] = {}
    if group in _OUTCOME_GROUP:
        unnest = ", unnest(f.skus) AS sku" if group is AccuracyGroup.SKU else ""
        rows = await session.execute(
            _sql(
                f"SELECT {_OUTCOME_GROUP[group]} AS grp, count(*) AS shipped,"
                " count(*) FILTER (WHERE f.refused_scans = 0 AND f.weight_mismatches = 0)"
                f" FROM shipment_outcomes f{unnest}"
                " WHERE f.shipped_at >= :since AND f.shipped_at < :until"
                f"{only_f} GROUP BY grp"
            ),
            {"since": since, "until": until, "warehouse": warehouse},
        )
        outcomes = {g: (int(n), int(c)) for g, n, c in rows.all()}
    result = []
    for g in found.keys() | outcomes.keys():
        n, r = found.get(g, [0, 0])
        shipped, clean = outcomes.get(g, (0, 0))
        fulfilment = group in _OUTCOME_GROUP
        result.append(
            AccuracyCounts(g, n, r, shipped if fulfilment else None, clean if fulfilment else None)
        )
    result.sort(key=lambda c: (-c.rejected, c.group is None, c.group or ""))
    return result


async def errors(
    session: AsyncSession, keys: list[ErrorKey], since: datetime, until: datetime, limit: int
) -> list[dict[str, Any]]:
    """Refused scans and refused packs counted per ``keys`` (in :class:`ErrorKey` order),
    largest first, each with its share of all refusals in the window."""
    ordered = [k for k in ErrorKey if k in keys]
    cols = ", ".join(f"{_ERROR_KEY[k]} AS {k.value}" for k in ordered)
    by = ", ".join(str(i + 1) for i in range(len(ordered)))
    rows = await session.execute(
        _sql(
            "WITH e AS ("
            " SELECT reason, warehouse, sku, station, created_at FROM scan_events"
            " WHERE NOT accepted AND created_at >= :since AND created_at < :until"
            " UNION ALL"
            " SELECT reason, warehouse, NULL, station, created_at FROM pack_refusals"
            " WHERE created_at >= :since AND created_at < :until)"
            f" SELECT {cols}, count(*) AS refused,"
            " round(count(*)::numeric / sum(count(*)) OVER (), 4) AS share"
            f" FROM e GROUP BY {by} ORDER BY refused DESC, {by} LIMIT :limit"
        ),
        {"since": since, "until": until, "limit": limit},
    )
    return [
        {
            **{k.value: row[i] for i, k in enumerate(ordered)},
            "refused": int(row[-2]),
            "share": float(row[-1]),
        }
        for row in rows.all()
    ]


async def delays(
    session: AsyncSession,
    group: DelayGroup,
    step: DelayStep | None,
    since: datetime,
    until: datetime,
) -> list[dict[str, Any]]:
    """Seconds spent in each step (completed in the window) per group: count, p50, p90,
    p99 and SLA breaches (marked by the order's SLA timer, or over the step's SLA)."""
    unnest = ", unnest(t.skus) AS sku" if group is DelayGroup.SKU else ""
    only = " AND t.step = :step" if step is not None else ""
    rows = await session.execute(
        _sql(
            f"SELECT {_DELAY_GROUP[group]} AS grp, t.step, count(*),"
            " percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY t.seconds),"
            " count(*) FILTER (WHERE t.over_sla)"
            f" FROM order_step_times t{unnest}"
            f" WHERE t.completed_at >= :since AND t.completed_at < :until{only}"
            f" GROUP BY grp, t.step ORDER BY array_position(ARRAY[{STEP_ORDER}], t.step::text),"
            " grp NULLS LAST"
        ),
        {"since": since, "until": until, "step": step.value if step else None},
    )
    return [
        {
            "group": g,
            "step": s,
            "count": int(n),
            "p50_s": round(float(p[0]), 3),
            "p90_s": round(float(p[1]), 3),
            "p99_s": round(float(p[2]), 3),
            "sla_breaches": int(b),
        }
        for g, s, n, p, b in rows.all()
    ]


_THROUGHPUT: LiteralString = (
    "WITH b AS (SELECT generate_series("
    " date_trunc(:bucket, CAST(:since AS timestamptz) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',"
    " CAST(:until AS timestamptz) - interval '1 microsecond',"
    " CAST('1 ' || :bucket AS interval)) AS bucket),"
    " e AS (SELECT date_trunc(:bucket, at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket,"
    " count(*) FILTER (WHERE type = 'received') AS received,"
    " count(*) FILTER (WHERE type = 'shipped') AS shipped,"
    " count(*) FILTER (WHERE type = 'tracking_delivered') AS delivered,"
    " count(*) FILTER (WHERE type = 'cancelled') AS cancelled"
    " FROM order_events"
    " WHERE type IN ('received', 'shipped', 'tracking_delivered', 'cancelled')"
    " AND at >= :since AND at < :until GROUP BY 1)"
    " SELECT b.bucket, coalesce(e.received, 0), coalesce(e.shipped, 0),"
    " coalesce(e.delivered, 0), coalesce(e.cancelled, 0)"
    " FROM b LEFT JOIN e USING (bucket) ORDER BY b.bucket"
)


async def throughput(
    session: AsyncSession, bucket: Bucket, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Orders received, shipments shipped and delivered, orders cancelled per UTC hour or
    day; every bucket of the window is present, empty ones with zeros."""
    rows = await session.execute(
        text(_THROUGHPUT), {"bucket": bucket.value, "since": since, "until": until}
    )
    return [
        {"bucket": b, "received": r, "shipped": s, "delivered": d, "cancelled": c}
        for b, r, s, d, c in rows.all()
    ]
