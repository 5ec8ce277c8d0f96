"""deploy/: the Prometheus rules and config are valid and the alerts fire when they should."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import missing_tool

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def _promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        missing_tool("promtool", "prometheus")
    return found


def _run(*args: str) -> None:
    done = subprocess.run([_promtool(), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_alert_rules_are_valid() -> None:
    _run("check", "rules", str(PROMETHEUS / "alerts.yml"))


def test_alert_rules_fire_as_intended() -> None:
    _run("test", "rules", str(PROMETHEUS / "alerts_test.yml"))


def test_scrape_config_is_valid(tmp_path: Path) -> None:
    # prometheus.yml names the rules at their in-container path; check it against a copy.
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path / "alerts.yml")
    config = (PROMETHEUS / "prometheus.yml").read_text()
    config = config.replace("/etc/prometheus/alerts.yml", str(tmp_path / "alerts.yml"))
    (tmp_path / "prometheus.yml").write_text(config)
    _run("check", "config", str(tmp_path / "prometheus.yml"))
