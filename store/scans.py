"""The scan path's reads and writes: one statement before the workflow, one after.

A pick or pack scan is answered by the shipment's workflow. What the API needs from
Postgres around that Update is one read (the shipment, any earlier answer to this
``scan_id``, what the barcode is, whether its serial was picked before) and one write (the
attempt and the answer it got). Each is a single statement, atomic on its own, so they run
on autocommit connections: no BEGIN/COMMIT round trips for a person holding a scanner to
wait through, and no connection held while the workflow answers.

They run on a small psycopg pool of their own rather than through SQLAlchemy: on the
busiest path of the API, SQLAlchemy's engine (pool checkout with pre-ping, the greenlet
bridge, result processing) cost about as much CPU as everything else in the handler
(docs/decisions/0013-scan-statements-on-their-own-pool.md). Two fixed
statements need none of it; the rest of the API keeps the ORM.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, LiteralString, TypeVar

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from domain.models import ProjectShipmentInput
from store.db import autocommit_pool
from store.projection import event_rows, shipment_row

T = TypeVar("T")


@dataclass(frozen=True)
class ScanContext:
    """What the API knows before asking the workflow."""

    order_id: str
    warehouse: str
    #: The stored answer to this ``scan_id`` if it was seen before: ``{status_code, body}``.
    first_answer: dict[str, Any] | None
    #: The catalog SKU behind the barcode; None when the barcode is not in the catalog.
    sku: str | None
    #: Units one scan of this barcode stands for (a case of 6 → 6).
    multiplier: int
    #: An accepted scan already picked this serial (any shipment).
    serial_picked: bool


def _context_sql(serial_check: LiteralString) -> LiteralString:
    return (
        "SELECT s.order_id, s.warehouse, earlier.response, b.sku, b.multiplier, "
        + serial_check
        + " AS serial_picked"
        " FROM shipments s"
        " LEFT JOIN scan_events earlier"
        "   ON earlier.shipment_id = s.shipment_id AND earlier.scan_id = %(scan_id)s"
        " LEFT JOIN product_barcodes b ON b.gtin = %(gtin)s"
        " WHERE s.shipment_id = %(shipment_id)s"
    )


#: By whether the scan carries a GS1 serial (answered by ``ix_scan_events_serial``).
_CONTEXT: dict[bool, LiteralString] = {
    False: _context_sql("false"),
    True: _context_sql(
        "EXISTS (SELECT 1 FROM scan_events picked WHERE picked.sku = b.sku"
        " AND picked.serial = %(serial)s AND picked.accepted)"
    ),
}

_RECORD: LiteralString = (
    "INSERT INTO scan_events (shipment_id, order_id, warehouse, scan_id, station, stage,"
    " key_id, barcode, sku, lot, serial, expiry, quantity, accepted, reason, response)"
    " VALUES (%(shipment_id)s, %(order_id)s, %(warehouse)s, %(scan_id)s, %(station)s,"
    " %(stage)s, %(key_id)s, %(barcode)s, %(sku)s, %(lot)s, %(serial)s, %(expiry)s,"
    " %(quantity)s, %(accepted)s, %(reason)s, %(response)s)"
    " ON CONFLICT ON CONSTRAINT uq_scan_event DO NOTHING RETURNING id"
)
#: The scan's record plus the shipment's row and events as the workflow's answer left them,
#: in one statement (one round trip): the row only moves forward (``version``), and the
#: ``shipments_roll_up`` trigger (migration 0006) rolls the order's floor status up from it.
_RECORD_AND_ADVANCE: LiteralString = (
    "WITH recorded AS (" + _RECORD + "),"
    " advanced AS (UPDATE shipments SET version = %(s_version)s, warehouse = %(s_warehouse)s,"
    " status = %(s_status)s, lines = %(s_lines)s, steps_done = %(s_steps_done)s,"
    " updated_at = %(s_updated_at)s"
    " WHERE shipment_id = %(shipment_id)s AND version < %(s_version)s),"
    " logged AS (INSERT INTO order_events (order_id, event_key, at, type, detail)"
    " SELECT e.order_id, e.event_key, e.at, e.type, e.detail FROM jsonb_to_recordset("
    "%(s_events)s) AS e(order_id text, event_key text, at timestamptz, type text, detail jsonb)"
    " ON CONFLICT ON CONSTRAINT uq_order_event_key DO NOTHING)"
    " SELECT id FROM recorded"
)
_FIRST_ANSWER: LiteralString = (
    "SELECT response FROM scan_events WHERE shipment_id = %(shipment_id)s AND scan_id = %(scan_id)s"
)


#: Seconds a scan waits for a connection before it is answered 503: a person holding a
#: scanner should hear "retry" quickly, and the scan station page retries by itself.
CONNECT_TIMEOUT = 5.0

#: How the pool's sessions show in ``pg_stat_activity``.
APPLICATION_NAME = "oms-api-scans"


class ScanStoreUnavailable(Exception):
    """Postgres cannot be reached (or gave no connection in time): the caller answers 503."""


class ScanStore:
    """The two scan statements on a pool of autocommit connections.

    A connection that died with Postgres (a restart, a failover) is found by the statement
    that uses it, not by a ping before every checkout (one more round trip per scan): the
    pool then drops every broken idle connection and the statement runs once more on a
    fresh one. Both statements are safe to repeat (a read; an insert that keeps the first
    row). When Postgres cannot be reached at all, :class:`ScanStoreUnavailable` is raised
    within ``CONNECT_TIMEOUT``.
    """

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    @classmethod
    @asynccontextmanager
    async def open(cls, database_url: str, *, size: int) -> AsyncIterator[ScanStore]:
        async with autocommit_pool(
            database_url,
            size=size,
            name="scans",
            application_name=APPLICATION_NAME,
            connect_wait=CONNECT_TIMEOUT,
        ) as pool:
            yield cls(pool)

    async def _run(self, use: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
        try:
            try:
                async with self.pool.connection() as conn:
                    return await use(conn)
            except PoolTimeout:
                raise  # no connection to be had: retrying would only wait as long again
            except psycopg.OperationalError:
                await self.pool.check()  # drop the connections Postgres no longer knows
                async with self.pool.connection() as conn:
                    return await use(conn)
        except psycopg.OperationalError as exc:  # PoolTimeout included
            raise ScanStoreUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def context(
        self, shipment_id: str, scan_id: str, gtin: str | None, serial: str | None
    ) -> ScanContext | None:
        """One round trip for everything the scan needs to know; None for an unknown
        shipment. ``gtin`` None skips the catalog lookup (the barcode did not parse);
        ``serial`` None skips the serial check."""
        params = {"shipment_id": shipment_id, "scan_id": scan_id, "gtin": gtin or ""}
        if serial is not None:
            params["serial"] = serial

        async def read(conn: psycopg.AsyncConnection[Any]) -> Any:
            cursor = await conn.execute(_CONTEXT[serial is not None], params)
            return await cursor.fetchone()

        row = await self._run(read)
        if row is None:
            return None
        order_id, warehouse, response, sku, multiplier, serial_picked = row
        return ScanContext(
            order_id=order_id,
            warehouse=warehouse,
            first_answer=response,
            sku=sku,
            multiplier=multiplier or 1,
            serial_picked=bool(serial_picked) and sku is not None,
        )

    async def record(
        self,
        *,
        shipment_id: str,
        order_id: str | None,
        warehouse: str,
        scan_id: str,
        station: str | None,
        stage: str,
        key_id: str,
        barcode: str,
        sku: str | None,
        lot: str | None,
        serial: str | None,
        expiry: date | None,
        quantity: int,
        accepted: bool,
        reason: str | None,
        answer: dict[str, Any],
        shipment: ProjectShipmentInput | None = None,
    ) -> dict[str, Any] | None:
        """Store the attempt and its answer; returns the *first* answer if a concurrent
        retry of the same ``scan_id`` stored one before us (else None: ours is the first).

        ``shipment``: the row the workflow's answer carries, written in the same statement,
        so the work list and the order show the scan once the person has the answer."""
        params: dict[str, Any] = dict(
            shipment_id=shipment_id,
            order_id=order_id,
            warehouse=warehouse,
            scan_id=scan_id,
            station=station,
            stage=stage,
            key_id=key_id,
            barcode=barcode,
            sku=sku,
            lot=lot,
            serial=serial,
            expiry=expiry,
            quantity=quantity,
            accepted=accepted,
            reason=reason,
            response=Jsonb(answer),
        )
        statement = _RECORD
        if shipment is not None:
            statement = _RECORD_AND_ADVANCE
            params.update(_advance_params(shipment))

        async def write(conn: psycopg.AsyncConnection[Any]) -> dict[str, Any] | None:
            inserted = await (await conn.execute(statement, params)).fetchone()
            if inserted is not None:
                return None
            cursor = await conn.execute(
                _FIRST_ANSWER, {"shipment_id": shipment_id, "scan_id": scan_id}
            )
            first = await cursor.fetchone()
            return first[0] if first is not None else None

        return await self._run(write)


def _advance_params(shipment: ProjectShipmentInput) -> dict[str, Any]:
    row = shipment_row(shipment)
    events = [
        {**e, "at": e["at"].isoformat()} for e in event_rows(row["order_id"], shipment.events)
    ]
    return {
        "s_version": row["version"],
        "s_warehouse": row["warehouse"],
        "s_status": row["status"],
        "s_lines": Jsonb(row["lines"]),
        "s_steps_done": Jsonb(row["steps_done"]),
        "s_updated_at": row["updated_at"],
        "s_events": Jsonb(events),
    }
