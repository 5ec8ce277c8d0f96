"""Figures, the printed table and the dated section appended to ``bench/RESULTS.md``."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from bench.workload import UNITS_PER_ORDER, PhaseResult

RATIO_TARGET = 0.5
SCAN_P99_TARGET = 2.0

RESULTS_HEADER = """# Benchmark results

`make bench` (`.venv/bin/python -m bench.run`) starts its own stack (Postgres, the Temporal
dev server with the same flags as `oms dev`, worker and API as child processes) in a temp
dir on free ports, drives N orders end to end through the HTTP API with C in flight
(Shopify webhook → work list → one scan per unit → pack → three carrier webhooks →
`delivered`), then tears it all down. In the same run, on the same Temporal server, a bare
workflow (`bench/bare.py`: six no-op activities, the same Updates and Signals per order) is
driven through the Temporal client with the same N and C: the ratio real/bare is the figure
that counts, since absolute times drift on this machine. Sections below are appended by the
bench, newest last; timings are never asserted in tests.
"""


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no samples."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value * 1000:.1f}"


@dataclass
class Machine:
    nproc: int
    memory: str
    cpu: str
    python: str
    temporal_cli: str
    temporalio: str
    postgres: str = ""

    @classmethod
    def detect(cls, temporal_executable: str) -> Machine:
        mem = "?"
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
        except OSError:
            pass
        cpu = platform.processor() or "?"
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        try:
            cli = subprocess.run(
                [temporal_executable, "--version"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            cli = "?"
        return cls(
            nproc=os.cpu_count() or 0,
            memory=mem,
            cpu=cpu,
            python=platform.python_version(),
            temporal_cli=cli,
            temporalio=metadata.version("temporalio"),
        )


@dataclass
class Report:
    command: str
    started_at: str
    machine: Machine
    settings: dict[str, str]
    real: PhaseResult
    bare: PhaseResult
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)  # phase -> process -> s
    histories: dict[str, dict[str, int]] = field(default_factory=dict)  # workflow -> counts

    # -- figures --

    @property
    def ratio(self) -> float:
        return self.real.throughput / self.bare.throughput if self.bare.throughput else math.nan

    def p(self, phase: PhaseResult, op: str, q: float) -> float:
        return percentile(phase.samples.get(op, []), q)

    @property
    def scan_ratio(self) -> float:
        bare = self.p(self.bare, "update", 99)
        return self.p(self.real, "scan", 99) / bare if bare else math.nan

    def verdicts(self) -> tuple[str, str]:
        r = "met" if self.ratio >= RATIO_TARGET else "MISSED"
        s = "met" if self.scan_ratio <= SCAN_P99_TARGET else "MISSED"
        return r, s

    # -- output --

    def headline_rows(self) -> list[tuple[str, str, str, str]]:
        r_ok, s_ok = self.verdicts()
        real, bare = self.real, self.bare
        return [
            (
                "orders/s",
                f"{real.throughput:.2f}",
                f"{bare.throughput:.2f}",
                f"ratio real/bare {self.ratio:.2f} (target >= {RATIO_TARGET}: {r_ok})",
            ),
            (
                "intake webhook vs bare start p50 (ms)",
                ms(self.p(real, "intake", 50)),
                ms(self.p(bare, "start", 50)),
                "",
            ),
            (
                "intake webhook vs bare start p99 (ms)",
                ms(self.p(real, "intake", 99)),
                ms(self.p(bare, "start", 99)),
                "",
            ),
            (
                "scan vs bare Update p50 (ms)",
                ms(self.p(real, "scan", 50)),
                ms(self.p(bare, "update", 50)),
                "",
            ),
            (
                "scan vs bare Update p99 (ms)",
                ms(self.p(real, "scan", 99)),
                ms(self.p(bare, "update", 99)),
                f"scan_p99 / bare_update_p99 {self.scan_ratio:.2f} "
                f"(target <= {SCAN_P99_TARGET}: {s_ok})",
            ),
            *(
                (
                    f"scan #{k} of the order vs bare Update #{k} p50 / p99 (ms)",
                    f"{ms(self.p(real, f'scan_{k}', 50))} / {ms(self.p(real, f'scan_{k}', 99))}",
                    f"{ms(self.p(bare, f'update_{k}', 50))} / "
                    f"{ms(self.p(bare, f'update_{k}', 99))}",
                    "",
                )
                for k in range(1, UNITS_PER_ORDER + 1)
            ),
            (
                "pack p50 / p99 (ms)",
                f"{ms(self.p(real, 'pack', 50))} / {ms(self.p(real, 'pack', 99))}",
                f"{ms(self.p(bare, 'pack', 50))} / {ms(self.p(bare, 'pack', 99))}",
                "",
            ),
            (
                "carrier webhook vs signal p50 / p99 (ms)",
                f"{ms(self.p(real, 'carrier', 50))} / {ms(self.p(real, 'carrier', 99))}",
                f"{ms(self.p(bare, 'signal', 50))} / {ms(self.p(bare, 'signal', 99))}",
                "",
            ),
            (
                "order end to end p50 / p99 (ms)",
                f"{ms(self.p(real, 'order', 50))} / {ms(self.p(real, 'order', 99))}",
                f"{ms(self.p(bare, 'order', 50))} / {ms(self.p(bare, 'order', 99))}",
                "",
            ),
            ("webhook → in work list p50 (ms)", ms(self.p(real, "wait_shipment", 50)), "", ""),
            (
                "last carrier webhook → delivered p50 (ms)",
                ms(self.p(real, "wait_delivered", 50)),
                "",
                "",
            ),
            (
                "completed / failed",
                f"{real.completed} / {len(real.failures)}",
                f"{bare.completed} / {len(bare.failures)}",
                "",
            ),
            ("elapsed (s)", f"{real.elapsed:.1f}", f"{bare.elapsed:.1f}", ""),
        ]

    def table(self) -> str:
        rows = [("figure", "real (HTTP API)", "bare (Temporal)", "note"), *self.headline_rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = []
        for k, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def markdown(self) -> str:
        m = self.machine
        out = [
            f"## {self.started_at} — N={self.real.n} C={self.real.concurrency}",
            "",
            f"Command: `{self.command}`",
            "",
            f"Machine: {m.nproc} CPUs ({m.cpu}), {m.memory} RAM, Python {m.python}, "
            f"temporalio {m.temporalio}, {m.temporal_cli}, {m.postgres}",
            "",
            "Settings: " + ", ".join(f"{k}={v}" for k, v in self.settings.items()),
            "",
            "| figure | real (HTTP API) | bare (Temporal) | note |",
            "| --- | --- | --- | --- |",
        ]
        for row in self.headline_rows():
            out.append("| " + " | ".join(row) + " |")
        out += self.breakdown()
        failures = self.real.failures + self.bare.failures
        if failures:
            out += ["", f"Failures ({len(failures)}), first 5:", ""]
            out += [f"- {f}" for f in failures[:5]]
        out.append("")
        return "\n".join(out)

    def breakdown(self) -> list[str]:
        """CPU per process and history events per order, as markdown lines."""
        out: list[str] = []
        if self.cpu:
            phases = list(self.cpu)
            names = list(self.cpu[phases[0]])
            out += [
                "",
                "CPU seconds per phase (per order in brackets):",
                "",
                "| process | " + " | ".join(phases) + " |",
                "| --- | " + " | ".join("---" for _ in phases) + " |",
            ]
            for name in names:
                cells = []
                for ph in phases:
                    n = self.real.completed if ph == "real" else self.bare.completed
                    v = self.cpu[ph].get(name, 0.0)
                    cells.append(f"{v:.1f} ({v / n * 1000:.0f} ms)" if n else f"{v:.1f}")
                out.append(f"| {name} | " + " | ".join(cells) + " |")
        if self.histories:
            kinds = sorted({k for counts in self.histories.values() for k in counts})
            wfs = list(self.histories)
            out += [
                "",
                "History events of one order (first completed order of each kind):",
                "",
                "| event | " + " | ".join(wfs) + " |",
                "| --- | " + " | ".join("---" for _ in wfs) + " |",
            ]
            for kind in kinds:
                out.append(
                    f"| {kind} | "
                    + " | ".join(str(self.histories[w].get(kind, 0)) for w in wfs)
                    + " |"
                )
        return out

    def append_to(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text() if path.exists() else RESULTS_HEADER
        if not text.endswith("\n"):
            text += "\n"
        path.write_text(text + "\n" + self.markdown())
