"""The scan bench's report: the table, the CPU breakdown, the markdown and the headline,
each figure beside its target."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bench.procstat import MACHINE_BUSY, OTHER
from bench.render import md_table, run_record, text_table
from bench.report import Machine, ms, percentile
from bench.scan_phases import Phase, Round, ratio

#: scan_p99 / bare_update_p99 must stay at or below this.
SCAN_P99_TARGET = 1.5
#: scan_p99 / (bare Update + INSERT)_p99 must stay at or below this.
AUDITED_P99_TARGET = 1.3
#: saturation scans/s, real / (bare Update + INSERT), must stay at or above this.
SATURATION_TARGET = 0.6


@dataclass
class ScanReport:
    command: str
    started_at: str
    machine: Machine
    settings: dict[str, str]
    real: Phase
    bare: Phase
    cpu: dict[str, dict[str, float]]
    pace: float = 1.0
    start: str = "steady"
    rounds: list[Round] = field(default_factory=list)
    #: bare Update + one INSERT commit per scan, paced like the others
    audited: Phase = field(default_factory=lambda: Phase("bare+insert"))
    #: back-to-back phases: real scans, and bare Update + INSERT
    saturated_real: Phase = field(default_factory=lambda: Phase("real saturated"))
    saturated_audited: Phase = field(default_factory=lambda: Phase("bare+insert saturated"))
    #: the saturation phases' time bound in seconds (0: not measured)
    saturation: float = 0.0

    @property
    def ratio(self) -> float:
        """scan p99 / bare Update p99."""
        return ratio(self.real.p(99), self.bare.p(99))

    @property
    def audited_ratio(self) -> float:
        """scan p99 / (bare Update + INSERT) p99."""
        return ratio(self.real.p(99), self.audited.p(99))

    @property
    def saturation_ratio(self) -> float:
        """Saturation scans/s, real / (bare Update + INSERT)."""
        if not self.saturated_real.count or not self.saturated_audited.count:
            return math.nan
        return ratio(self.saturated_real.rate, self.saturated_audited.rate)

    def stack_cpu(self, name: str) -> float:
        """CPU seconds per scan of the stack's own processes (bench included, the rest of
        the machine not) in phase ``name``; NaN when not measured."""
        phase = self.phases().get(name)
        spent = self.cpu.get(name)
        if phase is None or not spent or not phase.count:
            return math.nan
        return sum(v for k, v in spent.items() if k not in (MACHINE_BUSY, OTHER)) / phase.count

    def phases(self) -> dict[str, Phase]:
        """Every phase by the name its CPU figures are kept under."""
        return {
            "bare": self.bare,
            "bare+insert": self.audited,
            "real": self.real,
            "bare+insert saturated": self.saturated_audited,
            "real saturated": self.saturated_real,
        }

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        real, bare, audited = self.real, self.bare, self.audited
        rows = [
            ("p50 (ms)", ms(real.p(50)), ms(bare.p(50)), ms(audited.p(50)), ""),
            ("p90 (ms)", ms(real.p(90)), ms(bare.p(90)), ms(audited.p(90)), ""),
            ("p99 (ms)", ms(real.p(99)), ms(bare.p(99)), ms(audited.p(99)), ""),
            (
                "scan p99 / baseline p99",
                "",
                _vs(self.ratio, SCAN_P99_TARGET, "<="),
                _vs(self.audited_ratio, AUDITED_P99_TARGET, "<="),
                "real scan p99 over each baseline's p99",
            ),
        ]
        if len(self.rounds) > 1:
            ratios = sorted(r.ratio for r in self.rounds)
            audited_ratios = sorted(r.audited_ratio for r in self.rounds)
            rows.append(
                (
                    "p99 by round (ms)",
                    " / ".join(ms(r.real_p99) for r in self.rounds),
                    " / ".join(ms(r.bare_p99) for r in self.rounds),
                    " / ".join(ms(r.audited_p99) for r in self.rounds),
                    "ratios vs bare, vs bare+insert: "
                    + ", ".join(
                        f"{r.ratio:.2f}, {r.audited_ratio:.2f} ({r.order})" for r in self.rounds
                    )
                    + f"; spread {ratios[0]:.2f}-{ratios[-1]:.2f}, "
                    f"{audited_ratios[0]:.2f}-{audited_ratios[-1]:.2f}",
                )
            )
        rows.append(("max (ms)", ms(real.p(100)), ms(bare.p(100)), ms(audited.p(100)), ""))
        for kind, label in (("first", "#1"), ("middle", "#2..#K-1"), ("last", "#K")):
            rows.append(
                (
                    f"scan {label} of a shipment p50 / p99 (ms)",
                    f"{ms(real.p(50, kind))} / {ms(real.p(99, kind))}",
                    f"{ms(bare.p(50, kind))} / {ms(bare.p(99, kind))}",
                    f"{ms(audited.p(50, kind))} / {ms(audited.p(99, kind))}",
                    "",
                )
            )
        notes = {"read": "Server-Timing"}
        update = real.stages.get("update", [])
        if update and bare.p(99):
            # The Update as the API sees it, beside the bare one: the scan's own share of
            # Temporal, without the HTTP hop and the Postgres round trips around it.
            notes["update"] = (
                f"Update p99 / bare_update_p99 {percentile(update, 99) / bare.p(99):.2f}"
            )
        for stage, label in (("read", "read"), ("update", "Update"), ("write", "write")):
            spent = real.stages.get(stage, [])
            if spent:
                rows.append(
                    (
                        f"in the API: {label} p50 / p99 (ms)",
                        f"{ms(percentile(spent, 50))} / {ms(percentile(spent, 99))}",
                        "",
                        "",
                        notes.get(stage, ""),
                    )
                )
        rows += [
            ("scans/s (all scanners)", f"{real.rate:.1f}", f"{bare.rate:.1f}",
             f"{audited.rate:.1f}", ""),
            ("scans measured / failed scanners", f"{real.count} / {len(real.failures)}",
             f"{bare.count} / {len(bare.failures)}",
             f"{audited.count} / {len(audited.failures)}", ""),
            ("elapsed (s)", f"{real.elapsed:.1f}", f"{bare.elapsed:.1f}",
             f"{audited.elapsed:.1f}", ""),
        ]  # fmt: skip
        if self.saturation > 0:
            sr, sa = self.saturated_real, self.saturated_audited
            rows += [
                (
                    f"saturation scans/s (back-to-back, <= {self.saturation:g}s)",
                    f"{sr.rate:.1f}",
                    "",
                    f"{sa.rate:.1f}",
                    "real / bare+insert "
                    + _vs(self.saturation_ratio, SATURATION_TARGET, ">="),
                ),
                ("saturation p50 / p99 (ms)", f"{ms(sr.p(50))} / {ms(sr.p(99))}", "",
                 f"{ms(sa.p(50))} / {ms(sa.p(99))}", ""),
                ("saturation scans / elapsed (s)", f"{sr.count} / {sr.elapsed:.1f}", "",
                 f"{sa.count} / {sa.elapsed:.1f}", ""),
            ]  # fmt: skip
            real_cpu = self.stack_cpu("real saturated")
            audited_cpu = self.stack_cpu("bare+insert saturated")
            if not math.isnan(real_cpu) or not math.isnan(audited_cpu):
                rows.append(
                    (
                        "saturation: stack CPU per scan (ms)",
                        ms(real_cpu),
                        "",
                        ms(audited_cpu),
                        f"bare+insert / real {ratio(audited_cpu, real_cpu):.2f}: scans/s if "
                        "CPU alone bounded both (the machine's other work left out)",
                    )
                )
        return rows

    HEADER = ("figure", "real scan (HTTP API)", "bare Update (Temporal)", "bare Update + INSERT",
              "note")  # fmt: skip

    def table(self) -> str:
        return text_table(self.HEADER, self.rows())

    def breakdown(self) -> list[str]:
        if not self.cpu:
            return []
        phases = list(self.cpu)
        counts = {name: phase.count for name, phase in self.phases().items()}
        out = [
            "",
            "CPU seconds per phase (per scan in brackets):",
            "",
            "| process | " + " | ".join(phases) + " |",
            "| --- | " + " | ".join("---" for _ in phases) + " |",
        ]
        names = list(dict.fromkeys(name for ph in phases for name in self.cpu[ph]))
        for name in names:
            cells = []
            for ph in phases:
                n = counts.get(ph, 0)
                v = self.cpu[ph].get(name, 0.0)
                cells.append(f"{v:.1f} ({v / n * 1000:.1f} ms)" if n else f"{v:.1f}")
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        return out

    def markdown(self) -> str:
        return run_record(
            f"{self.started_at} — scan latency, S={self.settings['S (scanners)']} "
            f"K={self.settings['K (scans per scanner)']} "
            + (f"pace={self.pace:g}s" if self.pace > 0 else "back-to-back (saturation)")
            + f" start={self.start}",
            command=self.command,
            machine=self.machine.line(),
            settings=self.settings,
            body=[*md_table(self.HEADER, self.rows()), *self.breakdown()],
            failures=self.failure_list(),
        )

    def headline(self) -> dict[str, Any]:
        scanners = self.settings.get("S (scanners)", "")
        return {
            "bench": "scans",
            "started_at": self.started_at,
            "scanners": int(scanners) if scanners.isdigit() else None,
            "pace_s": self.pace,
            "start": self.start,
            "rounds": len(self.rounds),
            "p99_ratio_vs_update": _figure(self.ratio, 3),
            "p99_ratio_vs_update_insert": _figure(self.audited_ratio, 3),
            "saturation_ratio": _figure(self.saturation_ratio, 3),
            "p99_target_vs_update_insert": AUDITED_P99_TARGET,
            "saturation_target": SATURATION_TARGET,
            "targets_met": self.audited_ratio <= AUDITED_P99_TARGET
            and self.saturation_ratio >= SATURATION_TARGET,
            "real_p99_ms": _figure(self.real.p(99) * 1000, 1),
            "update_p99_ms": _figure(self.bare.p(99) * 1000, 1),
            "update_insert_p99_ms": _figure(self.audited.p(99) * 1000, 1),
            "saturation_s": self.saturation,
            "saturation_real_scans_per_s": _figure(self.saturated_real.rate, 1),
            "saturation_update_insert_scans_per_s": _figure(self.saturated_audited.rate, 1),
            "saturation_stack_cpu_ms_per_scan_real": _figure(
                self.stack_cpu("real saturated") * 1000, 1
            ),
            "saturation_stack_cpu_ms_per_scan_update_insert": _figure(
                self.stack_cpu("bare+insert saturated") * 1000, 1
            ),
            "failures": len(self.failure_list()),
        }

    def failure_list(self) -> list[str]:
        return [f for phase in self.phases().values() for f in phase.failures]


def _vs(value: float, target: float, sense: str) -> str:
    """``1.12 (target <= 1.3: met)``; a missing figure never meets its target."""
    met = value <= target if sense == "<=" else value >= target
    shown = "n/a" if math.isnan(value) else f"{value:.2f}"
    return f"{shown} (target {sense} {target}: {'met' if met else 'MISSED'})"


def _figure(value: float, digits: int) -> float | None:
    """A headline number: rounded, and None (JSON null) instead of NaN."""
    return None if math.isnan(value) else round(value, digits)
