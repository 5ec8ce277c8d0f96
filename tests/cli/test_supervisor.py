"""``oms dev``'s supervision pass: a child that keeps dying is restarted with a growing
backoff and every death and restart is printed; stopping ends it for good."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from oms.devstack import DevStack, restart_delay
from oms.settings import Settings


def test_restart_delay_doubles_to_a_cap() -> None:
    assert [restart_delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert restart_delay(50) == 30.0


def test_a_crashing_child_is_restarted_with_backoff_and_printed(tmp_path: Path) -> None:
    lines: list[str] = []
    stack = DevStack(Settings(), out=lines.append, directory=tmp_path)
    crash = [sys.executable, "-c", "import sys; sys.exit(3)"]
    stack._spawn("flaky", crash, tmp_path / "flaky.log")
    restarted: list[float] = []
    started = time.monotonic()
    try:
        while len(restarted) < 3 and time.monotonic() - started < 30:
            if stack.supervise():
                restarted.append(time.monotonic() - started)
            time.sleep(0.05)
    finally:
        stack.stop()
    assert len(restarted) == 3
    deaths = [line for line in lines if "died" in line]
    assert all("flaky" in d and "(exit 3)" in d for d in deaths)
    # Each death in a row waits twice as long as the one before.
    assert [d.split("restarting in ")[1].split("s")[0] for d in deaths[:3]] == ["0.5", "1.0", "2.0"]
    assert sum("restarted (pid" in line for line in lines) == 3
    assert any("restart #3" in line for line in lines)
    assert stack.children == []  # stopped, and not restarted after
