"""The scan bench reads the API's ``Server-Timing`` header as the API writes it."""

from __future__ import annotations

import time

import pytest

from api.metrics import StageTimer
from bench.scan_handhelds import server_timing


def test_the_bench_reads_what_the_api_writes() -> None:
    timer = StageTimer()
    time.sleep(0.002)
    timer.done("read")
    timer.skip()
    time.sleep(0.004)
    timer.done("update")

    parsed = server_timing(timer.header())

    assert list(parsed) == ["read", "update"]
    assert parsed == pytest.approx(timer.spent, abs=1e-5)  # ms with 2 decimals → seconds
    assert parsed["update"] >= 0.004


@pytest.mark.parametrize("header", ["", "read", "read;desc=x", " , "])
def test_headers_without_durations_give_no_stages(header: str) -> None:
    assert server_timing(header) == {}
