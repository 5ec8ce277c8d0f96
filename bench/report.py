"""Figures of ``bench.run``: the printed table, the raw run's markdown and the headline."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.procstat import MACHINE_ROWS
from bench.render import md_table, run_record, text_table
from bench.workload import UNITS_PER_ORDER, PhaseResult

RATIO_TARGET = 0.5
SCAN_P99_TARGET = 2.0


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no samples."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(value: float, digits: int = 1) -> str:
    """Seconds shown as milliseconds; ``n/a`` for a figure not measured (NaN)."""
    return "n/a" if math.isnan(value) else f"{value * 1000:.{digits}f}"


@dataclass
class Machine:
    nproc: int
    memory: str
    cpu: str
    python: str
    temporal_cli: str
    temporalio: str
    postgres: str = ""

    def line(self) -> str:
        """``Machine: ...`` as every stack bench's record starts."""
        return (
            f"Machine: {self.nproc} CPUs ({self.cpu}), {self.memory} RAM, Python {self.python}, "
            f"temporalio {self.temporalio}, {self.temporal_cli}, {self.postgres}"
        )

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

    HEADER = ("figure", "real (HTTP API)", "bare (Temporal)", "note")

    def table(self) -> str:
        return text_table(self.HEADER, self.headline_rows())

    def markdown(self) -> str:
        return run_record(
            f"{self.started_at} — N={self.real.n} C={self.real.concurrency}",
            command=self.command,
            machine=self.machine.line(),
            settings=self.settings,
            body=[*md_table(self.HEADER, self.headline_rows()), *self.breakdown()],
            failures=self.real.failures + self.bare.failures,
        )

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

    def cpu_ms_per_order(self, phase: str) -> float:
        """CPU of the stack's own processes (Temporal, worker, API, embedded Postgres, the
        bench's driver) per completed order of ``phase``; the machine-wide rows, which
        count whatever else runs on the machine, are left out."""
        done = self.real.completed if phase == "real" else self.bare.completed
        spent = sum(v for k, v in self.cpu.get(phase, {}).items() if k not in MACHINE_ROWS)
        return spent / done * 1000 if done else math.nan

    def _per_order(self, kind: str, workflows: tuple[str, ...]) -> int | None:
        if not all(w in self.histories for w in workflows):
            return None
        return sum(self.histories[w].get(kind, 0) for w in workflows)

    def headline(self) -> dict[str, Any]:
        real = ("OrderWorkflow", "FulfillmentWorkflow")
        return {
            "bench": "orders",
            "started_at": self.started_at,
            "orders": self.real.n,
            "concurrency": self.real.concurrency,
            "ratio": round(self.ratio, 3),
            "events_per_order": self._per_order("(total events)", real),
            "workflow_tasks_per_order": self._per_order("WORKFLOW_TASK_COMPLETED", real),
            "cpu_ms_per_order": round(self.cpu_ms_per_order("real"), 1),
            "bare_events_per_order": self._per_order("(total events)", ("BareOrderWorkflow",)),
            "bare_workflow_tasks_per_order": self._per_order(
                "WORKFLOW_TASK_COMPLETED", ("BareOrderWorkflow",)
            ),
            "bare_cpu_ms_per_order": round(self.cpu_ms_per_order("bare"), 1),
            "scan_p99_ratio_vs_update": round(self.scan_ratio, 3),
            "failures": len(self.failure_list()),
        }

    def failure_list(self) -> list[str]:
        return self.real.failures + self.bare.failures
