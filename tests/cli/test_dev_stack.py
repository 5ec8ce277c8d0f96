"""``oms dev`` end to end: starts, serves, stops every process on SIGINT, resumes.

Slow-ish (a few seconds per start) but the only proof that the embedded stack works as a
developer uses it. Needs free ports; it picks its own so it can run beside other stacks.
"""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.request
from email.message import EmailMessage
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    offset = log.stat().st_size if log.exists() else 0
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "oms.cli", "dev"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = log.read_text()[offset:]
        if "ready in" in text:
            return proc
        if proc.poll() is not None or "error:" in text:
            break
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"oms dev did not become ready:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0


def _get(url: str, key: str | None = None) -> tuple[int, object]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, json.loads(resp.read())


def _mail_the_sink(port: int, message_id: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@shop.example", "b@example.com", "hi"
    message["Message-ID"] = message_id
    message["X-OMS-Milestone"] = "confirmed"
    message.set_content("hello")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


def _processes_mentioning(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in cmdline or marker.encode() in environ:
            found.append(f"{entry.name}: {cmdline}")
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_dev_stack_starts_stops_cleanly_and_resumes(tmp_path: Path) -> None:
    data_dir = tmp_path / "oms-data"
    api_port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OMS_", "TEMPORAL_"))},
        "OMS_DATA_DIR": str(data_dir),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{_free_port()}",
        "OMS_API_PORT": str(api_port),
        "OMS_TEMPORAL_UI_PORT": str(_free_port()),
        "OMS_DEV_SMTP_PORT": str(smtp_port := _free_port()),
    }
    log = tmp_path / "dev.log"
    api = f"http://127.0.0.1:{api_port}"

    proc = _start(env, log)
    try:
        assert _get(f"{api}/readyz")[0] == 200
        key = (data_dir / "admin.key").read_text().strip()
        assert (data_dir / "admin.key").stat().st_mode & 0o777 == 0o600
        assert key in log.read_text()
        assert "road          sandbox carrier at 60x" in log.read_text()
        status, warehouses = _get(f"{api}/api/v1/warehouses", key)
        assert status == 200
        assert {"WH-PDX", "WH-NJ", "WH-DAL"} <= {w["code"] for w in warehouses}  # type: ignore[attr-defined,index]
        # The SMTP sink runs as the default mail server; what it catches, the API shows.
        _mail_the_sink(smtp_port, "<dev-stack-test@shop.example>")
        status, mails = _get(f"{api}/dev/mailbox.json", key)
        assert status == 200
        assert "<dev-stack-test@shop.example>" in {m["message_id"] for m in mails}  # type: ignore[attr-defined,index]
    finally:
        _stop(proc)
    assert _processes_mentioning(str(data_dir)) == []

    proc = _start(env, log)
    try:
        assert log.read_text().count("admin key     reused") == 1
        assert _get(f"{api}/readyz")[0] == 200
        assert _get(f"{api}/api/v1/warehouses", key)[0] == 200  # same key, same database
    finally:
        _stop(proc)
    assert _processes_mentioning(str(data_dir)) == []
