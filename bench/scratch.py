"""What the database-only benches share: a scratch database, its server's CPU, the raw run.

They need no Temporal, worker or API: a fresh scratch database on a running PostgreSQL,
migrated with ``store.migrate.upgrade`` and dropped at the end, is all. The server is
``--database-url``, else ``OMS_BENCH_DATABASE_URL``, else the machine's PostgreSQL on
127.0.0.1:5432 (``DEFAULT_SERVER``).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.procstat import process_cpu
from store.db import libpq_url

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def server_url(explicit: str | None) -> str:
    return explicit or os.environ.get("OMS_BENCH_DATABASE_URL") or DEFAULT_SERVER


def redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@contextlib.contextmanager
def scratch_database(base: str, prefix: str, *, keep: bool = False) -> Iterator[str]:
    """A new database ``<prefix>_<random>`` on ``base``'s server, migrated to head.

    Yields its SQLAlchemy URL; dropped (``WITH (FORCE)``) afterwards unless ``keep``.
    """
    import psycopg
    from sqlalchemy.engine import make_url

    from store.db import normalize_url
    from store.migrate import upgrade

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = libpq_url(base)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = normalize_url(make_url(normalize_url(base)).set(database=name).render_as_string(False))
    try:
        upgrade(url)
        yield url
    finally:
        if keep:
            print(f"kept database {name}", flush=True)
        else:
            with (
                contextlib.suppress(Exception),
                psycopg.connect(admin, autocommit=True) as conn,
            ):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class ServerInfo:
    version: str
    settings: dict[str, str]


def server_info(url: str) -> ServerInfo:
    """Version and the settings that decide what a commit costs."""
    import psycopg

    wanted = ("fsync", "synchronous_commit", "shared_buffers", "max_connections")
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        version = f"PostgreSQL {row[0] if row else '?'}"
        settings: dict[str, str] = {}
        for name in wanted:
            value = conn.execute(f"SHOW {name}").fetchone()
            settings[name] = str(value[0]) if value else "?"
    return ServerInfo(version, settings)


class BackendCpu:
    """CPU seconds of the server processes working for one database (its backends and the
    WAL writer), read from /proc: only when the server runs on this machine. Other
    databases' backends on the same server (someone's test run) are left out."""

    def __init__(self, url: str) -> None:
        self.url = libpq_url(url)

    def pids(self) -> list[int]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE (datname = current_database()"
                " AND pid <> pg_backend_pid()) OR backend_type = 'walwriter'"
            ).fetchall()
        return [int(r[0]) for r in rows]

    def sample(self, pids: list[int]) -> float | None:
        """Summed CPU of ``pids``; None when /proc does not show them (remote server)."""
        if not pids or not all(Path(f"/proc/{p}/stat").exists() for p in pids):
            return None
        return sum(process_cpu(p) for p in pids)


def all_processes() -> dict[int, tuple[str, float]]:
    """Every process /proc shows: pid -> (command name, CPU seconds so far)."""
    out: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        out[int(entry)] = (name, process_cpu(int(entry)))
    return out


def others(
    before: dict[int, tuple[str, float]],
    after: dict[int, tuple[str, float]],
    mine: set[int],
    top: int = 3,
) -> list[tuple[str, float]]:
    """The busiest other commands between two ``all_processes`` snapshots (processes that
    ended in between are not seen)."""
    by_name: dict[str, float] = {}
    for pid, (name, cpu) in after.items():
        if pid not in mine:
            by_name[name] = by_name.get(name, 0.0) + cpu - before.get(pid, (name, 0.0))[1]
    busiest = sorted(by_name.items(), key=lambda kv: -kv[1])[:top]
    return [(n, s) for n, s in busiest if s >= 0.05]


def code_version(paths: Sequence[str] = ("store", "activities", "domain")) -> str:
    """``<short hash> <subject>`` of HEAD, and whether ``paths`` have uncommitted changes."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "log", "-1", "--format=%h %s"], capture_output=True, text=True, timeout=10
        ).stdout.strip()[:90]
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", *paths],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"
    return head + (f" (+ uncommitted changes in {', '.join(paths)})" if dirty else "")


def machine_line(postgres: str) -> str:
    """``Machine: ...`` as the other sections write it, with the DB-side versions."""
    cpu = platform.processor() or "?"
    mem = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return (
        f"Machine: {os.cpu_count() or 0} CPUs ({cpu}), {mem} RAM, "
        f"Python {platform.python_version()}, SQLAlchemy {metadata.version('sqlalchemy')}, "
        f"psycopg {metadata.version('psycopg')}, {postgres}"
    )


#: Raw runs of the benches that seed their own database (bench/RESULTS.md cites them).
RUNS = Path(__file__).resolve().parent / "runs"


def record_seeded_run(
    name: str, machine: str, results: list[dict[str, Any]], headline: dict[str, Any]
) -> Path:
    """Write one run as ``bench/runs/<name>-<UTC stamp>.json`` and end stdout with the
    headline as one JSON line, as every bench does."""
    RUNS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RUNS / f"{name}-{stamp}.json"
    path.write_text(
        json.dumps(
            {"machine": machine, "results": results, "headline": headline, "argv": sys.argv[1:]},
            indent=2,
        )
    )
    print(json.dumps(headline, separators=(",", ":")))
    return path
