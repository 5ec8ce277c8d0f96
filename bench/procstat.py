"""CPU seconds per process from /proc (Linux), to see where a phase's time went."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, field

_TICK = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0


def process_cpu(pid: int, *, with_children: bool = False) -> float:
    """utime+stime of ``pid`` (and of its reaped children) in seconds; 0 if unreadable."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            raw = fh.read()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): utime=14, stime=15, cutime=16, cstime=17
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / _TICK


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                raw = fh.read()
        except OSError:
            continue
        if int(raw[raw.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(entry))
    return found


def tree_cpu(pid: int) -> float:
    """A process, its live children and what its reaped children used (Postgres backends)."""
    return process_cpu(pid, with_children=True) + sum(process_cpu(c) for c in children_of(pid))


def system_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    with open("/proc/stat") as fh:
        parts = [int(x) for x in fh.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    total = sum(parts[:8])
    return (total - idle) / _TICK, total / _TICK


def self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


@dataclass
class CpuSample:
    per: dict[str, float] = field(default_factory=dict)
    busy: float = 0.0


MACHINE_BUSY = "machine busy (all processes)"
OTHER = "other (incl. Postgres if external)"
#: Rows of ``CpuMeter.diff`` that are not one of the stack's processes.
MACHINE_ROWS = frozenset({MACHINE_BUSY, OTHER})


class CpuMeter:
    """Samples named processes (``{name: (pid, tree)}``) plus this process and the machine."""

    def __init__(self, pids: dict[str, tuple[int, bool]]) -> None:
        self.pids = pids

    def sample(self) -> CpuSample:
        per = {
            name: tree_cpu(pid) if tree else process_cpu(pid)
            for name, (pid, tree) in self.pids.items()
        }
        per["bench (driver + bare worker)"] = self_cpu()
        return CpuSample(per=per, busy=system_busy()[0])

    @staticmethod
    def diff(before: CpuSample, after: CpuSample) -> dict[str, float]:
        out = {name: after.per[name] - before.per.get(name, 0.0) for name in after.per}
        known = sum(out.values())
        out[MACHINE_BUSY] = after.busy - before.busy
        out[OTHER] = max(0.0, out[MACHINE_BUSY] - known)
        return out
