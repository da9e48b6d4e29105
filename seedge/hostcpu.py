"""The host CPU, asked once: its flags (VNNI/AMX among them), the cores this process may use,
and the thread rule every runner and every export-time timing follows.

Why one module: these facts decide which INT8 artifact is built and refused
(seedge.backends.cpu_features), how many threads a runner pins (seedge.backends.base), what a
benchmark's environment reports (seedge.bench.environment, seedge.bench.load) and at how many
threads the export times its choices (OpenVINO's bf16-vs-f32 and INT8 route choices). Computed
in several places they drifted; here /proc/cpuinfo is read once per process and the affinity
mask is the one core count.

Named `hostcpu`, not `platform`: inside the package an absolute import would work, but a module
called `platform` reads as the standard library's at every call site. Torch-free and cheap: the
device runtime imports it. Linux reads /proc/cpuinfo; elsewhere the flags are empty, which
only costs INT8 accuracy (portable builds), never correctness. The C++ runtime reads CPUID
itself (seedge/runtime/cpp/src/cpu_features.cpp); tests/test_hostcpu.py checks that both give
the same VNNI verdict here.

SEEDGE_CPU_NO_VNNI=1 is a test/diagnostic switch: answer "no VNNI" on a CPU that has it, to see
what an AVX2-only device would do (refusals, portable defaults) without one. The C++ side reads
it too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

CPUINFO = "/proc/cpuinfo"
# /proc/cpuinfo flag names of the instructions that accumulate u8 x s8 in 32 bits (INT8 kernels
# without them saturate with 8-bit weights: seedge.backends.cpu_features).
VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
NO_VNNI_ENV = "SEEDGE_CPU_NO_VNNI"
# The flags that decide which kernels the backends pick, reported beside benchmark numbers.
ISA_FLAGS = (
    "avx2",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_bf16",
    "amx_int8",
    "amx_fp16",
    "neon",
    "asimd",
)


@dataclass(frozen=True)
class CpuInfo:
    model: str | None  # "model name" of the first CPU (None where the file has none)
    flags: frozenset[str]  # the first CPU's flags (every core lists the same)
    physical_cores: int  # distinct (physical id, core id) pairs; 0 where the file has none


def parse_cpuinfo(text: str) -> CpuInfo:
    """The facts of a /proc/cpuinfo text (x86 "flags", ARM "Features"). A blank line ends one
    logical CPU's block; its (physical id, core id) pair names its core."""
    model: str | None = None
    flags: frozenset[str] = frozenset()
    cores: set[tuple[str, str]] = set()
    phys = core = None
    for line in text.splitlines() + [""]:
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "model name" and model is None:
            model = value
        elif key in ("flags", "Features") and not flags:
            flags = frozenset(value.split())
        elif key == "physical id":
            phys = value
        elif key == "core id":
            core = value
        elif not key and phys is not None and core is not None:
            cores.add((phys, core))
            phys = core = None
    return CpuInfo(model, flags, len(cores))


def read_cpuinfo(path: str = CPUINFO) -> CpuInfo:
    """parse_cpuinfo of the file at `path`; empty facts where it cannot be read (not Linux)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return parse_cpuinfo(f.read())
    except OSError:
        return CpuInfo(None, frozenset(), 0)


@lru_cache(maxsize=1)
def cpuinfo() -> CpuInfo:
    """This machine's /proc/cpuinfo, read once per process (the CPU does not change under it)."""
    return read_cpuinfo(CPUINFO)


def has_vnni(info: CpuInfo | None = None) -> bool:
    """True when the CPU (this one, or `info`) has AVX512-VNNI, AVX-VNNI or AMX-INT8, and
    SEEDGE_CPU_NO_VNNI is unset or "0"."""
    if os.environ.get(NO_VNNI_ENV, "") not in ("", "0"):
        return False
    return bool((info or cpuinfo()).flags & set(VNNI_FLAGS))


def isa(info: CpuInfo | None = None) -> list[str]:
    """The kernel-deciding flags (ISA_FLAGS) the CPU has, in ISA_FLAGS order."""
    flags = (info or cpuinfo()).flags
    return [f for f in ISA_FLAGS if f in flags]


# --- cores and threads ----------------------------------------------------------------------------


def allowed_cpus() -> set[int] | None:
    """The ids of the CPUs this process may run on (its affinity mask: taskset, cgroup cpusets),
    or None where the OS does not say (then every CPU counts)."""
    return set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None


def available_cpus() -> int:
    """How many CPUs this process may run on: its affinity mask, else every logical CPU."""
    mine = allowed_cpus()
    return len(mine) if mine else (os.cpu_count() or 1)


def default_threads(free_cores: int | None = None) -> int:
    """The thread count every runner pins when none is given, so export-time timing, verify,
    bench and the device runtime run an artifact with the same settings: the CPUs this process
    may run on, or, when the caller measured how many of them other processes leave free
    (`seedge bench` does, with seedge.bench.load, before it times), no more than those and at
    least 1. More threads than free cores make eager PyTorch's OpenMP threads wait a time slice
    at every barrier (benchmarks/README.md, "Timing under load")."""
    cpus = available_cpus()
    return cpus if free_cores is None else max(1, min(cpus, int(free_cores)))
