"""The register of ``workflow.patched`` ids: what each changed, and how generations work.

Every change to the commands a workflow records is guarded by a patch, so that executions
started before it (and the committed histories in ``tests/workflows/histories/vN``) replay
the code they ran. Each ``patched`` call in a new execution records a marker *and* upserts
the ``TemporalChangeVersion`` search attribute: two history events per patch per execution.

Generations keep that cost at one patch per order: a new ``OrderWorkflow`` records the
marker of the current generation and then takes every patch listed below as in force
without recording its own; a ``FulfillmentWorkflow`` gets its generation from its parent,
in its input, and records none. Executions of an older generation (no generation marker in
their history) ask ``workflow.patched`` for each patch exactly as before.

A patch can become unconditional (``workflow.deprecate_patch``) only when no execution of a
generation before it can still be running and its histories leave ``tests/``.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import workflow


@dataclass(frozen=True)
class Patch:
    id: str
    #: What changed with it.
    what: str
    #: The first committed history generation (tests/workflows/histories/vN) whose
    #: histories record its marker (8: no committed history takes its guarded branch).
    since: int

    @property
    def retire_when(self) -> str:
        """When ``workflow.deprecate_patch`` may take its place: executions of the
        generations before ``since`` took the old branch, so they must all be gone (and
        their histories out of ``tests/``). Derived from ``since``, which the register
        test holds to the committed histories, so the note cannot drift from them."""
        older = "v1" if self.since == 2 else f"v1..v{self.since - 1}"
        return (
            f"no execution of a generation before {self.since} is running and"
            f" tests/workflows/histories/{older} are gone"
        )


#: Generation 8: the order's floor state lives in the read model (the order hears only the
#: moves that change its course) and one marker stands for every patch below.
GENERATION_8 = Patch("generation-8", "floor state in the read model; one marker per order", 8)
FLOOR_GENERATION = 8
#: Generation 9: the pack answers before the label (the label follows, under an SLA);
#: tracking events apply in order of occurrence, never backwards; a shipment can be stuck
#: on its own (carrier unavailable, tracking stale, carrier exception) and tells its order;
#: the order decides its ``confirmed`` email. Its behaviours are new code paths taken by
#: generation 9 executions only: no patch of their own.
GENERATION_9 = Patch(
    "generation-9", "pack before the label; tracking in order; shipments stuck on carriers", 9
)
#: Generation 10: the order and its shipments tell the sales channel what happened
#: (fulfillments with tracking, carrier milestones, holds, releases, the cancellation) when
#: the order names a write-back channel (docs/decisions/0009-shopify-write-back.md).
GENERATION_10 = Patch("generation-10", "write-back to the sales channel (Shopify)", 10)
CURRENT_GENERATION = 10

STEP_SLA_WATCHDOG = Patch("step-sla-watchdog", "the template steps' SLA watchdog", 4)
POSTAL_CODE_CHECK = Patch("postal-code-check", "postal-code and billing-postcode checks", 4)
PAID_ORDER_LEAVES_AWAITING_PAYMENT = Patch(
    "paid-order-leaves-awaiting-payment", "a paid order moves to received", 7
)
RELEASE_BACKORDER_ON_CANCEL = Patch(
    "release-backorder-on-cancel", "a cancelled backorder closes its backorder row", 8
)
SHIPMENT_ANNOUNCES_ITSELF = Patch(
    "shipment-announces-itself", "the shipment writes its own open row when it starts", 2
)
ONE_FLOOR_MOVE_WHEN_FIRST_SCAN_PICKS_ALL = Patch(
    "one-floor-move-when-first-scan-picks-all", "a one-scan pick tells the order once", 7
)
PARENT_HEARS_TRACKING_OUTCOMES_ONLY = Patch(
    "parent-hears-tracking-outcomes-only", "in transit / out for delivery stay in the child", 2
)
FLOOR_MOVES_RECORDED_BY_ORDER = Patch(
    "floor-moves-recorded-by-order", "floor moves' rows ride on the signal to the order", 5
)
#: Both: docs/decisions/0015-projection-writes-local-unless-a-person-waits.md.
PROJECTION_LOCAL_UNLESS_PERSON_WAITS = Patch(
    "projection-local-unless-person-waits", "projection writes as local activities", 2
)
SHIPMENT_PROJECTION_AS_ACTIVITY = Patch(
    "shipment-projection-as-activity", "the shipment writes its own row (an activity)", 2
)

REGISTER: tuple[Patch, ...] = (
    GENERATION_10,
    GENERATION_9,
    GENERATION_8,
    STEP_SLA_WATCHDOG,
    POSTAL_CODE_CHECK,
    PAID_ORDER_LEAVES_AWAITING_PAYMENT,
    RELEASE_BACKORDER_ON_CANCEL,
    SHIPMENT_ANNOUNCES_ITSELF,
    ONE_FLOOR_MOVE_WHEN_FIRST_SCAN_PICKS_ALL,
    PARENT_HEARS_TRACKING_OUTCOMES_ONLY,
    FLOOR_MOVES_RECORDED_BY_ORDER,
    PROJECTION_LOCAL_UNLESS_PERSON_WAITS,
    SHIPMENT_PROJECTION_AS_ACTIVITY,
)


def in_force(generation: int, patch: Patch) -> bool:
    """Whether ``patch`` (one of generation 8's) applies to an execution of ``generation``
    (0: older than generation 8, which asks ``workflow.patched`` as it always did)."""
    return generation >= FLOOR_GENERATION or workflow.patched(patch.id)


def generation_of_new_order() -> int:
    """Decide an order's generation, first thing in its run: the newest for a new
    execution; for a replay, the one whose marker its history holds (none: 0)."""
    if workflow.patched(GENERATION_10.id):
        return GENERATION_10.since
    if workflow.patched(GENERATION_9.id):
        return GENERATION_9.since
    if workflow.patched(GENERATION_8.id):
        return GENERATION_8.since
    return 0
