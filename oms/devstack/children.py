"""The stack's child processes: how one is started (own process group, log file, killed
with ``oms dev``), stopped (SIGTERM, then SIGKILL) and restarted with a backoff."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

#: How long a child gets to drain after SIGTERM before it is killed. Above the worker's
#: ``OMS_WORKER_GRACEFUL_SECONDS`` and uvicorn's graceful timeout, so both finish first.
STOP_TIMEOUT = 15.0
#: Restart backoff of a supervised child: first delay, doubling to the cap. A child that
#: ran at least ``HEALTHY_RUN`` seconds before dying starts again from the first delay.
RESTART_FIRST_DELAY = 0.5
RESTART_MAX_DELAY = 30.0
HEALTHY_RUN = 30.0


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _death_signal_setter() -> Callable[[], None] | None:
    """A pre-exec hook giving the child SIGTERM if ``oms dev`` dies without cleaning up.

    Children run in their own process group (so a terminal's Ctrl-C reaches only
    ``oms dev``, which stops them in order); this keeps them from outliving a killed parent.
    libc is resolved here, in the parent: the hook runs between fork and exec, where
    loading a library could deadlock on a lock another thread held at fork time.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig, sigterm = 1, int(signal.SIGTERM)

    def hook() -> None:
        prctl(pr_set_pdeathsig, sigterm)

    return hook


def restart_delay(failures: int) -> float:
    """Seconds before restart number ``failures`` (1-based) of a child that keeps dying."""
    return float(min(RESTART_MAX_DELAY, RESTART_FIRST_DELAY * 2 ** max(0, failures - 1)))


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes] = field(repr=False)
    #: How to start it again (supervision); empty: never restarted.
    cmd: list[str] = field(default_factory=list)
    env: dict[str, str] | None = field(default=None, repr=False)
    started_at: float = field(default_factory=time.monotonic)
    #: Restarts so far, and deaths in a row without a healthy run in between.
    restarts: int = 0
    failures: int = 0
    #: When a dead child is due to start again (monotonic), None while it runs.
    restart_at: float | None = None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def stop(self, timeout: float = STOP_TIMEOUT) -> str:
        """SIGTERM, wait up to ``timeout``, then SIGKILL. Returns how it ended."""
        how = "had already exited"
        if self.alive():
            how = "stopped"
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                self.proc.wait()
                how = f"killed after {timeout:.0f}s"
        self.log_file.close()
        code = self.proc.returncode
        # uvicorn re-raises SIGTERM after a graceful shutdown, so -SIGTERM is a clean exit.
        if code not in (0, -signal.SIGTERM):
            how += f" (exit {code})"
        return how


def spawn_child(
    name: str, cmd: list[str], log_path: Path, env: dict[str, str] | None = None
) -> Child:
    """Start ``cmd`` in its own process group, appending its output to ``log_path``."""
    log_file = open(log_path, "ab")  # noqa: SIM115 (owned by the Child)
    log_file.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {name} start ---\n".encode())
    log_file.flush()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=os.getcwd(),
        process_group=0,
        preexec_fn=_death_signal_setter(),
    )
    return Child(name, proc, log_path, log_file, cmd=cmd, env=env)
