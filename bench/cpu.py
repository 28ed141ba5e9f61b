"""CPU seconds spent by each part of a benchmark run, read from /proc (Linux).

A storm on two cores is limited by CPU as much as by waiting: the share each part took
(alerting, ingest, PostgreSQL, Mosquitto, the bench's own publisher and receiver) says where
to look first, and the machine's total says whether anything else was running at the time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True, slots=True)
class Proc:
    """One process as /proc shows it: its parent, its command line and its CPU seconds."""

    pid: int
    ppid: int
    cmdline: str
    cpu_s: float


def processes() -> dict[int, Proc]:
    """Every process readable now (an empty map where /proc is missing)."""
    found: dict[int, Proc] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        utime, stime = int(fields[11]), int(fields[12])
        pid = int(entry.name)
        found[pid] = Proc(pid, int(fields[1]), cmdline, (utime + stime) / _TICK)
    return found


def _machine_ticks() -> list[int]:
    """The machine's CPU time counters since boot (/proc/stat's first line), or none."""
    try:
        return [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except OSError:
        return []


def machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy since boot (every core, not idle or iowait)."""
    ticks = _machine_ticks()
    if not ticks:
        return 0.0
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks[:8]) - idle) / _TICK


def machine_steal_s() -> float:
    """CPU seconds the hypervisor gave other guests while this machine wanted them (steal).

    On a shared virtual machine a run with much steal had less CPU than its wall time says:
    its figures are not comparable with a run without.
    """
    ticks = _machine_ticks()
    return ticks[7] / _TICK if len(ticks) > 7 else 0.0


def parts(
    procs: dict[int, Proc], *, workdir: Path, services: dict[str, Iterable[int | None]]
) -> dict[str, set[int]]:
    """Group the run's processes: the named services, the private servers (by their folder,
    with their children: PostgreSQL's backends), and this process."""
    groups: dict[str, set[int]] = {
        name: {p for p in pids if p is not None} for name, pids in services.items()
    }
    groups["bench"] = {os.getpid()}
    marker = str(workdir)
    for kind in ("postgres", "mosquitto"):
        roots = {p.pid for p in procs.values() if kind in p.cmdline and marker in p.cmdline}
        groups[kind] = roots | {p.pid for p in procs.values() if p.ppid in roots}
    return groups


class CpuMeter:
    """CPU seconds per part between :meth:`start` and :meth:`stop`."""

    def __init__(self, workdir: Path, services: dict[str, Iterable[int | None]]) -> None:
        self.workdir = workdir
        self.services = services
        self._before: dict[int, Proc] = {}
        self._machine = 0.0
        self._steal = 0.0

    def start(self) -> None:
        self._before = processes()
        self._machine = machine_busy_s()
        self._steal = machine_steal_s()

    def stop(self) -> dict[str, float]:
        """CPU seconds per part, and the whole machine's ('machine', every process)."""
        after = processes()
        groups = parts(after, workdir=self.workdir, services=self.services)
        used: dict[str, float] = {}
        for name, pids in groups.items():
            total = 0.0
            for pid in pids:
                if pid in after:
                    before = self._before.get(pid)
                    total += after[pid].cpu_s - (before.cpu_s if before else 0.0)
            used[name] = round(total, 2)
        used["machine"] = round(machine_busy_s() - self._machine, 2)
        used["steal"] = round(machine_steal_s() - self._steal, 2)  # part of 'machine'
        return used


__all__ = ["CpuMeter", "machine_busy_s", "machine_steal_s", "processes"]
