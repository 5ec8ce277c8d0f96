"""Refusal codes: why a workflow Update or an API call said no, as one vocabulary.

A workflow refuses an Update by raising ``ApplicationError(type=code)``; the API answers a
problem+json whose ``reason`` is the same code, and clients (the scan station, integrations)
match on it. The codes live here, in ``domain``, so that workflows, the API and tests name
them from one place and OpenAPI can list them. Values are stable strings: they are in
committed workflow histories and in clients' code.
"""

from enum import StrEnum


class ScanRefusal(StrEnum):
    INVALID_BARCODE = "invalid_barcode"
    UNKNOWN_BARCODE = "unknown_barcode"
    WRONG_ITEM = "wrong_item"
    OVER_SCAN = "over_scan"
    NOT_PICKABLE = "not_pickable"
    NOT_PICKED = "not_picked"  # a pack-station re-scan of something not picked
    EXPIRED = "expired"  # a GS1 expiry date (AI 17) in the past
    DUPLICATE_SERIAL = "duplicate_serial"  # a GS1 serial (AI 21) already picked
    ON_HOLD = "on_hold"  # the order is held: scans wait until the hold is released


class PackRefusal(StrEnum):
    ITEMS_MISSING = "items_missing"
    ITEMS_UNVERIFIED = "items_unverified"  # the pack-station re-scan is not complete
    WEIGHT_MISMATCH = "weight_mismatch"
    NOT_PACKABLE = "not_packable"
    PACKAGING_UNCHECKED = "packaging_unchecked"  # fragile: protective packaging not confirmed
    ON_HOLD = "on_hold"


class UpdateRefusal(StrEnum):
    """Why an order or shipment refused a person's or the channel's change."""

    ALREADY_SHIPPED = "already_shipped"  # cancel after the parcel left
    CANCELLED = "cancelled"  # the shipment was cancelled under the caller
    NOT_HOLDABLE = "not_holdable"  # a hold on an order past packing
    HOLD_NOT_FOUND = "hold_not_found"  # a release of a hold that is not active
    INVALID_TAGS = "invalid_tags"  # a tag edit with nothing to do or a bad tag
    NOT_SUPPORTED = "not_supported"  # an order from before the change existed
    NOT_CHANGEABLE = "not_changeable"  # an address change once picking started
    NOT_REQUIRED = "not_required"  # a packaging check the template does not ask for
    NOT_MOVABLE = "not_movable"  # a move of a shipment once picking started
    CANNOT_MOVE = "cannot_move"  # the target warehouse lacks stock or capacity
    SAME_WAREHOUSE = "same_warehouse"  # a move to where it already ships from
    NOT_REJECTABLE = "not_rejectable"  # a warehouse handing back a shipment it picked
    LABEL_NOT_PENDING = "label_not_pending"  # a label retry when none is pending
