"""A shipment's shipping label, served from the label ledger as PDF or ZPL.

The label is kept in Postgres when it is bought (``activities/shipping.py``), so printing
never depends on the carrier being reachable; the same staff scope as every shipment route
applies (a staff key sees its own warehouse's labels only). See
docs/decisions/0005-labels-and-the-road.md.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import select

from api.auth import Floor, ensure_warehouse
from api.bounds import PathText
from api.deps import Session
from api.problems import Problem, problem_responses
from domain.codes import ProblemCode
from store import orders as read
from store.tables import LabelLedger

router = APIRouter(prefix="/api/v1/shipments", tags=["labels"])


class LabelFormat(StrEnum):
    PDF = "pdf"
    ZPL = "zpl"


MEDIA_TYPES = {LabelFormat.PDF: "application/pdf", LabelFormat.ZPL: "application/zpl"}

_LABEL_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The label: a 4x6 in PDF, or ZPL II for 203 dpi thermal printers",
        "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "application/zpl": {"schema": {"type": "string"}},
        },
    },
    **problem_responses(401, 403, 404, 410, 422),
}


@router.get(
    "/{shipment_id}/label",
    response_class=Response,
    responses=_LABEL_RESPONSES,
    summary="The shipment's shipping label (PDF or ZPL)",
)
async def shipment_label(
    shipment_id: PathText, session: Session, who: Floor, format: LabelFormat = LabelFormat.PDF
) -> Response:
    """404 ``not_found`` for an unknown shipment, 404 ``label_not_ready`` before the label
    is bought, 410 ``label_voided`` once it was voided (a cancelled shipment)."""
    shipment = await read.get_shipment(session, shipment_id)
    if shipment is None:
        raise Problem(404, f"no shipment {shipment_id}", reason=ProblemCode.NOT_FOUND)
    ensure_warehouse(who, shipment.warehouse)
    content = LabelLedger.pdf if format is LabelFormat.PDF else LabelLedger.zpl
    row = (
        await session.execute(
            select(LabelLedger.status, LabelLedger.tracking_number, content).where(
                LabelLedger.shipment_id == shipment_id
            )
        )
    ).one_or_none()
    if row is None or row[2] is None:  # not bought yet, or bought before labels were kept
        raise Problem(
            404,
            f"shipment {shipment_id} has no printable label yet (it is bought at pack)",
            reason=ProblemCode.LABEL_NOT_READY,
        )
    status, number, body = row
    data: bytes = body if isinstance(body, bytes) else str(body).encode()
    if status == "voided":
        raise Problem(410, f"label {number} was voided", reason=ProblemCode.LABEL_VOIDED)
    disposition = "inline" if format is LabelFormat.PDF else "attachment"
    filename = f"label-{re.sub(r'[^A-Za-z0-9_-]', '', number)}.{format.value}"
    return Response(
        content=data,
        media_type=MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            # A label carries the customer's address: browsers may keep it, proxies not.
            "Cache-Control": "private, no-cache",
        },
    )
