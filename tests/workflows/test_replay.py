"""Replay committed histories against today's workflow code.

A change to ``OrderWorkflow`` / ``FulfillmentWorkflow`` that alters the commands an
existing execution would produce breaks in-flight orders in production; here it fails the
replay instead. Guard such a change with ``workflow.patched`` and add new histories with
``python -m tests.workflows.make_histories`` (keep the old ones).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from domain.models import OrderInput, OrderState
from workers.worker import WORKFLOWS
from workflows import patches
from workflows.fulfillment import FulfillmentWorkflow
from workflows.order import OrderWorkflow

#: One folder per generation of workflow code that may have running executions: ``v1``
#: was recorded before any ``workflow.patched`` change (it exercises every unpatched
#: branch), the newest with today's code (every patched branch). Every folder must keep
#: replaying; add ``make_histories --out histories/vN`` when a release changes commands.
HISTORIES = Path(__file__).parent / "histories"
#: By number: ``v10`` is newer than ``v9`` (which sorts after it as text).
GENERATIONS = sorted((p for p in HISTORIES.iterdir() if p.is_dir()), key=lambda p: int(p.name[1:]))
FILES = sorted(HISTORIES.glob("*/*.json"))


def load(path: Path) -> WorkflowHistory:
    # Files are named after the workflow id they were recorded from.
    return WorkflowHistory.from_json(path.stem, path.read_text())


@pytest.mark.parametrize("generation", GENERATIONS, ids=[g.name for g in GENERATIONS])
def test_the_committed_histories_cover_every_scenario(generation: Path) -> None:
    ids = {p.stem for p in generation.glob("*.json")}
    for scenario in ("happy", "cancelled", "held", "backorder"):
        assert {f"order-hist-{scenario}", f"ful-hist-{scenario}-1"} <= ids


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
async def test_history_replays_on_current_code(path: Path) -> None:
    # debug_mode: no deadlock detector. Replay proves determinism, not speed; on a loaded
    # machine the sandbox's first import of the workflow modules can take over 2 s.
    replayer = Replayer(
        workflows=list(WORKFLOWS), data_converter=pydantic_data_converter, debug_mode=True
    )
    result = await replayer.replay_workflow(load(path))
    assert result.replay_failure is None


def _types(path: Path) -> list[str]:
    return [EventType.Name(e.event_type) for e in load(path).events]


@pytest.mark.parametrize("generation", GENERATIONS, ids=[g.name for g in GENERATIONS])
def test_histories_exercise_the_messages_they_claim(generation: Path) -> None:
    """A regenerated history that silently lost a path would make its replay test hollow."""
    for stem, must in {
        "order-hist-happy": ["EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED"],
        "order-hist-cancelled": [
            "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED",  # cancel
            "EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",  # cancel → child
        ],
        "order-hist-held": ["EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED"],  # release_hold
        "order-hist-backorder": [
            "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED",  # payment_received, stock_available
            "EVENT_TYPE_TIMER_STARTED",  # the payment and backorder-recheck waits
        ],
        "ful-hist-happy-1": ["EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED"],  # scan, pack
    }.items():
        types = _types(generation / f"{stem}.json")
        for t in must:
            assert t in types, f"{stem} has no {t}"
        assert types[-1] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED", stem


def test_the_newest_histories_cover_routing() -> None:
    """Splits, re-routing after a rejection and an ops move (recorded since v3)."""
    newest = GENERATIONS[-1]
    starts = "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED"
    assert _types(newest / "order-hist-split.json").count(starts) == 2
    assert _types(newest / "order-hist-rerouted.json").count(starts) == 2
    assert (
        _types(newest / "ful-hist-rerouted-1.json")[-1] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
    )
    moved = _types(newest / "ful-hist-moved-1.json")
    # move, then the scans and the pack: every Update of the shipment completed
    assert moved.count("EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED") >= 3


def test_the_newest_histories_cover_tags_holds_and_slas() -> None:
    """A tagged order (packaging check, pack re-scan), a hold on the floor, a stuck order."""
    newest = GENERATIONS[-1]
    hold = _types(newest / "order-hist-floorhold.json")
    # set_hold(True) and set_hold(False) reach the shipment being picked
    assert hold.count("EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED") >= 2
    stuck = _types(newest / "order-hist-stuck.json")
    assert "EVENT_TYPE_TIMER_FIRED" in stuck  # the pick SLA
    assert stuck.count("EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES") >= 2  # Stuck on, off
    tagged = _types(newest / "ful-hist-tagged-1.json")
    # pick scan, pack re-scan, packaging check, pack
    assert tagged.count("EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED") >= 4


def _activities(path: Path) -> list[str]:
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in load(path).events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


def test_the_newest_histories_cover_the_write_back() -> None:
    """Generation 10 (since v10): a hold and its release, a fulfillment and its three
    milestones, a refused fulfillment, a cancellation, written back to Shopify."""
    newest = GENERATIONS[-1]
    assert _activities(newest / "order-hist-writeback.json").count("write_back") == 2
    assert _activities(newest / "ful-hist-writeback-1.json").count("write_back") == 4
    refused = _types(newest / "ful-hist-wbrefused-1.json")
    assert "EVENT_TYPE_ACTIVITY_TASK_FAILED" in refused  # the user error, not retried
    assert _activities(newest / "order-hist-wbcancelled.json").count("write_back") == 1
    # Shopify's address change before picking: the shipment routed again and moved.
    assert "reroute_shipment" in _activities(newest / "ful-hist-readdressed-1.json")


def test_the_newest_histories_cover_the_standing_workflows() -> None:
    """Channel sync (a failed push retried, then caught up), the low-stock watch and a
    run of the outbox prune."""
    newest = GENERATIONS[-1]
    sync = _types(newest / "channel-sync-hist-pos.json")
    assert sync.count("EVENT_TYPE_ACTIVITY_TASK_COMPLETED") >= 2  # read a batch, pushed it
    watch = _types(newest / "low-stock-watch.json")
    assert "EVENT_TYPE_ACTIVITY_TASK_COMPLETED" in watch
    prune = _types(newest / "outbox-prune-hist.json")  # a run of the outbox-prune Schedule
    assert "EVENT_TYPE_ACTIVITY_TASK_COMPLETED" in prune
    assert prune[-1] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"


@workflow.defn(name="OrderWorkflow")
class _OrderWorkflowThatSkipsCapture(OrderWorkflow):
    """Today's workflow minus one step: what an unguarded edit to ``run`` looks like."""

    @workflow.run
    async def run(self, order: OrderInput) -> OrderState:
        await self._verify()
        # no payments.confirm(): the capture activity the history has is never scheduled
        await self.allocation.allocate()
        await self.shipments.fulfil()
        return self.details()


async def test_an_unguarded_change_is_caught() -> None:
    """The harness has teeth: a command-altering edit fails replay of the happy order."""
    replayer = Replayer(
        workflows=[_OrderWorkflowThatSkipsCapture, FulfillmentWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(load(GENERATIONS[-1] / "order-hist-happy.json"))


def _patch_markers(path: Path) -> set[str]:
    found = set()
    for e in load(path).events:
        if e.HasField("marker_recorded_event_attributes"):
            a = e.marker_recorded_event_attributes
            if a.marker_name == "core_patch":
                data = pydantic_data_converter.payload_converter.from_payload(
                    a.details["patch-data"].payloads[0]
                )
                found.add(data["id"])
    return found


def test_every_registered_patch_is_in_a_committed_history() -> None:
    """The register (workflows/patches.py) says which generation first recorded each patch:
    that generation's histories carry its marker, so replay proves both of its branches.
    From generation 8 on one generation marker stands for them all."""
    by_generation = {
        g.name: set().union(*map(_patch_markers, g.glob("*.json"))) for g in GENERATIONS
    }
    for patch in patches.REGISTER:
        generation = f"v{patch.since}"
        if patch.since < patches.FLOOR_GENERATION:
            wanted = patch.id
        else:  # generation 8 on: the generation's own marker stands for its patches
            wanted = {
                8: patches.GENERATION_8.id,
                9: patches.GENERATION_9.id,
                10: patches.GENERATION_10.id,
            }[patch.since]
        assert wanted in by_generation[generation], (patch.id, generation)
    # A new order records the generation marker and no other.
    assert _patch_markers(HISTORIES / "v8" / "order-hist-happy.json") == {patches.GENERATION_8.id}
    assert _patch_markers(HISTORIES / "v8" / "ful-hist-happy-1.json") == set()
    assert _patch_markers(HISTORIES / "v9" / "order-hist-happy.json") == {patches.GENERATION_9.id}
    assert _patch_markers(HISTORIES / "v9" / "ful-hist-happy-1.json") == set()
    assert _patch_markers(HISTORIES / "v10" / "order-hist-happy.json") == {patches.GENERATION_10.id}
    assert _patch_markers(HISTORIES / "v10" / "ful-hist-happy-1.json") == set()
