"""Everything one order remembers between workflow tasks, in one dataclass.

The modules beside this one act on it; none keeps order state of its own (samples-python
style). Nothing here issues a workflow command: these are data and pure readings of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from temporalio import workflow

from domain.models import (
    CancelInput,
    FulfillmentResult,
    Hold,
    NotifyRequest,
    OrderEvent,
    OrderInput,
    ProjectShipmentInput,
    RoutingDecision,
    ShipmentUpdate,
    ShipmentView,
    StuckInfo,
)
from domain.priority import order_priority
from domain.status import OrderStatus, PaymentState, ShipmentStatus, order_status_from_shipments
from domain.tagging import tags_for
from domain.templates import DEFAULT_TEMPLATES, StepPlan, plan_for

Child = workflow.ChildWorkflowHandle[Any, FulfillmentResult]


@dataclass
class StuckSources:
    """Why the order may be stuck, by source. The ops views show one: its own step SLA
    breach first, then a write-back the channel refused, then the first change from the
    channel that was not applied, else its longest-stuck shipment's."""

    #: The current template step outlived its SLA (the SLA watchdog sets and clears it).
    step: StuckInfo | None = None
    #: Generation 10: the first write-back the sales channel refused; it stays.
    channel: StuckInfo | None = None
    #: Generation 10: what the channel changed that was not applied (an address after
    #: picking started, a line edit), shown to ops.
    ops_flags: list[StuckInfo] = field(default_factory=list)
    #: Generation 9: shipments stuck on their carrier (label, tracking), by id.
    shipments: dict[str, StuckInfo] = field(default_factory=dict)

    def effective(self) -> StuckInfo | None:
        if self.step is not None:
            return self.step
        if self.channel is not None:
            return self.channel
        if self.ops_flags:
            return self.ops_flags[0]
        if not self.shipments:
            return None
        return min(self.shipments.values(), key=lambda s: s.since)


@dataclass
class OrderData:
    """One order's state. Decided at intake: tags, priority and the step template (pure
    data handed over with the order, so evaluating them here is deterministic)."""

    order: OrderInput
    tags: list[str]
    #: The tag rules' version; None for orders from before the rules (they keep their tags).
    tags_version: int | None
    tag_rules_matched: list[str]
    priority: int
    #: The template: steps and SLAs fixed at start, so none can be skipped later.
    plan: StepPlan
    #: The behaviour generation (workflows/patches.py), decided first thing in ``run``.
    gen: int = 0
    status: OrderStatus = OrderStatus.RECEIVED

    # --- the spine: verification, payment, allocation -------------------------------------
    verified: bool = False
    payment: PaymentState = PaymentState.PENDING
    allocated: bool = False
    backordered: bool = False
    routing: RoutingDecision | None = None
    #: Set as ``run`` returns: no template step is current any more.
    finished: bool = False

    # --- people and signals ----------------------------------------------------------------
    holds: dict[str, Hold] = field(default_factory=dict)
    cancel_reason: str | None = None
    #: Who cancelled (``oms``, ``shopify``...): a cancel from the channel is not written back.
    cancel_source: str = "oms"
    cancel_flags: CancelInput = field(default_factory=CancelInput)
    #: The cancel was passed on to the running shipments.
    cancel_forwarded: bool = False
    paid_signal: bool = False
    stock_signal: bool = False
    #: Shipment moves signalled by the children, applied by the fulfilment loop.
    inbox: list[ShipmentUpdate] = field(default_factory=list)

    # --- shipments -------------------------------------------------------------------------
    shipments: dict[str, ShipmentView] = field(default_factory=dict)
    children: dict[str, Child] = field(default_factory=dict)
    #: Shipment numbering: <order>-1, -2, ... across splits, re-routes and edits.
    next_seq: int = 1
    #: Shipments that left the order: handed back by a warehouse or emptied by an edit.
    rejected: set[str] = field(default_factory=set)
    #: Warehouses that handed back lines (a re-route avoids them).
    refused_by: set[str] = field(default_factory=set)
    #: Re-allocations in flight (after a hand-back, or for lines an edit added).
    rerouting: int = 0
    #: Of those, how many wait as backorders.
    waiting_for_stock: int = 0
    #: An allocation is running (an edit waits for it).
    allocating: bool = False
    #: Shipments are being started (the fulfilment phase has begun).
    fulfilling: bool = False

    # --- generation 10: edits from the channel ------------------------------------------
    #: Edit ids taken; a repeat is a no-op.
    edits_seen: set[str] = field(default_factory=set)
    #: Edits being applied: the order does not finish under one.
    editing: int = 0

    stuck: StuckSources = field(default_factory=StuckSources)

    # --- what the read model has not been told yet (written with the next flush) ---------
    version: int = 0
    event_seq: int = 0
    pending_events: list[OrderEvent] = field(default_factory=list)
    #: Shipment rows handed over by children's floor moves.
    pending_shipments: list[ProjectShipmentInput] = field(default_factory=list)
    #: Customer messages decided (generation 9).
    pending_notifications: list[NotifyRequest] = field(default_factory=list)

    @classmethod
    def at_intake(cls, order: OrderInput) -> OrderData:
        tagged = tags_for(order)
        return cls(
            order=order,
            tags=tagged.tags,
            tags_version=order.tagging.version if order.tagging else None,
            tag_rules_matched=tagged.matched,
            priority=max(order_priority(order), tagged.priority),
            plan=plan_for(tagged.tags, order.templates or DEFAULT_TEMPLATES),
        )

    def live(self) -> list[ShipmentView]:
        """The shipments still the order's: not handed back, not emptied by an edit."""
        return [v for sid, v in self.shipments.items() if sid not in self.rejected]

    def running_children(self, *, live_only: bool = False) -> Iterator[Child]:
        """The shipments' workflows still running (``live_only``: of live shipments), found
        lazily: a signal to one waits, and another may finish meanwhile."""
        for sid, child in self.children.items():
            if live_only and sid in self.rejected:
                continue
            if not child.done():
                yield child

    def live_warehouses(self) -> list[str]:
        return sorted({v.warehouse for v in self.live()})

    def status_from_shipments(self) -> OrderStatus:
        return order_status_from_shipments(
            self.live(),
            held=bool(self.holds) and bool(self.children),
            waiting_for_stock=bool(self.waiting_for_stock),
        )

    def picking_started(self) -> bool:
        """Someone on the floor started on a live shipment: the channel's changes to the
        order (address, lines) are not applied any more, only flagged for ops."""
        return any(
            v.status != ShipmentStatus.OPEN or any(ln.picked for ln in v.lines) for v in self.live()
        )
