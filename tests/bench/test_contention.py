"""seedge bench under load: the contention rule, the thread choice, flags, and a real run
while competing processes spin (issue 14, item 1). Speed itself is never asserted.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time

import pytest

from _export_fixtures import export_folder
from seedge.bench.load import CpuSample, LoadMonitor, between, parse_proc_stat
from seedge.bench.rows import FLAG_FP16_SLOWER, FLAG_SLOWER_THAN_EAGER, flag_slow_rows
from seedge.hostcpu import default_threads

HZ = 100
BUSY_LIFETIME_S = 120  # a competitor ends by itself even if the test process dies


def _stat(*cpus: tuple[int, int, int, int]) -> str:
    """/proc/stat text for CPUs given as (user, system, idle, steal) ticks."""
    rows = [f"cpu{i} {u} 0 {s} {idle} 0 0 0 {st} 0 0" for i, (u, s, idle, st) in enumerate(cpus)]
    tot = [sum(c[k] for c in cpus) for k in range(4)]
    head = f"cpu  {tot[0]} 0 {tot[1]} {tot[2]} 0 0 0 {tot[3]} 0 0"
    return "\n".join([head, *rows, "intr 1 2 3", "ctxt 99", "btime 1"]) + "\n"


def _sample(t: float, text: str, own_s: float, cpus=None) -> CpuSample:
    busy, idle, steal, n = parse_proc_stat(text, cpus)
    return CpuSample(t, busy, idle, steal, own_s, n)


# ------------------------------------------------------------------ the rule, on synthetic samples

def test_parse_proc_stat_sums_only_the_cpus_asked_for():
    text = _stat((10, 5, 100, 1), (40, 10, 50, 3))
    assert parse_proc_stat(text) == (65, 150, 4, 2)           # the aggregate line, 2 CPUs
    assert parse_proc_stat(text, {1}) == (50, 50, 3, 1)       # only cpu1 (this process's affinity)


def test_others_using_most_of_a_core_is_contended_and_takes_that_core():
    # 2 CPUs, 1 s = 200 ticks: 120 busy, of which this process used 0.3 s = 30 ticks
    a = _sample(0.0, _stat((0, 0, 0, 0), (0, 0, 0, 0)), own_s=1.0)
    b = _sample(1.0, _stat((60, 0, 40, 0), (60, 0, 40, 0)), own_s=1.3)
    load = between(a, b, ticks_per_s=HZ)
    assert load.busy_cores == pytest.approx(1.2)
    assert load.own_cores == pytest.approx(0.3)
    assert load.other_cores == pytest.approx(0.9)
    assert load.contended and load.free_cores == 1
    d = load.to_dict()
    assert d["contended"] is True and d["free_cores"] == 1 and d["cpus"] == 2


def test_own_work_alone_is_not_contention():
    # the CPUs were 90 % busy, but with this process's own threads (1.8 of 2 cores)
    a = _sample(0.0, _stat((0, 0, 0, 0), (0, 0, 0, 0)), own_s=0.0)
    b = _sample(1.0, _stat((90, 0, 10, 0), (88, 2, 10, 0)), own_s=1.8)
    load = between(a, b, ticks_per_s=HZ)
    assert load.other_cores == pytest.approx(0.0, abs=1e-9)
    assert not load.contended and load.free_cores == 2


def test_the_quarter_core_threshold_and_free_core_rounding():
    def other(cores: float):
        ticks = round(cores * 100)
        a = _sample(0.0, _stat((0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0)), own_s=0.0)
        b = _sample(1.0, _stat((ticks, 0, 100 - ticks, 0), (0, 0, 100, 0), (0, 0, 100, 0), (0, 0, 100, 0)),
                    own_s=0.0)
        return between(a, b, ticks_per_s=HZ)

    assert not other(0.2).contended and other(0.2).free_cores == 4
    assert other(0.3).contended and other(0.3).free_cores == 3
    assert other(1.0).free_cores == 3 and other(1.3).free_cores == 2


def test_steal_above_five_percent_is_contended():
    a = _sample(0.0, _stat((0, 0, 0, 0), (0, 0, 0, 0)), own_s=0.0)
    quiet = _sample(1.0, _stat((0, 0, 96, 4), (0, 0, 96, 4)), own_s=0.0)    # 4 % stolen
    stolen = _sample(1.0, _stat((0, 0, 88, 12), (0, 0, 88, 12)), own_s=0.0)  # 12 % stolen
    assert not between(a, quiet, ticks_per_s=HZ).contended
    s = between(a, stolen, ticks_per_s=HZ)
    assert s.steal_share == pytest.approx(0.12) and s.contended


def test_monitor_reports_a_contended_round_read_from_a_stat_file(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text(_stat((1000, 0, 5000, 0), (1000, 0, 5000, 0)))
    mon = LoadMonitor(str(stat))
    idle = mon.before(0.0)          # nothing moved between the two readings: nothing measured
    assert idle is not None and not idle.contended
    # both CPUs fully busy with someone else's work for the next window (the file's 2 CPUs are
    # what is counted, whatever this process's affinity: CPUs the file lacks are not summed)
    stat.write_text(_stat(*[(1000 + 10_000, 0, 5000, 0)] * 2))
    mon.mark((1, 1))
    report = mon.report()
    assert report["contended"] is True
    assert report["contended_rounds"] == 1 and report["rounds"][0]["round"] == [1, 1]
    assert report["during"]["other_cores"] > 1.5


def test_default_threads_never_exceeds_cpus_nor_drops_below_one():
    cpus = default_threads()
    assert cpus >= 1
    assert default_threads(0) == 1 and default_threads(cpus + 5) == cpus
    assert default_threads(1) == 1


def _row(art, backend, precision, p50, rounds, batch=1):
    return {"artifact": art, "backend": backend, "precision": precision, "batch": batch, "p50_ms": p50,
            "round_p50_ms": rounds}


def test_flags_slower_than_eager_and_fp16_slower_than_fp32():
    rows = [
        _row("eager", "torch", "fp32", 10.0, [10, 10, 10]),
        _row("onnx-fp32", "onnxruntime", "fp32", 2.0, [2, 2, 2]),
        _row("onnx-fp16", "onnxruntime", "fp16", 3.0, [3, 3, 1.9]),        # slower in 2 of 3 rounds
        _row("torchscript-fp32", "torchscript", "fp32", 12.0, [12, 12, 12]),
        _row("openvino-fp32", "openvino", "fp32", 4.0, [4, 4, 4]),
        _row("openvino-fp16", "openvino", "fp16", 4.1, [4.1, 3.9, 3.9]),   # a higher p50, 1 round of 3: a tie
        _row("eager", "torch", "fp32", 20.0, [20, 20, 20], batch=8),
        _row("onnx-fp16", "onnxruntime", "fp16", 30.0, [30, 30, 30], batch=8),  # no fp32 at batch 8
    ]
    flag_slow_rows(rows)
    assert [r["flag"] for r in rows] == [[], [], [FLAG_FP16_SLOWER], [FLAG_SLOWER_THAN_EAGER], [], [], [],
                                         [FLAG_SLOWER_THAN_EAGER]]


# ------------------------------------------------------------------ a real run against competitors

def _busy_loops(n: int) -> list[subprocess.Popen]:
    code = f"import time\nend = time.monotonic() + {BUSY_LIFETIME_S}\nwhile time.monotonic() < end:\n    pass\n"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]


def test_seedge_bench_under_competing_processes_reports_contended(capsys):
    from seedge.cli import main
    from seedge.cli.bench_cmd import _table

    folder = export_folder()  # built before the competitors start
    busy = _busy_loops(2)
    try:
        time.sleep(0.3)  # let them reach the scheduler
        with pytest.raises(SystemExit) as e:
            main(["bench", str(folder), "--backend", "onnxruntime", "--warmup", "1", "--iters", "3",
                  "--rounds", "3", "--json"])
        assert all(p.poll() is None for p in busy), "a competitor ended before the run did"
    finally:
        for p in busy:
            p.kill()
            p.wait()
    assert e.value.code == 0
    doc = json.loads(capsys.readouterr().out)
    env, settings = doc["environment"], doc["settings"]
    assert env["contended"] is True
    assert env["other_cores_before"] > 0.25 and env["other_cores_during"] > 0.25
    for key in ("load_average", "steal_share_before", "steal_share_during", "free_cores", "contention_rule"):
        assert key in env, key
    # no --threads: every runner got the free cores measured before the run, eager included
    assert settings["threads"] == env["free_cores"] == default_threads(env["free_cores"])
    assert settings["threads"] <= default_threads() - 1 or default_threads() == 1
    assert settings["threads_rule"].startswith("free cores before the run")
    eager = next(r for r in doc["results"] if r["artifact"] == "eager")
    assert eager["runner"]["threads"] == settings["threads"]
    for r in doc["results"]:
        lo, hi = r["speedup_range"]
        assert lo <= hi and len(r["speedup_rounds"]) == 3 and isinstance(r["flag"], list)
    assert len(env["load"]["rounds"]) == 3  # one load window per timed round

    from rich.console import Console

    con = Console(width=200, record=True, file=io.StringIO())
    con.print(_table(doc))
    text = con.export_text()
    assert "CONTENDED" in text and "ratio range" in text and "free cores before the run" in text
