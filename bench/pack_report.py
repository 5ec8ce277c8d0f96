"""The pack bench's report: pack latency with the carrier failing beside well, per round,
and the ledger check that every shipment got exactly one label."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from bench.report import Machine, ms, percentile
from bench.workload import PhaseResult
from store.db import create_engine, sessionmaker

#: The target: pack p99 with the carrier failing ≤ 1.5 × pack p99 with it well.
P99_TARGET = 1.5
PHASES = ("well", "failing")


@dataclass
class Outcome:
    """What one phase's shipments came to, read from Postgres after their labels came."""

    shipments: int = 0
    labels_bought: int = 0
    #: shipments with more than one label bought (must stay 0)
    bought_twice: int = 0
    failed_attempts: int = 0

    def add(self, other: Outcome) -> None:
        self.shipments += other.shipments
        self.labels_bought += other.labels_bought
        self.bought_twice += other.bought_twice
        self.failed_attempts += other.failed_attempts


async def count_outcome(database_url: str, shipment_ids: list[str]) -> Outcome:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with sessionmaker(engine)() as session:
            bought = await session.execute(
                text(
                    "SELECT s.shipment_id, count(o.idempotency_key) FROM shipments s"
                    " LEFT JOIN sandbox_operations o ON o.service = 'carrier'"
                    " AND o.kind = 'label' AND (o.idempotency_key = 'label-' || s.shipment_id"
                    " OR o.idempotency_key LIKE 'label-' || s.shipment_id || '-%')"
                    " WHERE s.shipment_id = ANY(:ids) GROUP BY s.shipment_id"
                ),
                {"ids": shipment_ids},
            )
            counts = [n for _, n in bought]
            attempts = await session.scalar(
                text(
                    "SELECT coalesce(sum(label_attempts), 0) FROM shipments"
                    " WHERE shipment_id = ANY(:ids)"
                ),
                {"ids": shipment_ids},
            )
        return Outcome(
            shipments=len(counts),
            labels_bought=sum(counts),
            bought_twice=sum(1 for n in counts if n > 1),
            failed_attempts=int(attempts or 0),
        )
    finally:
        await engine.dispose()


@dataclass
class PackReport:
    command: str
    started_at: str
    machine: Machine
    settings: dict[str, str]
    phases: dict[str, list[PhaseResult]] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def samples(self, phase: str, op: str) -> list[float]:
        return [x for r in self.phases.get(phase, []) for x in r.samples.get(op, [])]

    def p(self, phase: str, op: str, q: float) -> float:
        return percentile(self.samples(phase, op), q)

    @property
    def ratio(self) -> float:
        well = self.p("well", "pack", 99)
        return self.p("failing", "pack", 99) / well if well else math.nan

    def round_ratios(self) -> list[float]:
        out = []
        for well, failing in zip(self.phases["well"], self.phases["failing"], strict=False):
            base = percentile(well.samples.get("pack", []), 99)
            out.append(percentile(failing.samples.get("pack", []), 99) / base if base else math.nan)
        return out

    def pending_share(self, phase: str) -> float:
        total = len(self.samples(phase, "pack"))
        return len(self.samples(phase, "pack_202")) / total if total else math.nan

    # -- output (bench.stack.BenchReport) --

    def table(self) -> str:
        verdict = "met" if self.ratio <= P99_TARGET else "MISSED"
        rows = [("figure", "carrier well", "carrier failing", "")]
        for q in (50, 90, 99):
            rows.append(
                (
                    f"pack p{q} (ms)",
                    ms(self.p("well", "pack", q)),
                    ms(self.p("failing", "pack", q)),
                    "",
                )
            )
        rows[-1] = (*rows[-1][:3], f"ratio {self.ratio:.2f} (target <= {P99_TARGET}: {verdict})")
        rows.append(
            (
                "answered 202 pending",
                f"{self.pending_share('well'):.0%}",
                f"{self.pending_share('failing'):.0%}",
                "",
            )
        )
        for q in (50, 99):
            rows.append(
                (
                    f"label ready p{q} (ms, from the pack)",
                    ms(self.p("well", "label", q)),
                    ms(self.p("failing", "label", q)),
                    "",
                )
            )
        for name, attr in (
            ("shipments packed", "shipments"),
            ("labels bought", "labels_bought"),
            ("shipments with 2+ labels", "bought_twice"),
            ("failed label attempts", "failed_attempts"),
        ):
            rows.append(
                (
                    name,
                    str(getattr(self.outcomes.get("well", Outcome()), attr)),
                    str(getattr(self.outcomes.get("failing", Outcome()), attr)),
                    "",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        return "\n".join(
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows
        )

    def breakdown(self) -> list[str]:
        ratios = ", ".join(f"{r:.2f}" for r in self.round_ratios())
        return [f"pack p99 failing / well by round: {ratios}"]

    def markdown(self) -> str:
        lines = [
            f"# bench.pack — {self.started_at}",
            "",
            f"`{self.command}`",
            "",
            "| setting | value |",
            "| --- | --- |",
            *(f"| {k} | {v} |" for k, v in self.settings.items()),
            f"| machine | {self.machine.nproc} cores, {self.machine.memory}, {self.machine.cpu} |",
            "",
            "```",
            self.table(),
            *self.breakdown(),
            "```",
        ]
        return "\n".join(lines)

    def headline(self) -> dict[str, Any]:
        def fig(value: float, digits: int = 1) -> float | None:
            return None if math.isnan(value) else round(value, digits)

        failing, well = (
            self.outcomes.get("failing", Outcome()),
            self.outcomes.get("well", Outcome()),
        )
        return {
            "bench": "pack",
            "pack_p99_ratio": fig(self.ratio, 2),
            "pack_p99_ratio_target": P99_TARGET,
            "pack_p99_ms_well": fig(self.p("well", "pack", 99) * 1000),
            "pack_p99_ms_failing": fig(self.p("failing", "pack", 99) * 1000),
            "pending_share_failing": fig(self.pending_share("failing"), 2),
            "label_p99_ms_failing": fig(self.p("failing", "label", 99) * 1000),
            "shipments": well.shipments + failing.shipments,
            "labels_bought": well.labels_bought + failing.labels_bought,
            "bought_twice": well.bought_twice + failing.bought_twice,
            "failed_label_attempts": failing.failed_attempts,
        }

    def failure_list(self) -> list[str]:
        out = list(self.failures)
        for phase, results in self.phases.items():
            out += [f"{phase}: {f}" for r in results for f in r.failures]
        for phase, o in self.outcomes.items():
            if o.bought_twice:
                out.append(f"{phase}: {o.bought_twice} shipments had a label bought twice")
            if o.labels_bought < o.shipments:
                out.append(f"{phase}: {o.shipments - o.labels_bought} shipments without a label")
        return out
