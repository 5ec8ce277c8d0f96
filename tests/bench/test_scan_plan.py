"""The scan bench's plans: both phases must offer the same, complete work per scanner."""

from __future__ import annotations

import pytest

from bench.scan_phases import Pace, scan_plan


@pytest.mark.parametrize("k", [1, 2, 20])
def test_herd_scans_one_fresh_shipment(k: int) -> None:
    for scanner in range(50):
        warm, measured = scan_plan(scanner, k, "herd")
        assert warm == []
        assert measured == [(0, n) for n in range(1, k + 1)]


@pytest.mark.parametrize("k", [1, 2, 20])
def test_steady_finishes_the_first_shipment_and_starts_the_second(k: int) -> None:
    progress = set()
    for scanner in range(200):
        warm, measured = scan_plan(scanner, k, "steady")
        assert len(measured) == k  # every scanner makes exactly K measured scans
        done = len(warm)
        progress.add(done)
        # the first shipment is scanned unit by unit, in order, once, across both lists
        assert warm + [s for s in measured if s[0] == 0] == [(0, n) for n in range(1, k + 1)]
        assert [s for s in measured if s[0] == 1] == [(1, n) for n in range(1, done + 1)]
        assert scan_plan(scanner, k, "steady") == (warm, measured)  # same plan both phases
    assert progress == set(range(k))  # scanners are spread over every point of a shipment


def test_pace_is_per_scanner_and_bounded() -> None:
    pace = Pace(1.0)
    start, pauses = pace.schedule(7, 20)
    assert (start, pauses) == pace.schedule(7, 20)
    assert 0.0 <= start < 1.0
    assert len(pauses) == 20 and all(0.5 <= p <= 1.5 for p in pauses)
    assert pace.schedule(8, 20) != (start, pauses)
    assert Pace(0).schedule(7, 3) == (0.0, [0.0, 0.0, 0.0])
