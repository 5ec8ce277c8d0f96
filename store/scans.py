"""The scan path's reads and writes: one statement before the workflow, one after.

A pick or pack scan is answered by the shipment's workflow. What the API needs from
Postgres around that Update is one read (the shipment, any earlier answer to this
``scan_id``, what the barcode is, whether its serial was picked before) and one write (the
attempt and the answer it got). Each is a single statement, atomic on its own, so they run
on autocommit connections: no BEGIN/COMMIT round trips for a person holding a scanner to
wait through, and no connection held while the workflow answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import Select, Table, and_, bindparam, exists, false, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from store.tables import ProductBarcode, ScanEvent, ShipmentRow

_shipments = cast(Table, ShipmentRow.__table__)
_events = cast(Table, ScanEvent.__table__)
_barcodes = cast(Table, ProductBarcode.__table__)


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


def _context_statement(with_serial: bool) -> Select[Any]:
    """The read, built once per shape (rebuilding aliases per scan cost measurable CPU)."""
    earlier = _events.alias("earlier")
    picked = _events.alias("picked")
    serial_seen = (
        exists()
        .where(
            picked.c.sku == _barcodes.c.sku,
            picked.c.serial == bindparam("serial"),
            picked.c.accepted,
        )
        .correlate(_barcodes)
        if with_serial
        else false()
    )
    return (
        select(
            _shipments.c.order_id,
            _shipments.c.warehouse,
            earlier.c.response,
            _barcodes.c.sku,
            _barcodes.c.multiplier,
            serial_seen.label("serial_picked"),
        )
        .select_from(_shipments)
        .outerjoin(
            earlier,
            and_(
                earlier.c.shipment_id == _shipments.c.shipment_id,
                earlier.c.scan_id == bindparam("scan_id"),
            ),
        )
        .outerjoin(_barcodes, _barcodes.c.gtin == bindparam("gtin"))
        .where(_shipments.c.shipment_id == bindparam("shipment_id"))
    )


_CONTEXT = {False: _context_statement(False), True: _context_statement(True)}


async def scan_context(
    conn: AsyncConnection,
    shipment_id: str,
    scan_id: str,
    gtin: str | None,
    serial: str | None,
) -> ScanContext | None:
    """One round trip for everything the scan needs to know; None for an unknown shipment.

    ``gtin`` None skips the catalog lookup (the barcode did not parse); ``serial`` None
    skips the serial check.
    """
    params = {"shipment_id": shipment_id, "scan_id": scan_id, "gtin": gtin or ""}
    if serial is not None:
        params["serial"] = serial
    row = (await conn.execute(_CONTEXT[serial is not None], params)).first()
    if row is None:
        return None
    return ScanContext(
        order_id=row.order_id,
        warehouse=row.warehouse,
        first_answer=row.response,
        sku=row.sku,
        multiplier=row.multiplier or 1,
        serial_picked=bool(row.serial_picked) and row.sku is not None,
    )


_RECORD = insert(_events).on_conflict_do_nothing(constraint="uq_scan_event").returning(_events.c.id)
_FIRST_ANSWER = select(_events.c.response).where(
    _events.c.shipment_id == bindparam("shipment_id"), _events.c.scan_id == bindparam("scan_id")
)


async def record_scan(
    conn: AsyncConnection,
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
) -> dict[str, Any] | None:
    """Store the attempt and its answer; returns the *first* answer if a concurrent retry
    of the same ``scan_id`` stored one before us (else None: ours is the first)."""
    inserted = await conn.scalar(
        _RECORD,
        dict(
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
            response=answer,
        ),
    )
    if inserted is not None:
        return None
    first: dict[str, Any] | None = await conn.scalar(
        _FIRST_ANSWER, {"shipment_id": shipment_id, "scan_id": scan_id}
    )
    return first
