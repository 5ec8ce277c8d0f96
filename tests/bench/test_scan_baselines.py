"""The scan bench's second baseline (bare Update + one INSERT) and its saturation phase:
the plans, the ratios, the table's targets and the headline, from given samples."""

from __future__ import annotations

import json
import math

import psycopg
import pytest

from bench.bare import BareScanResult
from bench.procstat import MACHINE_BUSY, OTHER
from bench.report import Machine
from bench.scan_baselines import AUDIT_INSERT, AuditLog, audit_row
from bench.scan_phases import PHASES, Phase, Round, phase_order, ratio, saturation_plan, scan_plan
from bench.scan_report import AUDITED_P99_TARGET, SATURATION_TARGET, ScanReport
from bench.scans import build_parser
from bench.workload import BenchFailure
from store.db import libpq_url
from store.tables import ScanEvent
from tests.conftest import scratch_database


def _phase(name: str, seconds: list[float], elapsed: float | None = None, k: int = 3) -> Phase:
    phase = Phase(name, elapsed=float(len(seconds)) if elapsed is None else elapsed)
    for i, s in enumerate(seconds):
        phase.add(i % k + 1, k, s)
    return phase


def _report(
    real: float = 0.026,
    bare: float = 0.010,
    audited: float = 0.020,
    real_rate: float = 70.0,
    audited_rate: float = 100.0,
) -> ScanReport:
    """100 scans per paced phase, all of the given latency; saturation over 10 s."""
    return ScanReport(
        command="python -m bench.scans",
        started_at="2026-12-02 20:00 UTC",
        machine=Machine(2, "1 GiB", "cpu", "3.11", "temporal", "1.0"),
        settings={"S (scanners)": "100", "K (scans per scanner)": "20"},
        real=_phase("real", [real] * 100),
        bare=_phase("bare", [bare] * 100),
        cpu={},
        audited=_phase("bare+insert", [audited] * 100),
        saturated_real=_phase("real saturated", [0.5] * int(real_rate * 10), elapsed=10.0),
        saturated_audited=_phase(
            "bare+insert saturated", [0.3] * int(audited_rate * 10), elapsed=10.0
        ),
        saturation=4.0,
        rounds=[Round(1, "bare, bare+insert, real", real, bare, audited)],
    )


def _row(report: ScanReport, label: str) -> tuple[str, ...]:
    return next(r for r in report.rows() if r[0].startswith(label))


# --- plans -----------------------------------------------------------------------------------


def test_phases_take_turns_going_first() -> None:
    orders = [phase_order(n) for n in range(1, 4)]
    assert orders[0] == PHASES == ("bare", "bare+insert", "real")
    assert [o[0] for o in orders] == ["bare", "real", "bare+insert"]  # each first once
    assert all(sorted(o) == sorted(PHASES) for o in orders)
    assert phase_order(4) == phase_order(1)


@pytest.mark.parametrize("k", [1, 2, 20])
def test_saturation_scans_the_rest_of_the_second_shipment_once(k: int) -> None:
    for scanner in range(100):
        warm, measured = scan_plan(scanner, k, "steady")
        rest = saturation_plan(scanner, k, "steady")
        assert 1 <= len(rest) <= k  # something left for every scanner
        second = [s for s in warm + measured + rest if s[0] == 1]
        assert second == [(1, n) for n in range(1, k + 1)]  # in order, each unit once
        assert all(s[0] == 1 for s in rest)
    assert saturation_plan(0, 5, "herd") == []


def test_the_saturation_option() -> None:
    assert build_parser().parse_args([]).saturation == 4.0
    assert build_parser().parse_args(["--saturation", "0", "--no-record"]).saturation == 0.0


# --- the audit row -----------------------------------------------------------------------------


def test_the_audit_row_fills_every_column_a_scan_fills() -> None:
    row = audit_row("scans-audit-7-3", "s4", BareScanResult(picked=4, remaining=16))
    # What the database fills itself: the id, the time, the order's template (a trigger,
    # migration 0014) — a real scan's INSERT does not name them either.
    columns = {c.name for c in ScanEvent.__table__.columns} - {"id", "created_at", "template"}
    assert set(row) == columns
    for column in columns:
        assert f"%({column})s" in AUDIT_INSERT
    assert row["scan_id"] == "s4" and row["accepted"] is True and row["quantity"] == 1
    stored = row["response"].obj
    assert stored["status_code"] == 200
    assert stored["body"] | {"picked": 4, "remaining": 16} == stored["body"]


async def test_the_audit_log_inserts_one_row_per_scan(database_url: str) -> None:
    with scratch_database(database_url, "oms_bench_audit") as url:
        async with AuditLog.open(url, size=2) as audit:
            await audit.record("wf-1", "s1", BareScanResult(picked=1, remaining=2))
            await audit.record("wf-1", "s2", BareScanResult(picked=2, remaining=1))
            with pytest.raises(BenchFailure, match="recorded before"):
                await audit.record("wf-1", "s2", BareScanResult(picked=2, remaining=1))
        with psycopg.connect(libpq_url(url)) as conn:
            rows = conn.execute(
                "SELECT id, scan_id, response -> 'body' ->> 'picked' FROM bench_scan_audit"
                " ORDER BY id"
            ).fetchall()
            scan_events = conn.execute("SELECT count(*) FROM scan_events").fetchone()
        assert [r[1:] for r in rows] == [("s1", "1"), ("s2", "2")]
        assert scan_events == (0,)  # the real side's table is left alone


# --- ratios, table and headline ----------------------------------------------------------------


def test_ratio_is_nan_without_a_baseline() -> None:
    assert ratio(0.03, 0.02) == pytest.approx(1.5)
    assert math.isnan(ratio(0.03, 0.0))
    assert math.isnan(ratio(math.nan, 0.02))
    assert math.isnan(ratio(0.03, math.nan))


def test_targets_met() -> None:
    report = _report()  # 26 ms vs 20 ms = 1.3; 70 / 100 = 0.7
    assert report.audited_ratio == pytest.approx(1.3)
    assert report.saturation_ratio == pytest.approx(0.7)
    p99 = _row(report, "scan p99 / baseline p99")
    assert p99[2] == "2.60 (target <= 1.5: MISSED)"
    assert p99[3] == f"1.30 (target <= {AUDITED_P99_TARGET}: met)"
    sat = _row(report, "saturation scans/s")
    assert (sat[1], sat[3]) == ("70.0", "100.0")
    assert sat[4] == f"real / bare+insert 0.70 (target >= {SATURATION_TARGET}: met)"
    markdown = report.markdown()
    assert "| bare Update + INSERT |" in markdown
    assert "1.30 (target <= 1.3: met)" in markdown and "(target >= 0.6: met)" in markdown


def test_targets_missed() -> None:
    report = _report(real=0.030, audited_rate=200.0)
    assert "1.50 (target <= 1.3: MISSED)" in _row(report, "scan p99 / baseline p99")[3]
    assert "0.35 (target >= 0.6: MISSED)" in _row(report, "saturation scans/s")[4]
    assert report.headline()["targets_met"] is False


def test_headline() -> None:
    headline = _report().headline()
    assert headline["bench"] == "scans"
    assert headline["started_at"] == "2026-12-02 20:00 UTC"
    assert headline["scanners"] == 100
    assert headline["p99_ratio_vs_update"] == 2.6
    assert headline["p99_ratio_vs_update_insert"] == 1.3
    assert headline["saturation_ratio"] == 0.7
    assert headline["targets_met"] is True
    assert (headline["real_p99_ms"], headline["update_p99_ms"]) == (26.0, 10.0)
    assert headline["update_insert_p99_ms"] == 20.0
    assert headline["saturation_real_scans_per_s"] == 70.0
    assert headline["saturation_update_insert_scans_per_s"] == 100.0
    assert headline["failures"] == 0
    json.loads(json.dumps(headline, allow_nan=False))


def test_headline_without_saturation_is_valid_json() -> None:
    report = _report()
    report.saturated_real, report.saturated_audited = Phase("a"), Phase("b")
    report.saturation = 0.0
    headline = report.headline()
    assert headline["saturation_ratio"] is None and headline["targets_met"] is False
    assert all(not r[0].startswith("saturation") for r in report.rows())
    json.loads(json.dumps(headline, allow_nan=False))  # no NaN in the JSON line


def test_failures_of_every_phase_count() -> None:
    report = _report()
    report.audited.failures.append("audit: boom")
    report.saturated_real.failures.append("scan: HTTP 500")
    assert report.failure_list() == ["audit: boom", "scan: HTTP 500"]
    assert report.headline()["failures"] == 2


def test_stack_cpu_per_scan_leaves_the_rest_of_the_machine_out() -> None:
    report = _report()  # 700 real and 1000 bare+insert saturated scans
    report.cpu = {
        "real saturated": {
            "oms api (uvicorn)": 7.0,
            "temporal dev server": 7.0,
            MACHINE_BUSY: 30.0,
            OTHER: 16.0,
        },
        "bare+insert saturated": {"bench (driver + bare worker)": 5.0, "temporal dev server": 5.0},
    }
    assert report.stack_cpu("real saturated") == pytest.approx(0.020)
    assert report.stack_cpu("bare+insert saturated") == pytest.approx(0.010)
    assert math.isnan(report.stack_cpu("real"))  # not measured
    row = _row(report, "saturation: stack CPU per scan (ms)")
    assert (row[1], row[3]) == ("20.0", "10.0") and row[4].startswith("bare+insert / real 0.50")
    headline = report.headline()
    assert headline["saturation_stack_cpu_ms_per_scan_real"] == 20.0
    assert headline["saturation_stack_cpu_ms_per_scan_update_insert"] == 10.0
    assert "| real saturated |" in "\n".join(report.breakdown())
