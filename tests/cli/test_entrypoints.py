"""The image's entry points run as plain commands: ``oms migrate``, ``oms worker`` and
``oms api`` — what deploy/Dockerfile, compose and the Kubernetes manifests start — against
a scratch database and a Temporal server of their own, and each stops cleanly on SIGTERM
(the orchestrator's stop; docs/decisions/0012)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from oms.temporal import SQLITE_PRAGMAS, search_attribute_args
from tests.conftest import venv_binary

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def own_temporal() -> AsyncIterator[str]:
    """A Temporal dev server of this test's own: the worker starts its standing workflows,
    which must not meet the session's."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"),
        dev_server_extra_args=[*search_attribute_args(), *SQLITE_PRAGMAS],
    )
    try:
        yield env.client.service_client.config.target_host
    finally:
        await env.shutdown()


def _oms(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "oms.cli", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.3)
    pytest.fail(f"{url} never answered:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(30)


async def test_migrate_worker_and_api_run_as_plain_commands(
    cli_database_url: str, own_temporal: str, tmp_path: Path
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OMS_", "TEMPORAL_"))},
        "OMS_DATABASE_URL": cli_database_url,
        "TEMPORAL_ADDRESS": own_temporal,
        "OMS_DATA_DIR": str(tmp_path / "data"),
        "OMS_TASK_QUEUE": "entrypoints",
        "OMS_SESSION_SECRET": "entrypoint-test",
    }
    log = tmp_path / "oms.log"

    migrate = subprocess.run(  # noqa: ASYNC221 (nothing else runs on this loop)
        [sys.executable, "-m", "oms.cli", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert "migrated to head" in migrate.stdout

    metrics = _free_port()
    worker = _oms(["worker"], {**env, "OMS_WORKER_METRICS_PORT": str(metrics)}, log)
    api_port = _free_port()
    api = _oms(["api", "--port", str(api_port)], env, log)
    try:
        _wait_http(f"http://127.0.0.1:{api_port}/readyz", api, log)
        _wait_http(f"http://127.0.0.1:{metrics}/metrics", worker, log)
        # uvicorn re-raises SIGTERM after its graceful shutdown: -15 is a clean stop too.
        assert _stop(api) in (0, -signal.SIGTERM), log.read_text()[-3000:]
        assert _stop(worker) == 0, log.read_text()[-3000:]
    finally:
        for proc in (api, worker):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = log.read_text()
    assert "worker polling entrypoints" in text
    assert "Waiting for application shutdown" in text or "Shutting down" in text
