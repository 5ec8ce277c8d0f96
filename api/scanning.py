"""The scan station's answers: refusals found before the workflow, the scan Update, and
answers recorded in ``scan_events`` and given again to a retried scan (same ``scan_id``).

A refusal is a 422 problem+json with ``accepted: false``; the scan route
(api/routers/shipments.py) records every answer before it is sent, on the scan pool
(docs/decisions/0013-scan-statements-on-their-own-pool.md).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from temporalio.client import Client

from api.metrics import StageTimer
from api.problems import PROBLEM_MEDIA_TYPE, Problem
from api.schemas.shipments import ScanIn, ScanOut
from api.updates import Refused, run_update
from domain import names
from domain.barcodes import ScannedCode, is_expired
from domain.codes import ProblemCode, ScanRefusal
from domain.models import ProjectShipmentInput, ScanInput
from store import scans
from workflows.fulfillment import FulfillmentWorkflow


def refused(reason: str, detail: str) -> tuple[int, dict[str, Any]]:
    """A refused scan's status and body (recorded as it is, then sent)."""
    return 422, Problem(
        422, detail, reason=reason, title="Scan refused", extra={"accepted": False}
    ).body()


def json_answer(status: int, body: dict[str, Any], timer: StageTimer) -> JSONResponse:
    """A scan's answer as sent: problem+json when refused, with its stage timings."""
    media = "application/json" if status < 400 else PROBLEM_MEDIA_TYPE
    return JSONResponse(
        jsonable_encoder(body),
        status_code=status,
        media_type=media,
        headers={"Server-Timing": timer.header()},
    )


def stored(answer: dict[str, Any], timer: StageTimer) -> JSONResponse:
    """An answer recorded in ``scan_events`` (``{status_code, body}``), given again."""
    return json_answer(int(answer["status_code"]), answer["body"], timer)


def database_unavailable(exc: Exception) -> Problem:
    return Problem(
        503,
        f"the database is unreachable; retry the same scan shortly ({exc})",
        reason=ProblemCode.DATABASE_UNAVAILABLE,
        headers={"Retry-After": "2"},
    )


def refusal_before_workflow(
    code: ScannedCode, context: scans.ScanContext, today: date
) -> tuple[int, dict[str, Any]] | None:
    """Refusals that need no workflow: an expired lot, a barcode the catalog does not
    know, a serial already picked (in any shipment)."""
    if is_expired(code, today):
        return refused(ScanRefusal.EXPIRED, f"lot {code.lot or '?'} expired on {code.expiry}")
    if context.sku is None:
        return refused(ScanRefusal.UNKNOWN_BARCODE, f"{code.gtin} is not in the catalog")
    if context.serial_picked:
        return refused(
            ScanRefusal.DUPLICATE_SERIAL,
            f"{context.sku} serial {code.serial} was already picked",
        )
    return None


async def scan_update(
    client: Client,
    shipment_id: str,
    body: ScanIn,
    sku: str,
    units: int,
    code: ScannedCode,
) -> tuple[int, dict[str, Any], ProjectShipmentInput | None]:
    """The scan's answer, and the shipment's row after it (None when refused)."""
    handle = client.get_workflow_handle(names.fulfillment_workflow_id(shipment_id))
    scan_input = ScanInput(
        scan_id=body.scan_id,
        sku=sku,
        quantity=units,
        barcode=body.barcode.strip(),
        station=body.station,
        lot=code.lot,
        serial=code.serial,
        stage=body.stage,
    )
    try:
        # Temporal out of reach raises 503, not recorded: the retry must get a real answer.
        result = await run_update(
            handle.execute_update(FulfillmentWorkflow.scan, scan_input, id=f"scan-{body.scan_id}")
        )
    except Refused as exc:
        return (*refused(exc.reason, exc.detail), None)
    if result is None:
        status, answer = refused(ScanRefusal.NOT_PICKABLE, "the shipment is no longer being picked")
        return status, answer, None
    out = ScanOut(
        sku=result.sku,
        picked=result.picked,
        remaining=result.remaining,
        shipment_remaining=result.shipment_remaining,
        stage=result.stage,
    )
    return 200, out.model_dump(), result.record
