"""Silence is noticed: a shipped parcel whose tracking says nothing for the stale window
is stuck (``tracking_stale``), and so is its order, until the carrier speaks again.
Under the time-skipping server: 73 hours pass in a moment."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.models import OrderOptions, PackInput, ShipmentView, TrackingEvent
from domain.status import StuckReason, TrackingStatus
from domain.templates import Step, TemplateSet
from tests.workflows.helpers import eventually, order_input, pack_shipped, start_order
from tests.workflows.test_worker_crash import child_handle, pick_all
from workflows.fulfillment import FulfillmentWorkflow
from workflows.order import OrderWorkflow

QUEUE = f"stale-{uuid.uuid4().hex[:8]}"
HOUR = 3600
#: Step SLAs out of the way (see test_timers.QUIET).
QUIET = TemplateSet(base_sla_seconds={step: 365 * 24 * HOUR for step in Step})


@pytest.mark.usefixtures("skipping_worker")
async def test_silent_tracking_marks_the_shipment_and_order_stuck_until_news(
    skipping_env: WorkflowEnvironment, make_catalog: Any
) -> None:
    cat = await make_catalog()
    sku = cat.skus[0]
    order = order_input(
        [(sku, 1)], options=OrderOptions(tracking_stale_seconds=72 * HOUR), templates=QUIET
    )
    handle = await start_order(skipping_env.client, order, QUEUE)
    fh = await child_handle(skipping_env.client, order.order_id)
    await pick_all(fh, [(sku, 1)])
    shipped = await pack_shipped(fh, PackInput(weight_grams=cat.weights[sku]))

    await skipping_env.sleep(timedelta(hours=73))

    async def stale() -> ShipmentView | None:
        view: ShipmentView = await fh.query(FulfillmentWorkflow.details)
        return view if view.stuck is not None else None

    view = await eventually(stale)
    assert view.stuck is not None and view.stuck.reason == StuckReason.TRACKING_STALE
    state = await handle.query(OrderWorkflow.details)
    assert state.stuck is not None and state.stuck.reason == StuckReason.TRACKING_STALE

    await fh.signal(
        FulfillmentWorkflow.track,
        TrackingEvent(
            tracking_number=shipped.tracking.number,
            status=TrackingStatus.IN_TRANSIT,
            occurred_at=datetime.now(UTC),
            event_key="news-1",
        ),
    )

    async def clear() -> bool:
        view = await fh.query(FulfillmentWorkflow.details)
        state = await handle.query(OrderWorkflow.details)
        return view.stuck is None and state.stuck is None

    await eventually(clear)
    await handle.terminate("test over")
