"""How busy the CPUs were with other work: the contention check behind `seedge bench`.

A benchmark on a shared machine is only honest if it says how much CPU other processes
took while it ran. The load average cannot say that (it counts this process's own threads
and lags by a minute), so the figures come from /proc/stat deltas instead:

    busy cores   = busy ticks of the CPUs this process may run on / all their ticks x CPUs
    own cores    = this process's CPU seconds (all threads, getrusage) over the same window
    other cores  = busy cores - own cores       (never below 0; ticks are coarse)
    steal share = steal ticks / all ticks        (a hypervisor gave the vCPU to another guest)

The rule (`contended`): other processes used more than 0.25 of a core on average, or the
hypervisor stole more than 5 % of the CPU time. Both are sized to what hurts eager
PyTorch: a quarter of a core taken by someone else already means one of its OpenMP
threads waits at a barrier a time slice per parallel region now and then
(benchmarks/README.md, "Timing under load", has the measurements).

`free_cores` is the thread count that leaves room for that other work: the CPUs minus the
cores others used, rounding a share above the same 0.25 up to a whole core, never below 1.
Where /proc/stat cannot be read (not Linux) only the load average is reported and
`contended` falls back to "1-minute load average above 1".
"""

from __future__ import annotations

import math
import os
import resource
import time
from dataclasses import asdict, dataclass

from seedge import hostcpu

OTHER_CORES_LIMIT = 0.25  # cores other processes may use before a run counts as contended
STEAL_LIMIT = 0.05  # share of CPU time a hypervisor may steal before it does
LOADAVG_LIMIT = 1.0  # the fallback rule where /proc/stat is missing
PROC_STAT = "/proc/stat"


@dataclass(frozen=True)
class CpuSample:
    """One reading of the CPU counters (ticks summed over the CPUs counted)."""

    wall_s: float  # time.monotonic()
    busy: int  # user + nice + system + irq + softirq (guest time is already inside user)
    idle: int  # idle + iowait
    steal: int
    own_cpu_s: float  # this process's user + system CPU seconds, every thread
    cpus: int  # how many CPUs the ticks cover


@dataclass(frozen=True)
class Load:
    """CPU use over one window, in cores (1.0 = one CPU fully busy) and shares."""

    seconds: float
    cpus: int
    busy_cores: float
    own_cores: float
    other_cores: float
    steal_share: float

    @property
    def contended(self) -> bool:
        return self.other_cores > OTHER_CORES_LIMIT or self.steal_share > STEAL_LIMIT

    @property
    def free_cores(self) -> int:
        """CPUs left for this process: other work above 0.25 of a core takes a whole one."""
        taken = math.ceil(max(0.0, self.other_cores - OTHER_CORES_LIMIT))
        return max(1, self.cpus - taken)

    def to_dict(self) -> dict:
        d = {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}
        return {**d, "free_cores": self.free_cores, "contended": self.contended}


def parse_proc_stat(text: str, cpus: set[int] | None = None) -> tuple[int, int, int, int]:
    """(busy, idle, steal, CPUs counted) ticks from /proc/stat text, summed over `cpus` (the
    per-CPU lines of those CPU numbers), or the aggregate line when `cpus` is None."""
    busy = idle = steal = n = 0
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu"):
            continue
        if cpus is None:
            if name != "cpu":
                continue
        elif name == "cpu" or int(name[3:]) not in cpus:
            continue
        f = [int(x) for x in rest.split()] + [0] * 8
        user, nice, system, idle_t, iowait, irq, softirq, steal_t = f[:8]
        busy += user + nice + system + irq + softirq
        idle += idle_t + iowait
        steal += steal_t
        n += 1
    if cpus is None:  # the aggregate line: its CPU count is the number of cpuN lines
        n = sum(1 for line in text.splitlines() if line[:3] == "cpu" and line[3:4].isdigit())
    return busy, idle, steal, n


def _own_cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def sample(path: str = PROC_STAT) -> CpuSample | None:
    """Read the counters now, over the CPUs this process may run on; None without /proc/stat."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    mine = hostcpu.allowed_cpus()
    busy, idle, steal, n = parse_proc_stat(text, mine)
    if n == 0:  # affinity names CPUs /proc/stat does not list (odd containers): use them all
        busy, idle, steal, n = parse_proc_stat(text, None)
    return CpuSample(time.monotonic(), busy, idle, steal, _own_cpu_seconds(), n)


def between(a: CpuSample, b: CpuSample, ticks_per_s: float | None = None) -> Load:
    """CPU use from sample `a` to sample `b` (see the module docstring for the formulas)."""
    hz = ticks_per_s or os.sysconf("SC_CLK_TCK")
    total = (b.busy - a.busy) + (b.idle - a.idle) + (b.steal - a.steal)
    cpus = b.cpus
    seconds = max(0.0, b.wall_s - a.wall_s)
    if total <= 0:  # shorter than one tick: nothing measurable
        return Load(seconds, cpus, 0.0, 0.0, 0.0, 0.0)
    busy_cores = (b.busy - a.busy) / total * cpus
    own_cores = (b.own_cpu_s - a.own_cpu_s) * hz / total * cpus
    return Load(seconds, cpus, busy_cores, own_cores, max(0.0, busy_cores - own_cores), (b.steal - a.steal) / total)


def measure(seconds: float = 0.5, path: str = PROC_STAT) -> Load | None:
    """CPU use by everything else while this process sleeps `seconds`; None without /proc/stat."""
    a = sample(path)
    if a is None:
        return None
    time.sleep(max(0.0, float(seconds)))
    b = sample(path)
    return None if b is None else between(a, b)


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


class LoadMonitor:
    """Samples taken before and during a run, summarized into `report()`.

    `before()` sleeps a short window and measures what others use while this process is
    idle (that also decides the free cores). `mark(key)` takes a sample after a slice of
    work and charges the window since the previous sample to `key` (e.g. a timing round).
    """

    def __init__(self, path: str = PROC_STAT):
        self.path = path
        self.idle: Load | None = None
        self.loadavg_before: list[float] | None = None
        self._first: CpuSample | None = None
        self._last: CpuSample | None = None
        self._windows: dict = {}

    def before(self, seconds: float = 0.5) -> Load | None:
        self.loadavg_before = load_average()
        self.idle = measure(seconds, self.path)
        self._first = self._last = sample(self.path)
        return self.idle

    def mark(self, key=None) -> None:
        now = sample(self.path)
        if now is None or self._last is None:
            return
        load = between(self._last, now)
        self._last = now
        if key is None:  # e.g. a warm-up: counted in `during`, not charged to a round
            return
        prev = self._windows.get(key)
        self._windows[key] = load if prev is None else _merge(prev, load)

    def windows(self) -> dict:
        return dict(self._windows)

    def during(self) -> Load | None:
        if self._first is None or self._last is None or self._last is self._first:
            return None
        return between(self._first, self._last)

    def free_cores(self, cpus: int) -> int:
        return self.idle.free_cores if self.idle is not None else cpus

    def report(self) -> dict:
        """JSON-ready figures and the verdict: contended before the run or on average during it."""
        during = self.during()
        rounds = self.windows()
        measured = [x for x in (self.idle, during) if x is not None]
        if measured:
            contended = any(x.contended for x in measured)
            rule = (
                f"other processes > {OTHER_CORES_LIMIT} core or steal > {STEAL_LIMIT:.0%}, "
                f"before the run (idle window) or on average during it (/proc/stat)"
            )
        else:
            la = self.loadavg_before
            contended = bool(la and la[0] > LOADAVG_LIMIT)
            rule = f"1-minute load average > {LOADAVG_LIMIT} (no /proc/stat here)"
        return {
            "contended": contended,
            "rule": rule,
            "load_average_before": self.loadavg_before,
            "load_average_after": load_average(),
            "before": self.idle.to_dict() if self.idle else None,
            "during": during.to_dict() if during else None,
            "contended_rounds": sum(1 for x in rounds.values() if x.contended),
            "rounds": [{"round": list(k) if isinstance(k, tuple) else k, **v.to_dict()} for k, v in rounds.items()],
        }


def _merge(a: Load, b: Load) -> Load:
    """Two windows of the same key as one, weighted by their lengths."""
    s = a.seconds + b.seconds
    if s <= 0:
        return b
    w = a.seconds / s

    def mix(x, y):
        return x * w + y * (1 - w)

    return Load(
        s,
        b.cpus,
        mix(a.busy_cores, b.busy_cores),
        mix(a.own_cores, b.own_cores),
        mix(a.other_cores, b.other_cores),
        mix(a.steal_share, b.steal_share),
    )
