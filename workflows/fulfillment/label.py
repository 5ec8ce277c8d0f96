"""The label (generation 9): bought after the pack answered, under the carrier retry
policy and the label SLA, bought again when ops asks, voided when the shipment is
cancelled (docs/decisions/0008-the-label-follows-the-pack.md).
"""

from __future__ import annotations

import asyncio
import functools
from contextlib import suppress
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from domain import names
from domain.models import LabelRequest, LabelResult, VoidLabelRequest, duration_text
from domain.status import LabelStatus, StuckReason
from workflows import policies
from workflows.fulfillment import record, stuck
from workflows.fulfillment.state import ShipmentState


async def buy_label(s: ShipmentState) -> LabelResult | None:
    """Buy the label under the carrier retry policy, for as long as it takes.

    Past ``label_sla_seconds`` the shipment is stuck (``carrier_unavailable``) for ops,
    who may ask for it again now or with another service (``retry_label``): the running
    attempt is cancelled and a new one starts. A plain retry keeps the idempotency key;
    another service takes a new key, and the activity first asks the carrier about the
    earlier keys, so a label sold under one is adopted, not bought twice.
    None: the shipment was cancelled meanwhile.
    """
    due = workflow.now() + timedelta(seconds=s.input.label_sla_seconds)
    request = _label_request(s)
    buying = _start_buying(request)
    while True:
        left = due - workflow.now()
        if s.stuck is None and left <= timedelta(0):
            sla = timedelta(seconds=s.input.label_sla_seconds)
            stuck.stick(
                s,
                StuckReason.CARRIER_UNAVAILABLE,
                f"no label after {duration_text(int(sla.total_seconds()))}:"
                " the carrier keeps failing",
                since=due,
                sla=sla,
            )
            record.event(s, "label_late", sla_seconds=s.input.label_sla_seconds)
            await record.move(s, s.status, tell_parent=True)
            continue
        try:
            await workflow.wait_condition(
                functools.partial(_label_wait_over, s, buying),
                timeout=left if s.stuck is None else None,
            )
        except TimeoutError:
            continue
        if buying.done():
            return buying.result()
        buying.cancel()
        with suppress(asyncio.CancelledError, ActivityError):
            await buying
        if s.stopped():
            return None
        retry, s.label_retry = s.label_retry, None
        assert retry is not None
        if retry.service_level is not None and retry.service_level != s.service_level:
            s.service_level = retry.service_level
            request = _label_request(s)
        record.event(
            s,
            "label_retry",
            service_level=s.service_level.value,
            key=request.idempotency_key,
            actor=retry.actor,
        )
        buying = _start_buying(request)


def take_label(s: ShipmentState, bought: LabelResult) -> None:
    """The carrier sold the label: the parcel's tracking and label are the shipment's."""
    s.tracking, s.label_url = bought.tracking, bought.label_url
    parcel = bought.tracking
    record.event(s, "label_purchased", carrier=parcel.carrier, number=parcel.number)


async def void_label(s: ShipmentState) -> None:
    """Cancelled before shipping: void whatever the carrier sold under this shipment's
    keys (generation 9 cancels with the label pending too)."""
    await workflow.execute_activity(
        names.VOID_LABEL,
        VoidLabelRequest(shipment_id=s.input.shipment_id, purchase_keys=s.label_keys),
        start_to_close_timeout=policies.EXTERNAL_TIMEOUT,
        retry_policy=policies.EXTERNAL,
    )
    if s.label_status is not None:
        s.label_status = LabelStatus.VOIDED
    record.event(s, "label_voided", number=s.tracking.number if s.tracking else None)


def _label_request(s: ShipmentState) -> LabelRequest:
    """The next purchase: a new idempotency key per service, the earlier ones to ask
    the carrier about first (docs/decisions/0018-idempotency-keys-made-in-workflows.md)."""
    assert s.pack_request is not None
    n = len(s.label_keys) + 1
    key = f"label-{s.input.shipment_id}" + (f"-{n}" if n > 1 else "")
    earlier, s.label_keys = list(s.label_keys), [*s.label_keys, key]
    return LabelRequest(
        order_id=s.input.order_id,
        shipment_id=s.input.shipment_id,
        warehouse=s.warehouse,
        address=s.address,
        shipping_method=s.service_level,
        weight_grams=s.pack_request.weight_grams,
        idempotency_key=key,
        earlier_keys=earlier,
    )


def _label_wait_over(s: ShipmentState, buying: asyncio.Task[LabelResult]) -> bool:
    return buying.done() or s.label_retry is not None or s.stopped()


def _start_buying(request: LabelRequest) -> asyncio.Task[LabelResult]:
    return asyncio.ensure_future(
        workflow.execute_activity(
            names.BUY_LABEL,
            request,
            result_type=LabelResult,
            start_to_close_timeout=policies.EXTERNAL_TIMEOUT,
            retry_policy=policies.EXTERNAL,
            # A cancelled attempt (ops' retry, the order cancelled) is waited for: a
            # label it bought is then in the ledger, to reuse or to void.
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
    )
