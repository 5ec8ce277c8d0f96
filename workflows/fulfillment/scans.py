"""Scans: which a shipment refuses (the Update's validator) and what an accepted one counts.

Pick-stage scans take items off the shelf; pack-stage scans re-check each picked item at
the pack station (required when ``verify_at_pack``). A refusal raises before anything is
recorded, so a refused scan leaves no trace in history.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from domain.codes import ScanRefusal
from domain.models import ScanInput, ScanResult
from domain.status import ShipmentStatus
from workflows.fulfillment import record
from workflows.fulfillment.state import ShipmentState


def validate_scan(s: ShipmentState, scan: ScanInput) -> None:
    if scan.scan_id in s.scans:
        return
    if not s.floor_open() or s.moving or s.pack_request is not None:
        raise ApplicationError(
            f"shipment is {s.status.value}, not being picked",
            type=ScanRefusal.NOT_PICKABLE.value,
        )
    if s.held:
        raise ApplicationError(
            "the order is on hold: scans wait until the hold is released",
            type=ScanRefusal.ON_HOLD.value,
        )
    line = s.lines.get(scan.sku)
    if line is None:
        raise ApplicationError(
            f"{scan.sku} is not in this shipment", type=ScanRefusal.WRONG_ITEM.value
        )
    if scan.stage == "pack":
        if line.verified + scan.quantity > line.picked:
            raise ApplicationError(
                f"{scan.sku}: {line.picked} picked, {line.verified} already verified",
                type=ScanRefusal.NOT_PICKED.value,
            )
        return
    if scan.serial is not None and (scan.sku, scan.serial) in s.serials:
        raise ApplicationError(
            f"{scan.sku} serial {scan.serial} was already picked",
            type=ScanRefusal.DUPLICATE_SERIAL.value,
        )
    if line.picked + scan.quantity > line.quantity:
        raise ApplicationError(
            f"{scan.sku}: {line.quantity - line.picked} left to pick, scanned {scan.quantity}",
            type=ScanRefusal.OVER_SCAN.value,
        )


def apply_scan(s: ShipmentState, scan: ScanInput) -> ScanResult:
    """Count one accepted scan; a repeated ``scan_id`` returns the first answer."""
    if scan.scan_id in s.scans:
        return s.scans[scan.scan_id]
    line = s.lines[scan.sku]
    if scan.stage == "pack":
        line.verified += scan.quantity
        done, left = line.verified, line.picked - line.verified
        total_left = sum(ln.quantity - ln.verified for ln in s.lines.values())
    else:
        line.picked += scan.quantity
        if scan.serial is not None:
            s.serials.add((scan.sku, scan.serial))
        done, left, total_left = line.picked, line.quantity - line.picked, s.remaining()
    result = ScanResult(
        accepted=True,
        sku=scan.sku,
        picked=done,
        remaining=left,
        shipment_remaining=total_left,
        stage=scan.stage,
    )
    s.scans[scan.scan_id] = result  # a repeat gets the answer; its row was written
    if not s.floor_in_read_model:
        return result  # the run loop records the pick for older generations
    if scan.stage == "pack":
        if total_left == 0:
            s.steps_done["pack_verification"] = workflow.now()
    else:
        s.status = ShipmentStatus.PICKING
        if total_left == 0:
            s.steps_done["pick"] = workflow.now()
            record.event(s, "picked", units=s.picked_units())
    return record.with_row(s, result)
