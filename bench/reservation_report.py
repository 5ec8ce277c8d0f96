"""The reservation bench's report: each side's rate and latency beside the plain UPDATE's,
the CPU split between clients and Postgres, and the headline."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.render import md_table, run_record, text_table
from bench.report import ms, percentile
from bench.reservation_check import LevelCheck
from bench.reservation_clients import Outcome
from bench.reservation_ops import VARIANT_WORDS

#: reservations/s over updates/s must reach this.
RATIO_TARGET = 0.5


#: Beyond this many hot levels the stock table is summed per SKU.
MAX_LEVEL_ROWS = 24


@dataclass
class Side:
    name: str
    outcome: Outcome = field(default_factory=Outcome)
    client_cpu: float = 0.0
    pg_cpu: float | None = 0.0
    busy: float = 0.0
    #: wall-clock seconds over which ``busy`` was sampled (a little more than elapsed)
    wall: float = 0.0
    #: the busiest client process's CPU over the round's elapsed time, worst round
    peak_cores: float = 0.0
    #: (elapsed, committed) of each round
    rounds: list[tuple[float, int]] = field(default_factory=list)
    #: CPU seconds of the busiest processes that are not this bench's, by command name
    others: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def add(
        self,
        o: Outcome,
        pg: float | None,
        busy: tuple[float, float],
        others: list[tuple[str, float]],
    ) -> None:
        self.outcome.merge(o)
        for name, seconds in others:
            self.others[name] = self.others.get(name, 0.0) + seconds
        self.client_cpu += o.cpu
        self.pg_cpu = None if pg is None or self.pg_cpu is None else self.pg_cpu + pg
        self.busy += busy[0]
        self.wall += busy[1]
        if o.elapsed > 0:
            self.peak_cores = max(self.peak_cores, o.peak_cpu / o.elapsed)
        self.rounds.append((o.elapsed, sum(o.committed.values())))
        self.failures += o.errors

    @property
    def elapsed(self) -> float:
        return self.outcome.elapsed

    @property
    def committed(self) -> int:
        return sum(self.outcome.committed.values())

    @property
    def attempts(self) -> int:
        return sum(self.outcome.attempts.values())

    @property
    def refused(self) -> int:
        return sum(self.outcome.refused.values())

    def rate(self, n: int | None = None) -> float:
        n = self.committed if n is None else n
        return n / self.elapsed if self.elapsed > 0 else 0.0

    def p(self, q: float) -> float:
        return percentile(self.outcome.latencies, q)


def _cores(seconds: float | None, side: Side) -> str:
    if seconds is None:
        return "n/a"
    n = side.committed or 1
    cores = seconds / side.elapsed if side.elapsed else 0.0
    return f"{seconds:.1f} s = {cores:.2f} cores ({seconds / n * 1000:.2f} ms/tx)"


HOT_PREFIXES = ("BENCH-HOT-", "BENCH-PLAN-")


@dataclass
class ReservationReport:
    command: str
    started_at: str
    machine: str
    settings: dict[str, str]
    real: Side  # try_reserve
    plan: Side  # reserve_plan, allocate_stock's reservation transaction
    bare: Side
    levels: list[LevelCheck]
    nproc: int
    idle_busy: float  # share of the machine busy before the run (others' load)
    variants: list[Side] = field(default_factory=list)

    def ratio(self, side: Side) -> float:
        b = self.bare.rate()
        return side.rate() / b if b else math.nan

    @property
    def failures(self) -> list[str]:
        return self.real.failures + self.bare.failures  # measure() files plan's under real

    def verdict(self, side: Side) -> str:
        met = "met" if self.ratio(side) >= RATIO_TARGET else "MISSED"
        per_round = ", ".join(
            f"{(rc / re) / (bc / be):.2f}" if re and be and bc else "n/a"
            for (re, rc), (be, bc) in zip(side.rounds, self.bare.rounds, strict=False)
        )
        return (
            f"{side.name}: ratio {self.ratio(side):.2f} (target >= {RATIO_TARGET}: {met}); "
            f"per round {per_round}"
        )

    def oversell_verdict(self) -> str:
        hot = [lv for lv in self.levels if lv.key[0].startswith(HOT_PREFIXES)]
        oversold = [lv for lv in self.levels if lv.reserved > lv.on_hand]
        exhausted = sum(lv.exhausted for lv in hot)
        refused = self.real.refused + self.plan.refused
        ok = "zero oversell" if not oversold else f"OVERSOLD at {len(oversold)} levels"
        clean = "every check passed" if not self.failures else "CHECK FAILED"
        return (
            f"{ok}; {exhausted}/{len(hot)} hot levels exhausted; "
            f"{refused} refusals rolled back; {clean}"
        )

    def _busy(self, side: Side) -> str:
        share = side.busy / (side.wall * self.nproc) * 100 if side.wall else 0.0
        other = max(0.0, side.busy - side.client_cpu - (side.pg_cpu or 0.0))
        busiest = sorted(side.others.items(), key=lambda kv: -kv[1])[:3]
        top = ", ".join(f"{n} {s:.1f} s" for n, s in busiest)
        return (
            f"{share:.0f} % of {self.nproc} CPUs; {other:.1f} s not this bench's clients or "
            f"backends" + (f" (busiest: {top})" if top else "")
        )

    def rows(self) -> list[tuple[str, ...]]:
        cols = (self.real, self.plan, self.bare)
        units = ("reservations/s", "reservations/s", "updates/s")

        def each(cell: Callable[[Side], str]) -> tuple[str, ...]:
            return tuple(cell(side) for side in cols)

        return [
            (
                "committed transactions/s",
                *(f"{side.rate():.0f} {u}" for side, u in zip(cols, units, strict=True)),
                self.verdict(self.real) + "; " + self.verdict(self.plan),
            ),
            ("attempts/s (refusals included)", *each(lambda s: f"{s.rate(s.attempts):.0f}"), ""),
            ("transaction p50 (ms)", *each(lambda s: ms(s.p(50))), "client-side, incl. pool"),
            ("transaction p99 (ms)", *each(lambda s: ms(s.p(99))), ""),
            ("transaction max (ms)", *each(lambda s: ms(s.p(100))), ""),
            (
                "attempts / committed / refused / errors",
                *each(
                    lambda s: (
                        f"{s.attempts} / {s.committed} / {s.refused} / {len(s.outcome.errors)}"
                    )
                ),
                self.oversell_verdict(),
            ),
            ("elapsed (s)", *each(lambda s: f"{s.elapsed:.1f}"), ""),
            ("client processes CPU", *each(lambda s: _cores(s.client_cpu, s)), ""),
            (
                "busiest client process (worst round)",
                *each(lambda s: f"{s.peak_cores:.2f} cores"),
                "1.00 = that process was CPU-bound",
            ),
            (
                "postgres CPU (this database's backends + WAL writer)",
                *each(lambda s: _cores(s.pg_cpu, s)),
                "",
            ),
            (
                "machine busy",
                *each(self._busy),
                f"before the run: {self.idle_busy:.0f} % busy",
            ),
        ]

    def variant_rows(self) -> list[tuple[str, ...]]:
        b = self.bare.rate()
        out: list[tuple[str, ...]] = []
        for v in self.variants:
            out.append(
                (
                    v.name,
                    VARIANT_WORDS[v.name],
                    f"{v.rate():.0f}",
                    f"{v.rate() / b:.2f}" if b else "n/a",
                    f"{ms(v.p(50))} / {ms(v.p(99))}",
                    _cores(v.client_cpu, v),
                    _cores(v.pg_cpu, v),
                    f"{v.committed} / {len(v.outcome.errors)}",
                    self._busy(v),
                )
            )
        return out

    _HEADER = (
        "figure",
        "real: try_reserve",
        "real: reserve_plan (allocate_stock's transaction)",
        "bare: plain UPDATE",
        "note",
    )
    _LEVEL_HEADER = (
        "sku", "warehouse", "on_hand", "reserved", "sum(reserved rows)",
        "attempts", "committed", "refused", "exhausted", "check",
    )  # fmt: skip
    _VARIANT_HEADER = (
        "variant", "what", "tx/s", "/ bare updates/s", "p50 / p99 (ms)",
        "client CPU", "postgres CPU", "committed / errors", "machine busy",
    )  # fmt: skip

    def table(self) -> str:
        return text_table(self._HEADER, self.rows())

    def breakdown(self) -> list[str]:
        hot = [lv for lv in self.levels if lv.key[0].startswith(HOT_PREFIXES)]
        if len(hot) <= MAX_LEVEL_ROWS:
            title, rows = "Hot stock levels after the run:", self.level_rows(hot)
        else:
            title, rows = "Hot stock after the run, summed per SKU:", self.sku_rows(hot)
        out = ["", title, "", *md_table(self._LEVEL_HEADER, rows)]
        if self.variants:
            out += [
                "",
                "Diagnosis, not the product's path: try_reserve's rows written by bench-only "
                "SQL, same clients and plans, in every round after the three sides, on SKUs of "
                "their own with plenty of stock:",
                "",
                *md_table(self._VARIANT_HEADER, self.variant_rows()),
            ]
        return out

    @staticmethod
    def sku_rows(levels: list[LevelCheck]) -> list[tuple[str, ...]]:
        by_sku: dict[str, list[LevelCheck]] = {}
        for lv in levels:
            by_sku.setdefault(lv.key[0], []).append(lv)
        rows = []
        for sku, lvs in by_sku.items():
            problems = sum(len(lv.problems) for lv in lvs)
            rows.append(
                (
                    sku,
                    f"{len(lvs)} warehouses",
                    *(
                        str(sum(getattr(lv, f) for lv in lvs))
                        for f in ("on_hand", "reserved", "held", "attempts", "committed", "refused")
                    ),
                    f"{sum(lv.exhausted for lv in lvs)}/{len(lvs)}",
                    "ok" if not problems else f"{problems} problems (see failures)",
                )
            )
        return rows

    @staticmethod
    def level_rows(levels: list[LevelCheck]) -> list[tuple[str, ...]]:
        return [
            (
                lv.key[0], lv.key[1], str(lv.on_hand), str(lv.reserved), str(lv.held),
                str(lv.attempts), str(lv.committed), str(lv.refused),
                "yes" if lv.exhausted else "no",
                "ok" if not lv.problems else "; ".join(lv.problems),
            )
            for lv in levels
        ]  # fmt: skip

    def markdown(self) -> str:
        return run_record(
            f"{self.started_at} — reservations, {self.settings['clients']} clients, "
            f"{self.settings['hot levels']}",
            command=self.command,
            machine=self.machine,
            settings=self.settings,
            body=[*md_table(self._HEADER, self.rows()), *self.breakdown()],
            failures=self.failures,
        )

    def headline(self) -> dict[str, Any]:
        return {
            "bench": "reservations",
            "started_at": self.started_at,
            "ratio_try_reserve": round(self.ratio(self.real), 3),
            "ratio_reserve_plan": round(self.ratio(self.plan), 3),
            "oversold_levels": sum(1 for lv in self.levels if lv.reserved > lv.on_hand),
            "failures": len(self.failures),
        }

    def failure_list(self) -> list[str]:
        return self.failures
