"""Channel sync and low-stock watch: the plain data and rules their workflows run on.

No I/O: the sync and watch workflows import this module, and the activities apply the same
rules to what they read from Postgres.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, Field

ChannelKind = Literal["shopify", "sandbox"]
CHANNEL_KINDS: tuple[str, ...] = ("shopify", "sandbox")

#: Stock event types the low-stock watch writes (``stock_events.type``).
LOW_STOCK = "low_stock"
RESTOCKED = "restocked"
#: A channel refused one SKU's update for good (4xx); the SKU is retried on its next change.
CHANNEL_REJECTED = "channel_rejected"


# --- channel sync -------------------------------------------------------------------------


class ChannelSyncInput(BaseModel):
    """``ChannelSyncWorkflow``'s input, carried unchanged across continue-as-new."""

    channel: str
    #: Wait between drains when nobody pokes the workflow (worker-side stock changes such
    #: as reservations do not poke; the API's adjustments and imports do).
    poll_seconds: float = 5.0
    batch_size: int = Field(default=500, ge=1)
    #: Drains per run before continue-as-new, which keeps the history bounded.
    max_iterations: int = Field(default=200, ge=1)
    #: How long a channel that refused us as a whole (bad credentials) waits before trying
    #: again, unless poked sooner.
    blocked_retry_seconds: float = 300.0


class OutboxPosition(BaseModel):
    """A place in the outbox, which readers walk in ``(txid, id)`` order."""

    txid: int = 0
    id: int = 0


class SkuChange(BaseModel):
    """A SKU that changed, with the newest outbox row that said so."""

    sku: str
    outbox_id: int


class ChannelBatchRequest(BaseModel):
    channel: str
    limit: int = 500


class ChannelBatch(BaseModel):
    """Outbox rows after a channel's cursor, coalesced to one entry per SKU.

    Fixed once read (it is the activity's result, recorded in history), so a retried push
    uses the same SKUs, outbox ids and therefore the same idempotency keys.
    """

    channel: str
    active: bool
    after: OutboxPosition
    upto: OutboxPosition
    changes: list[SkuChange] = Field(default_factory=list)
    #: The read hit its limit: more rows are waiting, drain again without pausing.
    full: bool = False
    #: Committed rows wait behind a transaction still running: read again shortly.
    unsettled: bool = False


class ChannelPushResult(BaseModel):
    channel: str
    pushed: int = 0
    unchanged: int = 0
    #: SKUs the channel does not sell (e.g. no Shopify inventory item mapped).
    skipped: int = 0
    rejected: list[str] = Field(default_factory=list)
    cursor: OutboxPosition = Field(default_factory=OutboxPosition)
    #: False when another attempt (a timed-out one still running) moved the cursor first.
    advanced: bool = True


class ChannelSyncStatus(BaseModel):
    """What the ``status`` Query of a channel's sync workflow answers."""

    channel: str
    drains: int
    pushed: int
    cursor: OutboxPosition
    last_error: str | None = None


# --- low-stock watch ----------------------------------------------------------------------


class LowStockWatchInput(BaseModel):
    poll_seconds: float = 5.0
    batch_size: int = Field(default=1000, ge=1)
    max_iterations: int = Field(default=200, ge=1)


class LowStockCheckRequest(BaseModel):
    limit: int = 1000


class LowStockCheckResult(BaseModel):
    rows: int = 0
    skus: int = 0
    events: int = 0
    cursor: OutboxPosition = Field(default_factory=OutboxPosition)
    full: bool = False
    unsettled: bool = False


# --- outbox retention ----------------------------------------------------------------------


class OutboxPruneInput(BaseModel):
    """One pruning run (started by the ``outbox-prune`` Schedule)."""

    keep_hours: float = Field(default=24.0, ge=0)
    batch_size: int = Field(default=10_000, ge=1)
    #: Batches per run: a long backlog is worked off over several runs, not in one.
    max_batches: int = Field(default=20, ge=1)


class OutboxPruneRequest(BaseModel):
    keep_hours: float
    limit: int


class OutboxPruneResult(BaseModel):
    deleted: int = 0


#: First pause before re-reading rows held back by a running transaction; it doubles up to
#: the poll interval while they stay held back (a long transaction must not cause a spin).
SETTLE_SECONDS = 0.2


def next_pause(poll_seconds: float, unsettled: bool, previous: float | None) -> float:
    """How long to wait before the next drain (a poke ends the wait sooner)."""
    if not unsettled:
        return poll_seconds
    return min(poll_seconds, SETTLE_SECONDS if previous is None else previous * 2)


# --- rules --------------------------------------------------------------------------------


def coalesce(rows: Iterable[tuple[int, str]]) -> list[SkuChange]:
    """One entry per SKU from ``(outbox_id, sku)`` rows: the newest id wins.

    Ten reservations of one SKU in a batch become one push of its current quantity.
    Ordered by outbox id so the oldest pending change goes out first.
    """
    newest: dict[str, int] = {}
    for outbox_id, sku in rows:
        if outbox_id > newest.get(sku, -1):
            newest[sku] = outbox_id
    return [
        SkuChange(sku=sku, outbox_id=i) for sku, i in sorted(newest.items(), key=lambda x: x[1])
    ]


def channel_quantity(total_available: int, safety_buffer: int) -> int:
    """What a channel may sell: available across active warehouses less its buffer, >= 0."""
    return max(0, total_available - max(0, safety_buffer))


def push_key(channel: str, sku: str, outbox_id: int, available: int) -> str:
    """The idempotency key of one channel update.

    Deterministic per (channel, SKU, outbox id), so a retry after a lost response repeats
    the same request and the channel applies it once. The quantity is part of the key: a
    retry that finds the stock changed meanwhile sends a *different* request, which the
    channel must apply instead of answering with the first one's result.
    """
    return f"{channel}:{sku}:{outbox_id}:{available}"


def low_stock_transition(available: int, threshold: int | None, currently_low: bool) -> str | None:
    """The event a SKU's current stock calls for, given what was last recorded.

    Once per crossing: ``low_stock`` when it is below the threshold and was not already
    flagged, ``restocked`` when it is back at/above it (or the threshold was removed) after
    a ``low_stock``; otherwise nothing.
    """
    below = threshold is not None and available < threshold
    if below and not currently_low:
        return LOW_STOCK
    if currently_low and not below:
        return RESTOCKED
    return None
