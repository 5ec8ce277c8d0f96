"""How every bench shows a run: aligned tables for the terminal, markdown tables and the
failure list for the record, and the command line that made it."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence

Row = Sequence[str]


def text_table(header: Row, rows: Sequence[Row]) -> str:
    """Aligned plain-text table for the terminal."""
    every = [header, *rows]
    widths = [max(len(r[i]) for r in every) for i in range(len(header))]
    lines = []
    for n, row in enumerate(every):
        lines.append("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def md_table(header: Row, rows: Sequence[Row]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def command_line(module: str) -> str:
    """How this run was invoked, for the record (a database URL given by env is hidden)."""
    prefix = "OMS_BENCH_DATABASE_URL=... " if os.environ.get("OMS_BENCH_DATABASE_URL") else ""
    args = " " + shlex.join(sys.argv[1:]) if sys.argv[1:] else ""
    return f"{prefix}.venv/bin/python -m {module}{args}"


def settings_line(settings: dict[str, str]) -> str:
    """``Settings: k=v, ...``: what a run was measured with, in one line of its record."""
    return "Settings: " + ", ".join(f"{k}={v}" for k, v in settings.items())


def failure_lines(failures: Sequence[str], shown: int = 5) -> list[str]:
    """The markdown lines that list a run's failures (the first ``shown``); none if none."""
    if not failures:
        return []
    return [
        "",
        f"Failures ({len(failures)}), first {shown}:",
        "",
        *(f"- {f}" for f in failures[:shown]),
    ]


def run_record(
    title: str,
    *,
    command: str,
    machine: str,
    settings: dict[str, str],
    body: Sequence[str],
    failures: Sequence[str],
) -> str:
    """One run as markdown, as every stack and database bench records it: the title, the
    command, the machine, the settings, the tables (``body``) and the first failures."""
    head = [
        "## " + title,
        "",
        f"Command: `{command}`",
        "",
        machine,
        "",
        settings_line(settings),
        "",
    ]
    return "\n".join([*head, *body, *failure_lines(failures), ""])
