"""The routing bench's report: the routing decision's share of the allocation's time, by
order shape, beside its target."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench.render import md_table, run_record, text_table
from bench.report import ms, percentile
from bench.routing_timings import AllocationTimings, Timings

#: routing p50 / allocation p50 must stay under this.
SHARE_TARGET = 0.05


@dataclass
class RoutingReport:
    command: str
    started_at: str
    machine: str
    settings: dict[str, str]
    routing: Timings
    allocation: AllocationTimings

    # show_and_record looks at .real/.bare failures
    @property
    def real(self) -> Timings:
        return self.allocation

    @property
    def bare(self) -> Timings:
        return self.routing

    @property
    def share(self) -> float:
        a = self.allocation.p(50)
        return self.routing.p(50) / a if a else math.nan

    def rows(self) -> list[tuple[str, str, str, str]]:
        r, a = self.routing, self.allocation
        met = "met" if self.share < SHARE_TARGET else "MISSED"
        inside = percentile(a.route_in_activity, 50)
        inside_share = inside / a.p(50) if a.p(50) else math.nan
        shapes = sorted(set(r.shapes) | set(a.shapes))
        return [
            (
                "p50 (ms)",
                ms(r.p(50), 2),
                ms(a.p(50), 2),
                f"routing p50 = {self.share * 100:.1f} % of allocation p50 "
                f"(target < {SHARE_TARGET * 100:.0f} %: {met})",
            ),
            ("p90 (ms)", ms(r.p(90), 2), ms(a.p(90), 2), ""),
            ("p99 (ms)", ms(r.p(99), 2), ms(a.p(99), 2), ""),
            ("max (ms)", ms(r.p(100), 2), ms(a.p(100), 2), ""),
            ("mean (ms)", ms(r.mean, 2), ms(a.mean, 2), ""),
            (
                "route() inside allocate_stock p50 / p99 (ms)",
                "",
                f"{ms(inside, 2)} / {ms(percentile(a.route_in_activity, 99), 2)}",
                f"{inside_share * 100:.1f} % of allocation p50; "
                f"{len(a.route_in_activity)} calls for {len(a.seconds)} orders",
            ),
            (
                "SQL statements per allocation p50 / max",
                "",
                f"{percentile([float(s) for s in a.statements], 50):.0f} / "
                f"{max(a.statements, default=0)}",
                "",
            ),
            ("orders timed", str(len(r.seconds)), str(len(a.seconds)), ""),
            *(
                (
                    f"orders: {s} (count; p50 / p99 ms)",
                    f"{r.shapes.get(s, 0)}; {ms(r.p(50, s), 2)} / {ms(r.p(99, s), 2)}",
                    f"{a.shapes.get(s, 0)}; {ms(a.p(50, s), 2)} / {ms(a.p(99, s), 2)}",
                    "",
                )
                for s in shapes
            ),
            (
                "allocation chose the warehouses route() chose",
                "",
                f"{a.same_as_routing} / {len(a.seconds)}",
                "same stock: reservations released after each order",
            ),
        ]

    _HEADER = ("figure", "route() over the sites", "allocate_stock (activity)", "note")

    def table(self) -> str:
        return text_table(self._HEADER, self.rows())

    def breakdown(self) -> list[str]:
        return []

    def markdown(self) -> str:
        return run_record(
            f"{self.started_at} — routing decision vs allocation, "
            f"{self.settings['warehouses']} warehouses",
            command=self.command,
            machine=self.machine,
            settings=self.settings,
            body=md_table(self._HEADER, self.rows()),
            failures=self.routing.failures + self.allocation.failures,
        )

    def headline(self) -> dict[str, Any]:
        return {
            "bench": "routing",
            "started_at": self.started_at,
            "routing_p50_share_of_allocation": round(self.share, 3),
            "failures": len(self.failure_list()),
        }

    def failure_list(self) -> list[str]:
        return self.routing.failures + self.allocation.failures
