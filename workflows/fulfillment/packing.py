"""Packing: when a parcel may be packed (every unit picked, re-scanned if the template
asks, protective packaging confirmed, the weight right) and what the pack records.

The checks are the pack and packaging-check Updates' validators: a refused pack leaves no
trace in history. Generation 9 answers the pack at once, the label pending
(docs/decisions/0008-the-label-follows-the-pack.md).
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from domain.codes import PackRefusal, UpdateRefusal
from domain.models import PackagingCheckInput, PackInput, PackResult
from domain.packing import expected_weight, weight_ok, weight_window
from domain.status import LabelStatus, ShipmentStatus
from workflows.fulfillment import record
from workflows.fulfillment.state import ShipmentState


def validate_pack(s: ShipmentState, request: PackInput) -> None:
    if s.pack_request is not None and not s.stopped():
        return  # a retried pack gets the first answer (the current state)
    _refuse_unless_packable(s)
    if s.held:
        raise ApplicationError(
            "the order is on hold: pack it once the hold is released",
            type=PackRefusal.ON_HOLD.value,
        )
    _refuse_if_unpicked(s)
    unverified = {
        sku: ln.quantity - ln.verified for sku, ln in s.lines.items() if ln.verified < ln.quantity
    }
    if s.input.verify_at_pack and unverified:
        raise ApplicationError(
            "re-scan at the pack station first: " + _units(unverified),
            type=PackRefusal.ITEMS_UNVERIFIED.value,
        )
    if s.input.packaging_check and not s.packaging_checked:
        raise ApplicationError(
            "fragile items: confirm protective packaging before packing",
            type=PackRefusal.PACKAGING_UNCHECKED.value,
        )
    lines = list(s.lines.values())
    if not weight_ok(lines, request.weight_grams):
        low, high = weight_window(lines)
        raise ApplicationError(
            f"measured {request.weight_grams} g; expected {expected_weight(lines)} g "
            f"(accepted {low}-{high} g)",
            type=PackRefusal.WEIGHT_MISMATCH.value,
        )


def validate_packaging(s: ShipmentState) -> None:
    if s.packaging_checked:
        return  # a repeat gets the same answer
    if not s.input.packaging_check:
        raise ApplicationError(
            "this shipment's template has no packaging check",
            type=UpdateRefusal.NOT_REQUIRED.value,
        )
    _refuse_unless_packable(s)
    if s.held:
        raise ApplicationError("the order is on hold", type=PackRefusal.ON_HOLD.value)
    _refuse_if_unpicked(s)


def check_packaging(s: ShipmentState, request: PackagingCheckInput) -> None:
    """The packer confirmed protective packaging (the Update answers the move)."""
    s.packaging_checked = True
    record.event(s, "packaging_checked", note=request.note, actor=request.actor)
    if s.floor_in_read_model:
        s.steps_done["packaging_check"] = workflow.now()


def pack_parcel(s: ShipmentState, request: PackInput) -> PackResult:
    """Generation 9: record the parcel, the label pending, and answer with its row; the
    run loop buys the label. A repeated pack gets the shipment as it stands."""
    if s.pack_request is not None:
        return pack_answer(s)
    s.pack_request = request
    s.status = ShipmentStatus.PACKED
    s.label_status = LabelStatus.PENDING
    s.steps_done.setdefault("pack", workflow.now())
    record.event(s, "packed", weight_grams=request.weight_grams, package=request.package)
    return record.with_row(s, pack_answer(s))


def pack_answer(s: ShipmentState) -> PackResult:
    """A repeated pack's answer: the shipment as it stands, never a second label."""
    return PackResult(
        label_status=s.label_status or LabelStatus.PENDING,
        tracking=s.tracking,
        label_url=s.label_url,
    )


def _refuse_unless_packable(s: ShipmentState) -> None:
    if not s.floor_open():
        raise ApplicationError(f"shipment is {s.status.value}", type=PackRefusal.NOT_PACKABLE.value)


def _refuse_if_unpicked(s: ShipmentState) -> None:
    missing = {
        sku: ln.quantity - ln.picked for sku, ln in s.lines.items() if ln.picked < ln.quantity
    }
    if missing:
        raise ApplicationError(
            "not picked yet: " + _units(missing), type=PackRefusal.ITEMS_MISSING.value
        )


def _units(by_sku: dict[str, int]) -> str:
    return ", ".join(f"{q} x {sku}" for sku, q in sorted(by_sku.items()))
