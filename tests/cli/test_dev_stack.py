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


def _stop(proc: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGINT) -> None:
    proc.send_signal(sig)
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


def _processes_mentioning(marker: str, command: str = "") -> list[str]:
    """Processes whose command line or environment names ``marker`` (and whose command
    line contains ``command``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if (marker in cmdline or marker.encode() in environ) and command in cmdline:
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


def _wait_for_text(log: Path, text: str, offset: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text()[offset:]:
            return
        time.sleep(0.2)
    pytest.fail(f"{text!r} never appeared:\n{log.read_text()[offset:]}")


async def _one_order(api: str, key: str) -> str:
    """One demo order driven to delivered through the API, as a packer and a carrier would."""
    import httpx

    from bench.real_workload import Keys, RealWorkload
    from bench.workload import PhaseResult

    headers = {"Authorization": f"Bearer {key}"}
    staff = {code: headers for code in ("WH-PDX", "WH-NJ", "WH-DAL")}
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        workload = RealWorkload(
            http,
            Keys(admin=headers, integration=headers, staff=staff),
            shopify_secret="dev-stack-shopify",
            carrier_secret="dev-stack-carrier",
            run_id=str(int(time.time())),
        )
        result = PhaseResult("one", 1, 1)
        try:
            await workload.one(result)
        finally:
            await workload.shipments.close()
            await workload.delivered.close()
        return result.example_ids[0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_dev_stack_restarts_a_killed_worker_and_stops_on_sigterm(tmp_path: Path) -> None:
    """kill -9 of the worker: the stack restarts it and prints so; an order taken in
    while it was dead is delivered; SIGTERM then stops every process of the stack."""
    import asyncio

    data_dir = tmp_path / "oms-data"
    api_port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OMS_", "TEMPORAL_"))},
        "OMS_DATA_DIR": str(data_dir),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{_free_port()}",
        "OMS_API_PORT": str(api_port),
        "OMS_TEMPORAL_UI_PORT": str(_free_port()),
        "OMS_DEV_SMTP_PORT": str(_free_port()),
        "OMS_SANDBOX_ROAD": "off",  # the test posts the carrier's events itself
        "OMS_SANDBOX_FAILURE_RATE": "0",
        "OMS_SHOPIFY_WEBHOOK_SECRET": "dev-stack-shopify",
        "OMS_CARRIER_WEBHOOK_SECRET": "dev-stack-carrier",
    }
    log = tmp_path / "dev.log"
    api = f"http://127.0.0.1:{api_port}"
    proc = _start(env, log)
    try:
        key = (data_dir / "admin.key").read_text().strip()
        workers = _processes_mentioning(str(data_dir), "oms.cli worker")
        assert len(workers) == 1, workers
        offset = len(log.read_text())
        os.kill(int(workers[0].split(":")[0]), signal.SIGKILL)
        _wait_for_text(log, "worker        died (killed by SIGKILL)", offset)
        # The order arrives while the worker is dead or just restarting.
        order_id = asyncio.run(_one_order(api, key))
        _wait_for_text(log, "worker        restarted (pid", offset)
        assert proc.poll() is None, "the stack went down with its worker"
        status, order = _get(f"{api}/api/v1/orders/{order_id}", key)
        assert status == 200 and order["status"] == "delivered"  # type: ignore[index]
        assert len(_processes_mentioning(str(data_dir), "oms.cli worker")) == 1
    finally:
        _stop(proc, signal.SIGTERM)
    assert _processes_mentioning(str(data_dir)) == []
    tail = log.read_text()
    assert "stopping ..." in tail and "postgres      stopped" in tail
