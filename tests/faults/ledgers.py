"""What the fault suite checks after the storm: the ledgers of outside effects, stock and
the read model, per order — counted in SQL, printed as a report, then asserted.

Every count is per order of the run (``order_ids``), so rows of the standing workflows or
the demo catalog do not blur it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg

from store.db import libpq_url

#: The customer emails of a delivered single-shipment order, one each (ADR 0006).
EXPECTED_MILESTONES = frozenset({"confirmed", "shipped", "out_for_delivery", "delivered"})

Stock = dict[tuple[str, str], tuple[int, int]]  # (sku, warehouse) -> (on_hand, reserved)


def read_stock(database_url: str) -> Stock:
    with psycopg.connect(libpq_url(database_url)) as conn:
        rows = conn.execute("SELECT sku, warehouse, on_hand, reserved FROM inventory_levels")
        return {(sku, wh): (on_hand, reserved) for sku, wh, on_hand, reserved in rows}


@dataclass
class Counts:
    """What the database says about the run's orders."""

    orders: int
    statuses: Counter[str] = field(default_factory=Counter)
    #: per order: succeeded captures in our ledger / capture operations the gateway kept
    captures: Counter[int] = field(default_factory=Counter)
    gateway_captures: int = 0
    #: per shipment: labels in our ledger; label operations the carrier kept
    labels: Counter[int] = field(default_factory=Counter)
    carrier_labels: int = 0
    shipments: int = 0
    #: per (order, milestone): notification rows; orders missing an expected milestone
    notifications: Counter[int] = field(default_factory=Counter)
    notification_status: Counter[str] = field(default_factory=Counter)
    missing_milestones: list[str] = field(default_factory=list)
    mails_resent: int = 0
    #: per shipment: accepted scans, refused scans; picked units != ordered
    accepted_scans: Counter[int] = field(default_factory=Counter)
    refused_scans: int = 0
    overpicked: list[str] = field(default_factory=list)
    carrier_events: Counter[int] = field(default_factory=Counter)
    reservations: Counter[str] = field(default_factory=Counter)
    #: (sku, warehouse) where on_hand != initial − shipped, or reserved != initial reserved
    stock_mismatches: list[str] = field(default_factory=list)
    units_shipped: int = 0

    def report(self) -> str:
        def dist(c: Counter[int]) -> str:
            return ", ".join(f"{n}x: {k}" for k, n in sorted(c.items())) or "none"

        return "\n".join(
            [
                f"orders                  {self.orders}  by status {dict(self.statuses)}",
                f"captures per order      {{{dist(self.captures)}}}  gateway kept "
                f"{self.gateway_captures} capture operations",
                f"labels per shipment     {{{dist(self.labels)}}}  carrier sold "
                f"{self.carrier_labels} labels for {self.shipments} shipments",
                f"mails per milestone     {{{dist(self.notifications)}}}  rows by status "
                f"{dict(self.notification_status)}; orders missing one: "
                f"{len(self.missing_milestones)}; resent copies at the sink: {self.mails_resent}",
                f"accepted scans/shipment {{{dist(self.accepted_scans)}}}  refused "
                f"{self.refused_scans}; over/under-picked shipments: {len(self.overpicked)}",
                f"carrier events/shipment {{{dist(self.carrier_events)}}}",
                f"reservations            {dict(self.reservations)}",
                f"stock                   {self.units_shipped} units shipped; levels off "
                f"(on_hand != initial - shipped, or reserved left): {len(self.stock_mismatches)}",
            ]
        )


def count(database_url: str, order_ids: list[str], before: Stock) -> Counts:
    ids = list(order_ids)
    c = Counts(orders=len(ids))
    with psycopg.connect(libpq_url(database_url)) as conn:

        def rows(sql: str, *params: Any) -> list[tuple[Any, ...]]:
            return conn.execute(sql, params).fetchall()

        for status, n in rows(
            "SELECT status, count(*) FROM orders WHERE order_id = ANY(%s) GROUP BY 1", ids
        ):
            c.statuses[status] = n
        c.statuses["(no row)"] = len(ids) - sum(c.statuses.values())
        if not c.statuses["(no row)"]:
            del c.statuses["(no row)"]

        per_order = dict.fromkeys(ids, 0)
        for order_id, n in rows(
            "SELECT order_id, count(*) FROM payment_ledger WHERE order_id = ANY(%s)"
            " AND kind = 'capture' AND status = 'succeeded' GROUP BY 1",
            ids,
        ):
            per_order[order_id] = n
        c.captures = Counter(per_order.values())
        # The gateway's side: every capture it kept for these orders, under any key.
        c.gateway_captures = _remote(rows, "payments", "capture", "capture-", ids)
        shipments = [
            r[0] for r in rows("SELECT shipment_id FROM shipments WHERE order_id = ANY(%s)", ids)
        ]
        c.shipments = len(shipments)
        per_shipment = dict.fromkeys(shipments, 0)
        for sid, n in rows(
            "SELECT shipment_id, count(*) FROM labels WHERE order_id = ANY(%s)"
            " AND status = 'purchased' GROUP BY 1",
            ids,
        ):
            per_shipment[sid] = n
        c.labels = Counter(per_shipment.values())
        # The carrier's side: every label it sold for these shipments, under any key.
        c.carrier_labels = _remote(rows, "carrier", "label", "label-", shipments)
        per_milestone: Counter[tuple[str, str]] = Counter()
        for order_id, milestone, status, n in rows(
            "SELECT order_id, milestone, status, count(*) FROM notifications"
            " WHERE order_id = ANY(%s) GROUP BY 1, 2, 3",
            ids,
        ):
            per_milestone[(order_id, milestone)] += n
            c.notification_status[status] += n
        c.notifications = Counter(per_milestone.values())
        for order_id in ids:
            have = {m for (o, m) in per_milestone if o == order_id}
            if have != EXPECTED_MILESTONES:
                c.missing_milestones.append(f"{order_id}: {sorted(have)}")
        c.mails_resent = rows(
            "SELECT coalesce(sum(copies - 1), 0) FROM dev_mailbox WHERE order_id = ANY(%s)", ids
        )[0][0]

        accepted = dict.fromkeys(shipments, 0)
        for sid, ok, n in rows(
            "SELECT shipment_id, accepted, count(*) FROM scan_events WHERE order_id = ANY(%s)"
            " GROUP BY 1, 2",
            ids,
        ):
            if ok:
                accepted[sid] = n
            else:
                c.refused_scans += n
        c.accepted_scans = Counter(accepted.values())
        for sid, lines in rows(
            "SELECT shipment_id, lines FROM shipments WHERE order_id = ANY(%s)", ids
        ):
            for line in lines:
                if line.get("picked", 0) != line["quantity"]:
                    c.overpicked.append(
                        f"{sid} {line['sku']}: {line.get('picked')}/{line['quantity']}"
                    )
        per_tracking = dict.fromkeys(shipments, 0)
        for sid, n in rows(
            "SELECT shipment_id, count(*) FROM carrier_events WHERE shipment_id = ANY(%s)"
            " GROUP BY 1",
            shipments,
        ):
            per_tracking[sid] = n
        c.carrier_events = Counter(per_tracking.values())

        for status, n in rows(
            "SELECT status, count(*) FROM reservations WHERE order_id = ANY(%s) GROUP BY 1", ids
        ):
            c.reservations[status] = n
        shipped: Counter[tuple[str, str]] = Counter()
        for sku, wh, qty in rows(
            "SELECT sku, warehouse, sum(quantity) FROM reservations WHERE order_id = ANY(%s)"
            " AND status = 'committed' GROUP BY 1, 2",
            ids,
        ):
            shipped[(sku, wh)] = int(qty)
        c.units_shipped = sum(shipped.values())
        after = {
            (sku, wh): (on_hand, reserved)
            for sku, wh, on_hand, reserved in rows(
                "SELECT sku, warehouse, on_hand, reserved FROM inventory_levels"
            )
        }
    for key, (on_hand, reserved) in after.items():
        initial_on_hand, initial_reserved = before.get(key, (0, 0))
        if on_hand != initial_on_hand - shipped[key] or reserved != initial_reserved:
            c.stock_mismatches.append(
                f"{key}: on_hand {initial_on_hand}->{on_hand} shipped {shipped[key]},"
                f" reserved {initial_reserved}->{reserved}"
            )
    return c


def _remote(rows: Any, service: str, kind: str, prefix: str, ids: list[str]) -> int:
    """Operations the sandbox service kept under ``prefix + id`` or ``prefix + id + -n``."""
    found = rows(
        "SELECT count(*) FROM sandbox_operations o JOIN unnest(%s::text[]) AS i(id)"
        " ON o.idempotency_key = %s || i.id OR o.idempotency_key LIKE %s || i.id || '-%%'"
        " WHERE o.service = %s AND o.kind = %s",
        ids,
        prefix,
        prefix,
        service,
        kind,
    )
    return int(found[0][0])
