"""seedge.hostcpu: the one place the host CPU is asked (flags, usable cores, the thread rule).

The flags are parsed from sample /proc/cpuinfo texts (an x86 server with VNNI, an AVX2-only
desktop, an ARM board); the core count follows the process's affinity mask (a child pinned to one
CPU counts one); the C++ runtime's CPUID verdict equals Python's here (slow: builds C++).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import _cpp_build
import pytest

from seedge import hostcpu

ROOT = Path(__file__).resolve().parents[1]
cpp_build = _cpp_build.cpp_build  # the shared session fixture that builds the runtime

X86_VNNI = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9654 96-Core Processor
physical id\t: 0
core id\t: 0
flags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx512_bf16 xsave

processor\t: 1
model name\t: AMD EPYC 9654 96-Core Processor
physical id\t: 0
core id\t: 0
flags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx512_bf16 xsave

processor\t: 2
model name\t: AMD EPYC 9654 96-Core Processor
physical id\t: 0
core id\t: 1
flags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx512_bf16 xsave
"""
AVX2_ONLY = "processor\t: 0\nmodel name\t: Intel(R) Core(TM) i7-7700\nflags\t\t: fpu sse2 avx avx2 fma\n"
ALDER_LAKE = "processor\t: 0\nmodel name\t: 12th Gen Intel(R) Core(TM) i5-12400\nflags\t\t: avx2 avx_vnni\n"
SAPPHIRE = ("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n"
            "flags\t\t: avx512f amx_tile amx_int8 amx_bf16\n")
ARM = "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm aes crc32 cpuid asimddp\n"


@pytest.fixture(autouse=True)
def vnni_switch_unset(monkeypatch):
    monkeypatch.delenv(hostcpu.NO_VNNI_ENV, raising=False)


def test_flags_model_and_cores_come_from_the_cpuinfo_text():
    info = hostcpu.parse_cpuinfo(X86_VNNI)
    assert info.model == "AMD EPYC 9654 96-Core Processor"
    assert info.physical_cores == 2  # three logical CPUs on two (physical id, core id) pairs
    assert {"avx2", "avx512_vnni", "avx512_bf16"} <= info.flags
    assert hostcpu.isa(info) == ["avx2", "avx512f", "avx512_vnni", "avx512_bf16"]
    arm = hostcpu.parse_cpuinfo(ARM)
    assert arm.model is None and arm.physical_cores == 0 and hostcpu.isa(arm) == ["asimd"]


@pytest.mark.parametrize("text, vnni", [(X86_VNNI, True), (ALDER_LAKE, True), (SAPPHIRE, True),
                                        (AVX2_ONLY, False), (ARM, False), ("", False)])
def test_vnni_verdict_of_each_cpu(text, vnni):
    assert hostcpu.has_vnni(hostcpu.parse_cpuinfo(text)) is vnni


def test_the_no_vnni_switch_answers_no(monkeypatch):
    monkeypatch.setenv(hostcpu.NO_VNNI_ENV, "1")
    assert hostcpu.has_vnni(hostcpu.parse_cpuinfo(X86_VNNI)) is False
    monkeypatch.setenv(hostcpu.NO_VNNI_ENV, "0")
    assert hostcpu.has_vnni(hostcpu.parse_cpuinfo(X86_VNNI)) is True


def test_an_unreadable_cpuinfo_is_a_cpu_without_flags(tmp_path):
    info = hostcpu.read_cpuinfo(str(tmp_path / "missing"))
    assert info.flags == frozenset() and not hostcpu.has_vnni(info)


def test_this_machine_is_read_once():
    assert hostcpu.cpuinfo() is hostcpu.cpuinfo()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no affinity masks on this OS")
def test_the_core_count_and_the_thread_rule_follow_the_affinity_mask():
    assert hostcpu.available_cpus() == len(os.sched_getaffinity(0))
    one = min(os.sched_getaffinity(0))
    code = (f"import os; os.sched_setaffinity(0, {{{one}}}); from seedge import hostcpu; "
            "print(hostcpu.available_cpus(), hostcpu.default_threads(), hostcpu.default_threads(8))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["1", "1", "1"]


def test_the_thread_rule_uses_the_free_cores_within_the_usable_ones():
    cpus = hostcpu.available_cpus()
    assert hostcpu.default_threads() == cpus
    assert hostcpu.default_threads(0) == 1 and hostcpu.default_threads(-3) == 1
    assert hostcpu.default_threads(cpus + 5) == cpus and hostcpu.default_threads(1) == 1


def test_no_thread_count_is_hard_coded_in_seedge():
    # Export-time choices are timed at the device's thread count (default_threads), never at a
    # literal: `threads=2` or `threads: int = 2` anywhere in seedge/ fails.
    literal = re.compile(r"\bthreads\s*(:\s*int\s*)?=\s*\d+\b")
    found = [f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
             for p in sorted((ROOT / "seedge").rglob("*.py"))
             for i, line in enumerate(p.read_text().splitlines(), 1) if literal.search(line)]
    assert found == []


@pytest.mark.slow
def test_cpp_cpu_verdict_equals_pythons(cpp_build, monkeypatch):
    # seedge_cpu prints the C++ runtime's verdict (CPUID + XGETBV); Python reads /proc/cpuinfo.
    for switch in ("", "1"):
        monkeypatch.setenv(hostcpu.NO_VNNI_ENV, switch)
        out = subprocess.run([str(cpp_build / "seedge_cpu")], capture_output=True, text=True, timeout=60)
        want = "yes" if hostcpu.has_vnni() else "no"
        assert out.stdout.split()[:2] == ["vnni", want], f"SEEDGE_CPU_NO_VNNI={switch!r}: {out.stderr}"


@pytest.mark.slow
def test_cpp_thread_rule_equals_pythons(cpp_build):
    # The C++ runtime pins as many threads as Python's runners do when none is given: the CPUs in
    # this process's affinity mask, also when the mask is narrower than the machine.
    tool = str(cpp_build / "seedge_cpu")
    out = subprocess.run([tool], capture_output=True, text=True, timeout=60)
    assert out.stdout.split()[2:] == ["threads", str(hostcpu.default_threads())], out.stdout
    one = sorted(os.sched_getaffinity(0))[:1]
    pinned = subprocess.run([tool], capture_output=True, text=True, timeout=60,
                            preexec_fn=lambda: os.sched_setaffinity(0, one))
    assert pinned.stdout.split()[2:] == ["threads", "1"], pinned.stdout
