"""Write-back to the order's sales channel (Shopify): one activity, once per key.

Every write goes ledger → check → act → ledger:

1. A ``done`` ledger row for the key answers at once (a retry, a replay).
2. The channel is asked what it already has (a fulfillment with these lines and this
   tracking number, an event of this status at this time, a hold with this handle, the
   order already cancelled): found, it is adopted, not made again. This is what covers a
   crash *after* Shopify acted and before the ledger row was written.
3. Otherwise the mutation; then the ledger row.

Throttling, 5xx and transport errors are retryable ``ChannelUnavailable`` errors (with
Shopify's own wait when it gave one); a refusal is a non-retryable ``WritebackRejected``
and a ``failed`` ledger row, for ops (docs/decisions/0009-shopify-write-back.md).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain import names
from domain.models import LineItemsRequest, LineItemsResult
from domain.writeback import (
    WRITEBACK_REJECTED,
    WritebackError,
    WritebackKind,
    WritebackRequest,
    WritebackResult,
)
from integrations.channels import ChannelUnavailable
from integrations.shopify_admin import ShopifyAdmin, WritebackRefused
from store import channels as channel_repo
from store import writebacks as ledger

log = logging.getLogger(__name__)

OPEN_STATUSES = ("OPEN", "IN_PROGRESS", "ON_HOLD")


class ChannelWritebackActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient) -> None:
        self.sessions = sessions
        self.http = http

    @activity.defn(name=names.READ_LINE_ITEMS)
    async def read_line_items(self, req: LineItemsRequest) -> LineItemsResult:
        """Which SKU each line item of the order is, asked of the channel (Shopify's
        ``orders/edited`` names added lines only by line item id). A read: nothing to
        record. A refusal is ``WritebackRejected`` (not retried); throttling and outages
        are retried as for writes."""
        async with self.sessions() as session:
            channel = await channel_repo.get_channel(session, req.channel)
        try:
            if channel is None or not channel.active or channel.kind != "shopify":
                raise WritebackRefused(
                    WritebackError.CHANNEL_GONE, f"no active shopify channel {req.channel}"
                )
            skus = await ShopifyAdmin(channel.code, channel.config, self.http).line_items(
                req.external_id
            )
        except WritebackRefused as exc:
            raise ApplicationError(str(exc), type=WRITEBACK_REJECTED, non_retryable=True) from exc
        except ChannelUnavailable as exc:
            raise ApplicationError(
                str(exc), type="ChannelUnavailable", next_retry_delay=exc.retry_after
            ) from exc
        return LineItemsResult(skus=skus)

    @activity.defn(name=names.WRITE_BACK)
    async def write_back(self, req: WritebackRequest) -> WritebackResult:
        """Make ``req`` true in the channel, once.

        Raises:
            ApplicationError: ``WritebackRejected`` (non-retryable) when the channel refused;
                ``ChannelUnavailable`` (retryable, with its wait) when it could not answer.
        """
        async with self.sessions() as session:
            done = await ledger.find(session, req.key)
            if done is not None and done.status == "done":
                return WritebackResult(
                    key=req.key, remote_id=done.remote_id, existing=True, detail="in the ledger"
                )
            channel = await channel_repo.get_channel(session, req.channel)
            fulfillment_id = None
            if req.fulfillment_key is not None:
                parent = await ledger.find(session, req.fulfillment_key)
                fulfillment_id = parent.remote_id if parent and parent.status == "done" else None
        try:
            if channel is None or not channel.active or channel.kind != "shopify":
                raise WritebackRefused(
                    WritebackError.CHANNEL_GONE, f"no active shopify channel {req.channel}"
                )
            admin = ShopifyAdmin(channel.code, channel.config, self.http)
            result = await self._write(admin, req, channel.config, fulfillment_id)
        except WritebackRefused as exc:
            log.warning("write-back %s refused: %s", req.key, exc)
            async with self.sessions.begin() as session:
                await ledger.record(session, req, status="failed", detail=str(exc)[:1000])
            raise ApplicationError(
                str(exc), exc.reason.value, type=WRITEBACK_REJECTED, non_retryable=True
            ) from exc
        except ChannelUnavailable as exc:
            raise ApplicationError(
                str(exc), type="ChannelUnavailable", next_retry_delay=exc.retry_after
            ) from exc
        async with self.sessions.begin() as session:
            await ledger.record(
                session,
                req,
                status="done",
                remote_id=result.remote_id,
                existing=result.existing,
                detail=result.detail,
            )
        return result

    async def _write(
        self,
        admin: ShopifyAdmin,
        req: WritebackRequest,
        config: dict[str, Any],
        fulfillment_id: str | None,
    ) -> WritebackResult:
        if req.kind == WritebackKind.FULFILLMENT:
            return await fulfil(admin, req, notify=bool(config.get("notify_customer", False)))
        if req.kind == WritebackKind.FULFILLMENT_EVENT:
            if fulfillment_id is None:
                raise WritebackRefused(
                    WritebackError.NOT_FOUND, f"no fulfillment recorded for {req.fulfillment_key}"
                )
            return await add_event(admin, req, fulfillment_id)
        if req.kind == WritebackKind.HOLD:
            return await hold(admin, req)
        if req.kind == WritebackKind.RELEASE:
            return await release(admin, req)
        return await cancel(admin, req)


def _lines_of(fulfillment: dict[str, Any]) -> Counter[str]:
    nodes = (fulfillment.get("fulfillmentLineItems") or {}).get("nodes") or []
    out: Counter[str] = Counter()
    for n in nodes:
        out[str((n.get("lineItem") or {}).get("sku"))] += int(n.get("quantity") or 0)
    return out


def _numbers(fulfillment: dict[str, Any]) -> set[str]:
    info = fulfillment.get("trackingInfo") or []
    info = info if isinstance(info, list) else [info]
    return {str(t.get("number")) for t in info if t.get("number")}


async def fulfil(admin: ShopifyAdmin, req: WritebackRequest, *, notify: bool) -> WritebackResult:
    """One fulfillment for exactly the shipment's lines, with its tracking."""
    assert req.tracking is not None
    order = await admin.order(req.external_id)
    wanted: Counter[str] = Counter()
    for line in req.lines:
        wanted[line.sku] += line.quantity
    for f in order.get("fulfillments") or []:
        ours = req.tracking.number in _numbers(f) and _lines_of(f) == wanted
        if f.get("status") == "SUCCESS" and ours:
            return WritebackResult(key=req.key, remote_id=f["id"], existing=True)
    by_fo: list[dict[str, Any]] = []
    left = dict(wanted)
    for fo in (order.get("fulfillmentOrders") or {}).get("nodes") or []:
        if fo.get("status") not in OPEN_STATUSES:
            continue
        items = []
        for item in (fo.get("lineItems") or {}).get("nodes") or []:
            sku = item.get("sku")
            remaining = int(item.get("remainingQuantity") or 0)
            if left.get(sku, 0) > 0 and remaining > 0:
                take = left[sku]
                # Send what the shipment holds; Shopify refuses more than remains itself.
                items.append({"id": item["id"], "quantity": take})
                left[sku] = 0
        if items:
            by_fo.append({"fulfillmentOrderId": fo["id"], "fulfillmentOrderLineItems": items})
    missing = sorted(sku for sku, n in left.items() if n > 0)
    if missing:
        raise WritebackRefused(
            WritebackError.NO_LINES,
            f"Shopify order {req.external_id} has no open fulfillment-order line for "
            f"{', '.join(missing)}",
        )
    made = await admin.create_fulfillment(
        by_fo,
        company=req.tracking.carrier,
        number=req.tracking.number,
        url=req.tracking.url,
        notify_customer=notify,
    )
    return WritebackResult(key=req.key, remote_id=str(made["id"]))


async def add_event(
    admin: ShopifyAdmin, req: WritebackRequest, fulfillment_id: str
) -> WritebackResult:
    """A carrier milestone on the shipment's fulfillment (Shopify's order status page)."""
    assert req.event_status is not None and req.happened_at is not None
    order = await admin.order(req.external_id)
    for f in order.get("fulfillments") or []:
        if f.get("id") != fulfillment_id:
            continue
        for e in (f.get("events") or {}).get("nodes") or []:
            if e.get("status") == req.event_status and _same_time(
                e.get("happenedAt"), req.happened_at.isoformat()
            ):
                return WritebackResult(key=req.key, remote_id=e["id"], existing=True)
    made = await admin.create_event(fulfillment_id, req.event_status, req.happened_at, req.message)
    return WritebackResult(key=req.key, remote_id=str(made["id"]))


def _same_time(a: Any, b: str) -> bool:
    try:
        return datetime.fromisoformat(str(a)) == datetime.fromisoformat(b)
    except ValueError:
        return False


async def hold(admin: ShopifyAdmin, req: WritebackRequest) -> WritebackResult:
    """Hold every fulfillment order still to fulfil, with our hold's reason; the hold's
    ``handle`` is our hold id, which is how a retry finds it."""
    assert req.hold_id is not None and req.hold_reason is not None
    order = await admin.order(req.external_id)
    made: list[str] = []
    found = False
    for fo in (order.get("fulfillmentOrders") or {}).get("nodes") or []:
        if fo.get("status") not in OPEN_STATUSES:
            continue
        mine = [h for h in fo.get("fulfillmentHolds") or [] if h.get("handle") == req.hold_id]
        if mine:
            found = True
            made.append(str(mine[0]["id"]))
            continue
        held = await admin.hold(fo["id"], req.hold_reason, req.note, req.hold_id)
        made.append(str(held["id"]))
    if not made:
        return WritebackResult(key=req.key, skipped=True, detail="no open fulfillment order")
    return WritebackResult(key=req.key, remote_id=",".join(made), existing=found)


async def release(admin: ShopifyAdmin, req: WritebackRequest) -> WritebackResult:
    """Release our hold (by its handle) wherever Shopify still has it."""
    assert req.hold_id is not None
    order = await admin.order(req.external_id)
    released = []
    for fo in (order.get("fulfillmentOrders") or {}).get("nodes") or []:
        mine = [h["id"] for h in fo.get("fulfillmentHolds") or [] if h.get("handle") == req.hold_id]
        if mine:
            await admin.release(fo["id"], mine)
            released.extend(mine)
    if not released:
        return WritebackResult(key=req.key, existing=True, detail="no such hold in Shopify")
    return WritebackResult(key=req.key, remote_id=",".join(released))


async def cancel(admin: ShopifyAdmin, req: WritebackRequest) -> WritebackResult:
    order = await admin.order(req.external_id)
    if order.get("cancelledAt"):
        return WritebackResult(key=req.key, remote_id=order["id"], existing=True)
    job = await admin.cancel(
        req.external_id,
        reason=req.cancel_reason,
        refund=req.refund,
        restock=req.restock,
        note=req.note,
    )
    return WritebackResult(key=req.key, remote_id=str(job.get("id")))
