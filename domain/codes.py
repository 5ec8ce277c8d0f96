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


class ProblemCode(StrEnum):
    """Why the API itself said no: the ``reason`` of a problem+json no workflow raised.

    (A workflow's refusal is answered with its own code, from the enums above.)
    """

    # Who is asking (api/auth.py, the pages' sign-in)
    UNAUTHENTICATED = "unauthenticated"  # no key, an unknown or revoked one, a session ended
    FORBIDDEN = "forbidden"  # the role may not, or the order does not ship from its warehouse
    OTHER_WAREHOUSE = "other_warehouse"  # a staff key naming another warehouse
    CSRF = "csrf"  # a dashboard form without its session's token
    LOGIN = "login"  # a page asked for without a session: 303 to the sign-in page

    # What is asked for
    NOT_FOUND = "not_found"
    NOT_READY = "not_ready"  # an order received but not yet in the read model (503)
    UNKNOWN_ORDER = "unknown_order"  # a Shopify webhook about an order never taken in
    UNKNOWN_SKU = "unknown_sku"
    UNKNOWN_WAREHOUSE = "unknown_warehouse"  # none by that code, or it is inactive
    UNKNOWN_TRACKING_NUMBER = "unknown_tracking_number"  # a carrier event for no parcel
    UNKNOWN_LOCATION = "unknown_location"  # the Shopify sandbox's inventory location
    UNKNOWN_ITEM = "unknown_item"  # the Shopify sandbox's inventory item
    LABEL_NOT_READY = "label_not_ready"
    LABEL_VOIDED = "label_voided"

    # The request itself (api/problems.py, api/input_guard.py, the routes' own checks)
    VALIDATION_ERROR = "validation_error"
    OUT_OF_RANGE = "out_of_range"  # a value Postgres refused for its column
    BODY_TOO_LARGE = "body_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NUL_CHARACTER = "nul_character"
    INVALID_UNICODE = "invalid_unicode"
    INVALID_REQUEST = "invalid_request"
    INVALID_PAYLOAD = "invalid_payload"  # a webhook or carrier event that does not parse
    BAD_SIGNATURE = "bad_signature"  # a webhook's HMAC does not match
    BAD_CURSOR = "bad_cursor"
    INVALID_BARCODE = "invalid_barcode"  # a product's barcode (the value ScanRefusal uses)
    INVALID_CHANNEL_CONFIG = "invalid_channel_config"
    INVALID_RULES = "invalid_rules"  # routing or tag rules that do not compile
    INVALID_EDIT = "invalid_edit"  # the Shopify sandbox's order edit
    INVALID_ROWS = "invalid_rows"  # a stock import with bad rows
    MISSING_FILE = "missing_file"  # a stock import without its file
    TOO_LARGE = "too_large"  # a stock import file over its limit
    NOT_UTF8 = "not_utf8"  # a stock import file that is not UTF-8 text
    INVALID_WINDOW = "invalid_window"  # analytics: since not before until
    INVALID_GROUP_BY = "invalid_group_by"
    WINDOW_TOO_LARGE = "window_too_large"

    # Taking an order in (api/intake.py)
    IDEMPOTENCY_KEY_MISSING = "idempotency_key_missing"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"  # the same key, another request
    MISSING_IDEMPOTENCY_KEY = "missing_idempotency_key"  # the Shopify sandbox's spelling
    DUPLICATE_ORDER = "duplicate_order"  # the channel's order again, with other content

    # The state of things
    DUPLICATE = "duplicate"  # a code or SKU that exists already
    BARCODE_TAKEN = "barcode_taken"
    VERSION_CONFLICT = "version_conflict"  # an edit of rules changed under the caller
    INACTIVE = "inactive"  # a channel switched off
    INSUFFICIENT_STOCK = "insufficient_stock"
    ORDER_CLOSED = "order_closed"  # an action on an order whose workflow has finished
    NOT_CANCELLABLE = "not_cancellable"
    NOT_OPEN = "not_open"  # an action on a shipment whose workflow has finished
    NO_HOLD = "no_hold"  # a release when the order has no active hold
    REFUSED = "refused"  # a workflow refusal that named no code

    # Out of reach: retry
    TEMPORAL_UNAVAILABLE = "temporal_unavailable"
    DATABASE_UNAVAILABLE = "database_unavailable"
    UNAVAILABLE = "unavailable"  # the dashboard's actions: Temporal out of reach


#: Every code a problem+json ``reason`` may carry (OpenAPI lists them).
ALL_CODES: tuple[type[StrEnum], ...] = (ScanRefusal, PackRefusal, UpdateRefusal, ProblemCode)


def every_code() -> list[str]:
    """The values of :data:`ALL_CODES`, once each, sorted."""
    return sorted({code.value for enum in ALL_CODES for code in enum})
