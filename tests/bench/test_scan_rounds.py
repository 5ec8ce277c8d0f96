"""The scan bench's rounds: pooled percentiles and each round's own ratio in the report."""

from __future__ import annotations

from bench.report import Machine
from bench.scan_phases import Phase, Round
from bench.scan_report import ScanReport


def _phase(name: str, seconds: list[float], k: int = 3) -> Phase:
    phase = Phase(name, elapsed=float(len(seconds)))
    for i, s in enumerate(seconds):
        phase.add(i % k + 1, k, s)
    phase.add_stages({"update": seconds[0]})
    return phase


def test_extend_pools_samples_stages_time_and_failures() -> None:
    pooled = _phase("real", [0.010] * 99)
    slow = _phase("real", [0.200] * 99)
    slow.failures.append("scanner 3: HTTP 500")
    pooled.extend(slow)
    assert pooled.count == 198
    assert pooled.elapsed == 198.0
    # the slow round's scans are half of the pool: its p99 is the slow round's
    assert pooled.p(99) == 0.200 and pooled.p(25) == 0.010
    assert pooled.stages["update"] == [0.010, 0.200]
    assert pooled.failures == ["scanner 3: HTTP 500"]
    assert len(pooled.samples["first"]) == 66


def test_report_shows_every_round_and_the_spread() -> None:
    real, bare = _phase("real", [0.030] * 100), _phase("bare", [0.010] * 100)
    report = ScanReport(
        command="python -m bench.scans",
        started_at="now",
        machine=Machine(2, "1 GiB", "cpu", "3.11", "temporal", "1.0"),
        settings={"S (scanners)": "1", "K (scans per scanner)": "3"},
        real=real,
        bare=bare,
        cpu={},
        rounds=[
            Round(1, "bare, bare+insert, real", 0.030, 0.010, 0.020),
            Round(2, "real, bare, bare+insert", 0.060, 0.015, 0.040),
        ],
    )
    row = next(r for r in report.rows() if r[0] == "p99 by round (ms)")
    assert row[1] == "30.0 / 60.0" and row[2] == "10.0 / 15.0" and row[3] == "20.0 / 40.0"
    assert "3.00, 1.50 (bare, bare+insert, real)" in row[4]
    assert "4.00, 1.50 (real, bare, bare+insert)" in row[4]
    assert row[4].endswith("spread 3.00-4.00, 1.50-1.50")
    update = next(r for r in report.rows() if r[0] == "in the API: Update p50 / p99 (ms)")
    assert update[1] == "30.0 / 30.0" and update[4] == "Update p99 / bare_update_p99 3.00"
    assert "| p99 by round (ms) |" in report.markdown()
    single = ScanReport(**{**report.__dict__, "rounds": report.rounds[:1]})
    assert all(r[0] != "p99 by round (ms)" for r in single.rows())
