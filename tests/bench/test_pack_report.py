"""The pack bench's figures: the p99 ratio (pooled and by round), the pending share, the
outcome counts it reads from Postgres, and what it calls a failure."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest

from bench.pack_report import P99_TARGET, Outcome, PackReport, count_outcome
from bench.report import Machine
from bench.workload import PhaseResult
from store.db import create_engine, sessionmaker
from store.tables import SandboxOperation, ShipmentRow
from tests.conftest import scratch_database


def _phase(name: str, packs: list[float], pending: int = 0) -> PhaseResult:
    result = PhaseResult(name, len(packs), 4)
    for i, seconds in enumerate(packs):
        result.add("pack", seconds)
        result.add("pack_202" if i < pending else "pack_200", seconds)
        result.add("label", seconds + 1.0)
    result.completed = len(packs)
    return result


def _report(well: list[list[float]], failing: list[list[float]]) -> PackReport:
    return PackReport(
        command="python -m bench.pack",
        started_at="2026-12-03 04:00 UTC",
        machine=Machine(2, "1 GiB", "cpu", "3.11", "temporal", "1.0"),
        settings={"shipments per phase (N)": "100"},
        phases={
            "well": [_phase("well", p) for p in well],
            "failing": [_phase("failing", p, pending=30) for p in failing],
        },
        outcomes={"well": Outcome(100, 100, 0, 0), "failing": Outcome(100, 100, 0, 41)},
    )


def test_the_ratio_pools_every_round_and_is_reported_by_round_too() -> None:
    report = _report(well=[[0.1] * 100, [0.2] * 100], failing=[[0.15] * 100, [0.2] * 100])
    assert report.ratio == pytest.approx(1.0)  # pooled p99: 0.2 / 0.2
    assert report.round_ratios() == pytest.approx([1.5, 1.0])
    assert report.pending_share("failing") == pytest.approx(0.3)
    assert report.pending_share("well") == 0


def test_the_headline_is_one_json_object_with_the_target_and_the_counts() -> None:
    report = _report(well=[[0.1] * 100], failing=[[0.12] * 99 + [0.3]])
    headline = json.loads(json.dumps(report.headline()))
    assert headline["pack_p99_ratio"] == pytest.approx(1.2)  # p99 of 100 is the 99th: 0.12
    assert headline["pack_p99_ratio_target"] == P99_TARGET
    assert headline["failed_label_attempts"] == 41
    assert headline["labels_bought"] == headline["shipments"] == 200
    assert "ratio 1.20 (target <= 1.5: met)" in report.table()
    assert report.failure_list() == []


def test_a_label_bought_twice_or_missing_fails_the_run() -> None:
    report = _report(well=[[0.1] * 10], failing=[[0.1] * 10])
    report.outcomes["failing"] = Outcome(shipments=10, labels_bought=10, bought_twice=1)
    report.outcomes["well"] = Outcome(shipments=10, labels_bought=8)
    failures = report.failure_list()
    assert "failing: 1 shipments had a label bought twice" in failures
    assert "well: 2 shipments without a label" in failures


def test_no_samples_is_nan_not_a_crash() -> None:
    report = _report(well=[], failing=[])
    assert math.isnan(report.ratio)
    assert report.headline()["pack_p99_ratio"] is None


async def test_the_outcome_counts_the_carriers_remembered_purchases(database_url: str) -> None:
    now = datetime.now(UTC)
    with scratch_database(database_url, "oms_bench_pack") as url:
        engine = create_engine(url, pool_size=1)
        try:
            async with sessionmaker(engine)() as session, session.begin():
                for sid, attempts in (("o1-1", 0), ("o2-1", 2), ("o3-1", 0), ("o4-1", 0)):
                    session.add(
                        ShipmentRow(
                            shipment_id=sid,
                            order_id=sid[:2],
                            version=1,
                            warehouse="PDX",
                            status="packed",
                            lines=[],
                            updated_at=now,
                            label_attempts=attempts,
                        )
                    )
                bought = ["label-o1-1", "label-o2-1", "label-o2-1-2", "label-o4-1"]
                for key in bought:
                    session.add(
                        SandboxOperation(
                            idempotency_key=key, service="carrier", kind="label", result={}
                        )
                    )
                # a void, a payment and another shipment's label are not o1-1's purchases
                session.add(
                    SandboxOperation(
                        idempotency_key="void-label-o1-1", service="carrier", kind="void", result={}
                    )
                )
                session.add(
                    SandboxOperation(
                        idempotency_key="label-o1-10", service="carrier", kind="label", result={}
                    )
                )
            outcome = await count_outcome(url, ["o1-1", "o2-1", "o3-1", "o4-1"])
        finally:
            await engine.dispose()
    assert outcome == Outcome(shipments=4, labels_bought=4, bought_twice=1, failed_attempts=2)
