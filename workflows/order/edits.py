"""Generation 10: changes the sales channel makes to an order after intake, an address
correction (``orders/updated``) or a line edit (``orders/edited``).

Before anyone picked, a change is applied; after picking started it is not, and the
order is flagged for ops with what changed (docs/decisions/0009-shopify-write-back.md,
"Shopify's edits").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from temporalio import workflow
from temporalio.exceptions import ActivityError

from domain import names
from domain.models import (
    Address,
    AddressChange,
    AddressChangeResult,
    CancelInput,
    LineEdit,
    LineItemsRequest,
    LineItemsResult,
    LineRemoval,
    OrderLine,
    RelocateInput,
    ShrinkRequest,
)
from domain.status import SHIPPED_OR_LATER, HoldReason, ShipmentStatus, StuckReason
from domain.verification import verify_order
from workflows import policies
from workflows.fulfillment import FulfillmentWorkflow
from workflows.order.channel import ChannelWrites
from workflows.order.holds import Holds
from workflows.order.journal import Journal
from workflows.order.shipments import Shipments
from workflows.order.state import OrderData
from workflows.order.stuck import StuckFlags


class ChannelEdits:
    def __init__(
        self,
        data: OrderData,
        journal: Journal,
        holds: Holds,
        stuck: StuckFlags,
        shipments: Shipments,
        channel: ChannelWrites,
    ) -> None:
        self.data = data
        self.journal = journal
        self.holds = holds
        self.stuck = stuck
        self.shipments = shipments
        self.channel = channel
        #: One edit is applied at a time.
        self.lock = asyncio.Lock()

    async def _picking_started(self) -> bool:
        """Whether the floor started on the order, read from the floor once it runs."""
        if self.data.children:
            await self.shipments.refresh_floor()
        return self.data.picking_started()

    async def change_address(self, change: AddressChange) -> AddressChangeResult:
        """Before anyone picked: the order takes the address, is verified again (a bad
        address holds it, the hold mirrored to the channel) and each open shipment is
        routed again for it, its reservations moving when another warehouse is now the
        best. After picking started: not applied; flagged for ops with both addresses."""
        data = self.data
        old = data.order.shipping_address
        new = change.address
        if new == old:
            return AddressChangeResult(outcome="unchanged")
        moved = {"old": old.model_dump(mode="json"), "new": new.model_dump(mode="json")}
        if await self._picking_started():
            detail = (
                f"{change.source} changed the shipping address after picking started: "
                f"{_one_line(old)} → {_one_line(new)}"
            )
            self.journal.event("address_change_flagged", source=change.source, **moved)
            self.stuck.flag_for_ops(StuckReason.ADDRESS_CHANGED_AFTER_PICK, detail)
            await self.journal.flush()
            return AddressChangeResult(outcome="flagged", detail=detail)
        data.order = data.order.model_copy(update={"shipping_address": new})
        self.journal.event("address_changed", source=change.source, **moved)
        result = verify_order(data.order, strict=True)
        # Only the address is new: risk holds were decided (and maybe released) already.
        placed = [
            self.holds.place(reason, note)
            for reason, note in result.holds
            if reason == HoldReason.INCORRECT_ADDRESS
        ]
        self.journal.event(
            "verified" if result.passed else "verification_failed",
            risk_score=result.risk_score,
            risk_reasons=result.risk_reasons,
            again="address changed",
        )
        if placed and data.children:
            await self.holds.tell_children(True)
        for child in data.running_children(live_only=True):
            await child.signal(FulfillmentWorkflow.relocate, RelocateInput(address=new))
        await self.journal.show_change()
        return AddressChangeResult(outcome="applied", detail=f"{len(placed)} hold(s) placed")

    async def take(self, edit: LineEdit) -> AddressChangeResult:
        """Take a line edit once (by edit id), one at a time. Before anyone picked it is
        applied: removed units leave their shipments (reservations released, a shipment
        left with nothing is cancelled), added lines are allocated (a new shipment), an
        order left with no line at all is cancelled. Either way the edit is on the
        timeline, SKU by SKU."""
        data = self.data
        key = edit.edit_id or str(workflow.uuid4())
        if key in data.edits_seen:
            return AddressChangeResult(outcome="duplicate", detail=f"edit {key} already taken")
        data.edits_seen.add(key)
        data.editing += 1
        try:
            async with self.lock:
                return await self._decide(key, edit)
        finally:
            data.editing -= 1

    async def _skus(self, edit: LineEdit) -> tuple[dict[str, str], list[str], str]:
        """The SKU of each line item the edit names (``external_id`` → SKU), the ones
        still unknown, and why the channel could not say."""
        data = self.data
        skus = {ln.external_id: ln.sku for ln in data.order.lines if ln.external_id}
        unknown = sorted({*edit.added, *edit.removed} - set(skus))
        lookup_failed = ""
        if unknown and self.channel.active:
            # Additions name line items this order has never seen: the channel says what
            # they are (its order query), retried through throttling and outages.
            try:
                found: LineItemsResult = await workflow.execute_activity(
                    names.READ_LINE_ITEMS,
                    LineItemsRequest(
                        channel=data.order.writeback_channel or "",
                        external_id=data.order.external_id or "",
                    ),
                    result_type=LineItemsResult,
                    start_to_close_timeout=policies.CHANNEL_WRITEBACK_TIMEOUT,
                    retry_policy=policies.CHANNEL_WRITEBACK,
                )
                skus.update({k: v for k, v in found.skus.items() if k not in skus})
            except ActivityError as exc:
                lookup_failed = str(exc.cause or exc)
        return skus, sorted({*edit.added, *edit.removed} - set(skus)), lookup_failed

    async def _decide(self, key: str, edit: LineEdit) -> AddressChangeResult:
        data = self.data
        skus, unresolved, lookup_failed = await self._skus(edit)
        named = _by_name(skus)
        added, removed = named(edit.added), named(edit.removed)
        started = await self._picking_started()
        closing = data.cancel_reason is not None or data.status in SHIPPED_OR_LATER
        parts = [f"-{n} {k}" for k, n in removed.items()] + [f"+{n} {k}" for k, n in added.items()]
        apply = bool(parts) and not started and not unresolved and not closing
        self.journal.event(
            "order_edited",
            source=edit.source,
            edit_id=edit.edit_id,
            added=added,
            removed=removed,
            picking_started=started,
            applied=apply,
        )
        if not parts:
            await self.journal.flush()
            return AddressChangeResult(outcome="unchanged", detail="no line change")
        change = f"{edit.source} edit {edit.edit_id or ''}: {', '.join(parts)}"
        if not apply:
            why = (
                "picking had started"
                if started
                else "the order is closing"
                if closing
                else f"line items the channel did not name ({', '.join(unresolved)}"
                + (f": {lookup_failed}" if lookup_failed else "")
                + ")"
            )
            detail = f"{change} — not applied ({why}): adjust the order"
            self.stuck.flag_for_ops(StuckReason.ORDER_EDITED_IN_CHANNEL, detail)
            await self.journal.flush()
            return AddressChangeResult(outcome="flagged", detail=detail)
        return await self._apply(key, edit, skus, change)

    async def _apply(
        self, key: str, edit: LineEdit, skus: dict[str, str], change: str
    ) -> AddressChangeResult:
        """Apply an edit nobody on the floor has started on: the order's lines first (what
        a later allocation or edit reads), then the shipments."""
        data = self.data
        await workflow.wait_condition(lambda: not data.allocating)
        lines = data.order.lines  # changed in place: a waiting first allocation reads it
        by_id = {ln.external_id: ln for ln in lines if ln.external_id}
        taken: dict[str, int] = {}  # SKU → units to take off the shipments
        for k, n in edit.removed.items():
            line = by_id.get(k)
            units = min(n, line.quantity) if line is not None else 0
            if line is None or units == 0:
                continue
            line.quantity -= units
            if line.quantity == 0:
                lines.remove(line)
            taken[line.sku] = taken.get(line.sku, 0) + units
        additions: list[OrderLine] = []
        for k, n in edit.added.items():
            if k in by_id and by_id[k] in lines:
                by_id[k].quantity += n
            else:
                lines.append(OrderLine(sku=skus[k], quantity=n, external_id=k))
            additions.append(OrderLine(sku=skus[k], quantity=n, external_id=k))
        if not lines:
            # The channel keeps an order with nothing in it; here there is nothing left to
            # fulfil: the order is cancelled (stock released, payment reversed by our
            # payment step), not written back: the channel made the change.
            data.cancel_reason = "every line was removed in the channel"
            data.cancel_source = edit.source
            data.cancel_flags = CancelInput(reason=data.cancel_reason, source=edit.source)
            self.journal.event("order_edit_applied", edit_id=key, outcome="cancelled")
            await self.journal.flush()
            return AddressChangeResult(outcome="applied", detail=f"{change}: order cancelled")
        unplaced: dict[str, int] = {}
        if data.allocated:
            unplaced = await self._take_off_shipments(key, taken)
            if additions:
                data.rerouting += 1
                asyncio.create_task(self.shipments.allocate_more(additions, avoid_refusers=False))
        self.journal.event(
            "order_edit_applied",
            edit_id=key,
            outcome="applied",
            removed=taken,
            added={ln.sku: ln.quantity for ln in additions},
            not_on_a_shipment=unplaced,
        )
        await self.journal.show_change()
        return AddressChangeResult(outcome="applied", detail=change)

    async def _take_off_shipments(self, key: str, taken: dict[str, int]) -> dict[str, int]:
        """Take removed units off the live open shipments (lowest shipment number first).
        A started shipment shrinks itself (it checks the floor again, and refuses if a
        scan came first); one not started yet is shrunk here. Returns units no shipment
        held (lines being routed again after a hand-back)."""
        data = self.data
        left = dict(taken)
        per_shipment: dict[str, dict[str, int]] = {}
        for view in data.live():
            if view.status != ShipmentStatus.OPEN:
                continue
            for ln in view.lines:
                units = min(left.get(ln.sku, 0), ln.quantity)
                if units:
                    per_shipment.setdefault(view.shipment_id, {})[ln.sku] = units
                    left[ln.sku] -= units
        for sid, removed in per_shipment.items():
            child = data.children.get(sid)
            if child is not None:
                if not child.done():
                    await child.signal(
                        FulfillmentWorkflow.remove_lines, LineRemoval(key=key, removed=removed)
                    )
                continue
            view = data.shipments[sid]
            keep = {ln.sku: max(ln.quantity - removed.get(ln.sku, 0), 0) for ln in view.lines}
            await workflow.execute_activity(
                names.SHRINK_SHIPMENT,
                ShrinkRequest(order_id=data.order.order_id, shipment_id=sid, keep=keep),
                result_type=int,
                start_to_close_timeout=policies.DATABASE_TIMEOUT,
                retry_policy=policies.DATABASE,
            )
            view.lines = [
                ln.model_copy(update={"quantity": keep[ln.sku]})
                for ln in view.lines
                if keep[ln.sku]
            ]
            if not view.lines:
                view.status = ShipmentStatus.CANCELLED
                self.shipments.drop_emptied(view)
        return {sku: n for sku, n in left.items() if n}


def _by_name(skus: dict[str, str]) -> Callable[[dict[str, int]], dict[str, int]]:
    """Units by line item id → units by SKU (``line <id>`` for an item nobody named)."""

    def named(changes: dict[str, int]) -> dict[str, int]:
        out: dict[str, int] = {}
        for k, n in changes.items():
            name = skus.get(k, f"line {k}")
            out[name] = out.get(name, 0) + n
        return out

    return named


def _one_line(a: Address) -> str:
    return ", ".join(p for p in (a.name, a.address1, a.city, a.zip, a.country_code) if p)
