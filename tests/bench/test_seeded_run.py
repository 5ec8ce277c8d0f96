"""The seeded benches (dashboard, analytics) record a raw run and end with its headline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import scratch


def test_a_run_is_one_file_and_the_headline_the_last_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(scratch, "RUNS", tmp_path / "runs")
    path = scratch.record_seeded_run("analytics", "2 cores", [{"case": "x"}], {"ratio": 1.2})
    assert path.parent == tmp_path / "runs" and path.name.startswith("analytics-")
    saved = json.loads(path.read_text())
    assert saved["machine"] == "2 cores" and saved["results"] == [{"case": "x"}]
    assert saved["headline"] == {"ratio": 1.2}
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"ratio": 1.2}
