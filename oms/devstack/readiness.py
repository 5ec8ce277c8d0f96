"""Waiting for a child to be ready (Temporal accepting connections, a port listening, the
API's ``/readyz``), failing early when a child died meanwhile (``ensure_alive`` raises)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from oms.devstack.errors import StackError
from oms.settings import Settings
from oms.temporal import connect

#: Budget for each startup step; the whole stack is normally ready in a few seconds.
TEMPORAL_START_TIMEOUT = 60.0
API_READY_TIMEOUT = 90.0
MAIL_SINK_READY_TIMEOUT = 30.0


async def wait_for_temporal(
    settings: Settings, ensure_alive: Callable[[], None], directory: Path
) -> None:
    deadline = time.monotonic() + TEMPORAL_START_TIMEOUT
    while True:
        ensure_alive()
        try:
            await asyncio.wait_for(connect(settings), timeout=2)
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise StackError(
                    f"Temporal did not accept connections within {TEMPORAL_START_TIMEOUT:.0f}s"
                    f" ({exc}); see {directory / 'temporal.log'}"
                ) from exc
        await asyncio.sleep(0.2)


def wait_for_port(name: str, host: str, port: int, ensure_alive: Callable[[], None]) -> None:
    deadline = time.monotonic() + MAIL_SINK_READY_TIMEOUT
    while time.monotonic() < deadline:
        ensure_alive()
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        time.sleep(0.1)
    raise StackError(
        f"{name} did not listen on {host}:{port} within {MAIL_SINK_READY_TIMEOUT:.0f}s"
    )


def wait_for_api(api_url: str, ensure_alive: Callable[[], None], directory: Path) -> None:
    deadline = time.monotonic() + API_READY_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        ensure_alive()
        try:
            with urllib.request.urlopen(f"{api_url}/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (OSError, urllib.error.URLError) as exc:
            last = str(exc)
        time.sleep(0.2)
    raise StackError(
        f"API not ready within {API_READY_TIMEOUT:.0f}s ({last}); "
        f"see {directory / 'api.log'} and {directory / 'worker.log'}"
    )
