"""``DevStack``: start the stack in order, watch it (restarting children that die), stop it
in reverse order. The pieces it puts together live beside it in ``oms.devstack``."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from oms.devstack.admin_key import ADMIN_KEY_FILE, ensure_admin_key
from oms.devstack.banner import redact_database_url, render_banner
from oms.devstack.children import HEALTHY_RUN, Child, port_free, restart_delay, spawn_child
from oms.devstack.commands import MAIL_SINK_HOST, oms_command, temporal_command, temporal_host
from oms.devstack.errors import StackError
from oms.devstack.postgres import data_dir, embedded_url, start_embedded_postgres
from oms.devstack.readiness import wait_for_api, wait_for_port, wait_for_temporal
from oms.settings import Settings


class _Stop(Exception):
    """Raised from the SIGINT, SIGTERM and SIGHUP handler to unwind ``run``."""


@dataclass
class DevStack:
    """Start, watch and stop the embedded stack. ``run()`` blocks until Ctrl-C/SIGTERM."""

    settings: Settings
    out: Callable[[str], None] = print
    children: list[Child] = field(default_factory=list)
    postgres: Any = None
    database_url: str = ""
    admin_key: str = ""
    directory: Path = field(default_factory=Path)
    _lock_file: IO[str] | None = None

    # -- lifecycle --

    def run(self) -> int:
        # SIGINT too, explicitly: a process started in the background by a shell without
        # job control inherits SIGINT ignored, and Python then never raises
        # KeyboardInterrupt; Ctrl-C (or a supervisor's SIGINT) must stop the stack anyway.
        previous = {
            sig: signal.signal(sig, self._on_signal)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        }
        try:
            started = time.monotonic()
            self.start()
            self.out(render_banner(self, time.monotonic() - started))
            return self._watch()
        except (KeyboardInterrupt, _Stop):
            self.out("\nstopping ...")
            return 0
        except StackError as exc:
            self.out(f"error: {exc}")
            return 1
        finally:
            # A second Ctrl-C must not abandon children half-stopped.
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: object) -> None:
        raise _Stop(signal.Signals(signum).name)

    def start(self) -> None:
        s = self.settings
        self.directory = data_dir(s)
        self._lock_data_dir()
        self._check_ports()

        if s.database_url:
            self.database_url = s.database_url
            redacted = redact_database_url(self.database_url)
            self._step("postgres", f"using OMS_DATABASE_URL ({redacted})")
        else:
            t = time.monotonic()
            self.postgres = start_embedded_postgres(s)
            self.database_url = embedded_url(self.postgres)
            self._step("postgres", f"embedded, {self.directory / 'pg'}", t)

        t = time.monotonic()
        from store.migrate import upgrade

        upgrade(self.database_url)
        self._step("migrations", "applied", t)

        t = time.monotonic()
        cmd = temporal_command(s, self.directory)
        self._spawn("temporal", cmd, self.directory / "temporal.log")
        asyncio.run(wait_for_temporal(s, self._ensure_alive, self.directory))
        self._step("temporal", f"dev server on {s.temporal_address}", t)

        t = time.monotonic()
        from oms.seed import seed

        result = asyncio.run(seed(self.database_url, s.api_base_url))
        self._step("seed", str(result), t)

        self.admin_key, created = ensure_admin_key(
            self.database_url, self.directory / ADMIN_KEY_FILE
        )
        self._step("admin key", "created" if created else "reused", None)

        t = time.monotonic()
        env = {
            **os.environ,
            "OMS_DATABASE_URL": self.database_url,
            "OMS_DATA_DIR": str(self.directory),
            "PYTHONUNBUFFERED": "1",
        }
        if self.runs_mail_sink:
            # Customer emails go to a local sink, shown at /dev/mailbox (ADR 0006).
            sink = self.mail_sink_url
            env.update({"OMS_SMTP_URL": sink, "OMS_DEV_SMTP_SINK": sink})
            port = str(s.dev_smtp_port)
            cmd = oms_command("mail-sink", "--host", MAIL_SINK_HOST, "--port", port)
            self._spawn("mail-sink", cmd, self.directory / "mail-sink.log", env)
            wait_for_port("mail-sink", MAIL_SINK_HOST, s.dev_smtp_port, self._ensure_alive)
            self._step("mail sink", f"{sink} (caught mail at {self.api_url}/dev/mailbox)", t)
            t = time.monotonic()
        self._spawn("worker", oms_command("worker"), self.directory / "worker.log", env)
        self._spawn("api", oms_command("api"), self.directory / "api.log", env)
        wait_for_api(self.api_url, self._ensure_alive, self.directory)
        self._step("worker + api", f"ready on {self.api_url}", t)
        if s.sandbox_road is not None:
            # The sandbox carrier posts tracking events for the labels it sold, as a real
            # carrier would; its own process, so the worker stays what production runs.
            self._spawn("road", oms_command("road"), self.directory / "road.log", env)
            self._step("road", f"sandbox carrier at {s.sandbox_road:g}x (road.log)", None)

    def stop(self) -> None:
        """Children in reverse start order, then Postgres. Safe to call twice."""
        while self.children:
            child = self.children.pop()
            self.out(f"  {child.name:<13} {child.stop()}")
        if self.postgres is not None:
            pgdata = Path(self.postgres.pgdata)
            self.postgres.cleanup()
            self.postgres = None
            # Another process (`oms keys create`, ...) may still hold the server; the last
            # one to exit stops it. A clean shutdown removes postmaster.pid.
            still_up = (pgdata / "postmaster.pid").exists()
            self.out(f"  {'postgres':<13} {'left to its other users' if still_up else 'stopped'}")
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    # -- steps --

    def _lock_data_dir(self) -> None:
        lock = open(self.directory / "dev.lock", "w")  # noqa: SIM115 (held for the run)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise StackError(
                f"another `oms dev` is running on {self.directory}; "
                "use another OMS_DATA_DIR (and ports) for a second stack"
            ) from None
        lock.write(str(os.getpid()))
        lock.flush()
        self._lock_file = lock

    @property
    def runs_mail_sink(self) -> bool:
        """The sink runs unless OMS_SMTP_URL names a real server."""
        return not self.settings.smtp_url

    @property
    def mail_sink_url(self) -> str:
        return f"smtp://{MAIL_SINK_HOST}:{self.settings.dev_smtp_port}"

    def _check_ports(self) -> None:
        s = self.settings
        host = temporal_host(s)
        wanted = [
            ("TEMPORAL_ADDRESS", host, s.temporal_port),
            ("OMS_TEMPORAL_UI_PORT", host, s.temporal_ui_port),
            ("OMS_API_PORT", s.api_host, s.api_port),
        ]
        if self.runs_mail_sink:
            wanted.append(("OMS_DEV_SMTP_PORT", MAIL_SINK_HOST, s.dev_smtp_port))
        busy = [f"{var}={h}:{p}" for var, h, p in wanted if not port_free(h, p)]
        if busy:
            raise StackError(
                "port(s) already in use: "
                + ", ".join(busy)
                + " — is another stack running? Set other ports to run side by side."
            )

    def _spawn(
        self,
        name: str,
        cmd: list[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        *,
        append: bool = True,
    ) -> Child:
        child = spawn_child(name, cmd, log_path, env)
        if append:
            self.children.append(child)
        return child

    def _ensure_alive(self) -> None:
        for child in self.children:
            if not child.alive():
                raise StackError(
                    f"{child.name} exited with {child.proc.returncode}; "
                    f"last lines of {child.log_path}:\n{child.tail()}"
                )

    @property
    def api_url(self) -> str:
        host = self.settings.api_host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{host}:{self.settings.api_port}"

    # -- supervision --

    def _watch(self) -> int:
        """Block until a signal, restarting children that die on their own."""
        while True:
            self.supervise()
            time.sleep(0.2)

    def supervise(self) -> list[str]:
        """One supervision pass: note children that died, restart those whose backoff is
        over. Non-blocking, so a caller with its own loop (the fault suite) can drive it.
        Returns the names of the children restarted in this pass."""
        restarted: list[str] = []
        now = time.monotonic()
        for index, child in enumerate(self.children):
            if child.alive():
                continue
            if child.restart_at is None:
                ran = now - child.started_at
                child.failures = 1 if ran >= HEALTHY_RUN else child.failures + 1
                delay = restart_delay(child.failures)
                child.restart_at = now + delay
                code = child.proc.returncode
                how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
                self.out(
                    f"  {child.name:<13} died ({how}) after {ran:.1f}s; restarting in "
                    f"{delay:.1f}s — last lines of {child.log_path}:\n{child.tail(8)}"
                )
            if child.restart_at <= now and child.cmd:
                self.children[index] = self._respawn(child)
                restarted.append(child.name)
        return restarted

    def restart_child(self, name: str, sig: signal.Signals = signal.SIGTERM) -> Child:
        """Stop ``name`` (SIGTERM: gracefully; SIGKILL: a crash) and start it again now.
        For the fault suite: a planned restart rather than a death the watcher finds."""
        index, child = next((i, c) for i, c in enumerate(self.children) if c.name == name)
        if sig == signal.SIGTERM:
            self.out(f"  {name:<13} restarting: {child.stop()}")
        else:
            with contextlib.suppress(ProcessLookupError):
                child.proc.send_signal(sig)
            child.proc.wait()
        fresh = self._respawn(child)
        self.children[index] = fresh
        return fresh

    def add_replica(self, name: str, like: str, env: dict[str, str] | None = None) -> Child:
        """Another process like the child ``like`` (same command and environment, plus
        ``env``), supervised as ``name``: more workers, or an API on another port."""
        model = next(c for c in self.children if c.name == like)
        child = self._spawn(
            name, model.cmd, self.directory / f"{name}.log", {**(model.env or {}), **(env or {})}
        )
        self.out(f"  {name:<13} started (pid {child.proc.pid}, like {like})")
        return child

    def remove_child(self, name: str) -> None:
        """Stop ``name`` gracefully and stop supervising it."""
        child = next(c for c in self.children if c.name == name)
        self.children.remove(child)
        self.out(f"  {name:<13} {child.stop()}")

    def _respawn(self, dead: Child) -> Child:
        with contextlib.suppress(OSError):
            dead.log_file.close()
        child = self._spawn(dead.name, dead.cmd, dead.log_path, dead.env, append=False)
        child.restarts, child.failures = dead.restarts + 1, dead.failures
        self.out(f"  {child.name:<13} restarted (pid {child.proc.pid}, restart #{child.restarts})")
        return child

    # -- output --

    def _step(self, name: str, detail: str, started: float | None = None) -> None:
        took = f" ({time.monotonic() - started:.1f}s)" if started is not None else ""
        self.out(f"  {name:<13} {detail}{took}")
