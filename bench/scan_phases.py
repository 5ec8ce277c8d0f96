"""The scan bench's phases: what each scanner scans, when, and how a phase is timed.

Every side of ``bench.scans`` (bare Update, bare Update + INSERT, real HTTP scan) follows
the same per-scanner plan (:func:`scan_plan`) on the same schedule (:class:`Pace`), driven
by :func:`drive`; only the scan function differs. Keeping them in one place is what makes
the sides comparable.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.report import percentile
from oms.heap import freeze_startup_objects

#: ``(shipment index within the scanner's shipments, unit number 1..K)``
Scan = tuple[int, int]

#: The phases of a round, in the order of round 1; later rounds rotate it.
PHASES = ("bare", "bare+insert", "real")
#: bound on every wait (intake, work list, one scan / Update)
TIMEOUT = 180.0


@dataclass
class Phase:
    name: str
    elapsed: float = 0.0
    #: latency in seconds by kind: "all", "first", "middle", "last"
    samples: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    #: The API's stages (read, update, write) in seconds, from ``Server-Timing`` (real only).
    stages: dict[str, list[float]] = field(default_factory=dict)

    def add_stages(self, spent: dict[str, float]) -> None:
        for stage, seconds in spent.items():
            self.stages.setdefault(stage, []).append(seconds)

    def extend(self, other: Phase) -> None:
        """Pool another round's samples into this phase (percentiles over every round)."""
        self.elapsed += other.elapsed
        for kind, samples in other.samples.items():
            self.samples.setdefault(kind, []).extend(samples)
        for stage, spent in other.stages.items():
            self.stages.setdefault(stage, []).extend(spent)
        self.failures += other.failures

    def add(self, position: int, k: int, seconds: float) -> None:
        kind = "first" if position == 1 else "last" if position == k else "middle"
        self.samples.setdefault("all", []).append(seconds)
        self.samples.setdefault(kind, []).append(seconds)

    def p(self, q: float, kind: str = "all") -> float:
        return percentile(self.samples.get(kind, []), q)

    @property
    def count(self) -> int:
        return len(self.samples.get("all", []))

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed > 0 else 0.0


def ratio(value: float, baseline: float) -> float:
    """``value / baseline``; NaN when either is missing (NaN) or the baseline is 0."""
    if math.isnan(value) or math.isnan(baseline) or not baseline:
        return math.nan
    return value / baseline


def phase_order(number: int) -> tuple[str, ...]:
    """Round ``number``'s phases: :data:`PHASES` rotated by one each round."""
    shift = -(number - 1) % len(PHASES)
    return PHASES[shift:] + PHASES[:shift]


@dataclass(frozen=True)
class Round:
    """One round's own figures: the spread across rounds shows how far one run can be
    trusted on a machine the bench shares with everything it measures."""

    number: int
    order: str  # e.g. "bare, bare+insert, real"
    real_p99: float
    bare_p99: float
    audited_p99: float = math.nan

    @property
    def ratio(self) -> float:
        return ratio(self.real_p99, self.bare_p99)

    @property
    def audited_ratio(self) -> float:
        return ratio(self.real_p99, self.audited_p99)


@dataclass(frozen=True)
class Pace:
    """How fast a scanner scans: a pause between an answer and the next scan.

    A person holding a scanner reaches for the next unit before scanning it again; even
    scanning a bin of identical items runs at about a scan a second. ``seconds`` is that
    mean pause (each one drawn from 0.5x-1.5x of it) and every scanner starts at a random
    moment within the first pause, so a hundred people don't pull the trigger in the same
    millisecond. ``seconds == 0`` is the other measurement: every scanner a machine
    re-scanning the moment it has an answer, which keeps the two cores saturated and
    measures CPU per scan more than latency. Both phases get the same schedule (seeded by
    the scanner's index), so they offer the same load.
    """

    seconds: float

    def schedule(self, scanner: int, k: int) -> tuple[float, list[float]]:
        """``(start offset, pause after each of the K scans)`` for one scanner."""
        if self.seconds <= 0:
            return 0.0, [0.0] * k
        rng = random.Random(scanner)
        start = rng.uniform(0.0, self.seconds)
        return start, [rng.uniform(0.5, 1.5) * self.seconds for _ in range(k)]


#: Where the scanners are in their work when the clock starts.
STARTS = ("steady", "herd")


def scan_plan(scanner: int, k: int, start: str) -> tuple[list[Scan], list[Scan]]:
    """``(warm-up scans, measured scans)`` of one scanner, as ``(shipment, unit)`` pairs.

    ``herd``: every scanner starts a fresh K-unit shipment when the clock starts, so all S
    first scans (each moving a shipment and its order to ``picking``) land in the first
    pause: a shift whose pickers all start in the same second.

    ``steady``: mid-shift. Each scanner has two shipments; before the clock it has already
    scanned ``u`` units of the first (``u`` uniform in 0..K-1, not measured), then the K
    measured scans finish the first shipment and start the second. First scans then arrive
    at the rate a floor of S people produces them (about S / K per pause), all S scanners
    are busy the whole time, and each still makes exactly K measured scans.
    """
    if start == "herd":
        return [], [(0, n) for n in range(1, k + 1)]
    done = random.Random(f"{scanner}-progress").randrange(k)
    warm = [(0, n) for n in range(1, done + 1)]
    measured = [(0, n) for n in range(done + 1, k + 1)] + [(1, n) for n in range(1, done + 1)]
    return warm, measured


def saturation_plan(scanner: int, k: int, start: str) -> list[Scan]:
    """What is left of a scanner's work after its measured scans: the rest of its second
    shipment (``steady``; 1..K units), scanned back-to-back in the saturation phase.
    ``herd`` leaves nothing (one shipment per scanner, all measured)."""
    if start == "herd":
        return []
    done = len(scan_plan(scanner, k, start)[0])
    return [(1, n) for n in range(done + 1, k + 1)]


def shipments_per_scanner(start: str) -> int:
    return 1 if start == "herd" else 2


#: One scan by one scanner: ``(scanner, shipment, unit)`` → seconds until the answer.
ScanFn = Callable[[int, int, int], Awaitable[float]]


async def warm_up(scanners: int, k: int, start: str, scan: ScanFn) -> None:
    """Every scanner's unmeasured scans (``scan_plan``), then a pause for their moves."""

    async def one(i: int) -> None:
        for shipment, n in scan_plan(i, k, start)[0]:
            await scan(i, shipment, n)

    await asyncio.gather(*(one(i) for i in range(scanners)))
    await asyncio.sleep(2.0)


async def drive(
    name: str,
    scanners: int,
    k: int,
    pace: Pace,
    start: str,
    scan: ScanFn,
    phase: Phase | None = None,
    *,
    saturate: float | None = None,
) -> Phase:
    """The measured part, the same for every phase: each scanner's plan on its schedule.

    ``saturate``: instead, each scanner's :func:`saturation_plan` back-to-back (no pauses),
    starting no scan after that many seconds."""
    phase = phase or Phase(name)
    # The driver's own full GC passes (100-350 ms with 100 clients alive) would stop every
    # scanner's clock at once, in either phase: keep them off the measurement.
    freeze_startup_objects()
    started = time.perf_counter()

    async def scanner(i: int) -> None:
        if saturate is not None:
            for shipment, n in saturation_plan(i, k, start):
                if time.perf_counter() - started >= saturate:
                    return
                phase.add(n, k, await scan(i, shipment, n))
            return
        first, pauses = pace.schedule(i, k)
        await asyncio.sleep(first)
        for m, (shipment, n) in enumerate(scan_plan(i, k, start)[1]):
            if m > 0:
                await asyncio.sleep(pauses[m])
            phase.add(n, k, await scan(i, shipment, n))

    outcomes = await asyncio.gather(*(scanner(i) for i in range(scanners)), return_exceptions=True)
    phase.elapsed = time.perf_counter() - started
    phase.failures += [f"{type(e).__name__}: {e}"[:300] for e in outcomes if e is not None]
    return phase
