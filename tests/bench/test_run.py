"""seedge.bench and `seedge bench`: result structure, JSON-only stdout, PNG plot, bad input.

No timed assertions (speed is for benchmarks/): only that the numbers exist, are positive and finite,
and that the speedups are computed against the eager run of the same benchmark.
"""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys

import pytest

from _export_fixtures import export_folder
from seedge.bench import parse_batches, run_bench
from seedge.bench.environment import cpu_info
from seedge.bench.timing import split_rounds, summarize
from seedge.errors import SeedgeError

FIELDS = ("artifact", "backend", "precision", "device", "batch", "p50_ms", "p90_ms", "p99_ms",
          "throughput_ips", "speedup_vs_eager")
TINY = {"warmup": 1, "iters": 3, "rounds": 3, "threads": 1}


@pytest.fixture(scope="module")
def bench_result():
    return run_bench(export_folder(), batches=(1, 2), **TINY)


def test_run_bench_reports_every_artifact_and_eager_per_batch(bench_result):
    manifest = json.loads((export_folder() / "manifest.json").read_text())
    ids = {a["id"] for a in manifest["artifacts"]}
    results = bench_result["results"]
    for batch in (1, 2):
        got = {r["artifact"] for r in results if r["batch"] == batch}
        assert got == ids | {"eager"}
    for r in results:
        for f in FIELDS:
            assert f in r, f
        for f in ("p50_ms", "p90_ms", "p99_ms", "throughput_ips", "speedup_vs_eager"):
            assert math.isfinite(r[f]) and r[f] > 0, (f, r)
        assert r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"]
        assert r["device"] == "cpu" and r["iters"] == 3
        assert len(r["round_p50_ms"]) == 3  # interleaved rounds, each with its own median


def test_speedup_is_against_eager_of_the_same_run(bench_result):
    for batch in (1, 2):
        rows = [r for r in bench_result["results"] if r["batch"] == batch]
        eager = next(r for r in rows if r["artifact"] == "eager")
        assert eager["backend"] == "torch" and eager["speedup_vs_eager"] == pytest.approx(1.0)
        for r in rows:
            assert r["speedup_vs_eager"] == pytest.approx(eager["p50_ms"] / r["p50_ms"])


def test_environment_and_settings_are_recorded(bench_result):
    env, st = bench_result["environment"], bench_result["settings"]
    assert env["cpu_model"] and env["logical_cpus"] >= 1 and env["threads"] == 1
    assert env["versions"]["torch"] and env["versions"]["onnxruntime"]
    assert st["batches"] == [1, 2] and st["iters"] == 3 and st["rounds"] == 3 and st["interleaved"]
    ov = next(r for r in bench_result["results"] if r["backend"] == "openvino")
    assert ov["runner"]["inference_precision"] == "f32"  # the precision that ran, read back


def test_backend_filter_times_only_that_backend():
    out = run_bench(export_folder(), backends=["onnxruntime"], **TINY)
    assert {r["artifact"] for r in out["results"]} == {"eager", "onnx-fp32"}


@pytest.mark.slow  # end-to-end export/CLI run: keeps the fast default under 3 min
def test_cli_json_stdout_is_one_document_and_plot_is_png(tmp_path):
    png = tmp_path / "bench.png"
    proc = subprocess.run(
        [sys.executable, "-m", "seedge", "bench", str(export_folder()), "--backend", "openvino", "--batch", "1,2",
         "--threads", "1", "--warmup", "1", "--iters", "2", "--rounds", "2", "--json", "--plot", str(png)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # nothing but the JSON document on stdout
    # every artifact OpenVINO reads: its IR, and the ONNX file as a second reader
    assert {(r["artifact"], r["backend"]) for r in doc["results"]} == {
        ("eager", "torch"), ("openvino-fp32", "openvino"), ("onnx-fp32", "openvino")}
    assert {r["batch"] for r in doc["results"]} == {1, 2}
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 100 and height > 100


def test_cli_table(capsys):
    from seedge.cli import main

    with pytest.raises(SystemExit) as e:
        main(["bench", str(export_folder()), "--backend", "onnxruntime", "--threads", "1", "--warmup", "0",
              "--iters", "1", "--rounds", "1"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "onnx-fp32" in out and "eager" in out and "vs eager" in out


def _not_installed_backend() -> str | None:
    from seedge.backends.table import BACKENDS, installed_backends

    missing = [b for b in BACKENDS if b not in installed_backends()]
    return missing[0] if missing else None


@pytest.mark.parametrize("args, words", [
    (["--backend", "nosuch"], "'nosuch' is not one of"),
    (["--batch", "0"], "positive integers"),
    (["--batch", "1,x"], "positive integers"),
    (["--batch", "1.5"], "positive integers"),
    (["--threads", "0"], "--threads"),
    (["--device", "tpu"], "'tpu' is not one of 'cpu', 'cuda'"),
])
def test_cli_bad_input_is_one_line_exit_2(args, words, capsys):
    from seedge.cli import main

    with pytest.raises(SystemExit) as e:
        main(["bench", str(export_folder()), *args])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1, err


def test_cli_folder_without_manifest(tmp_path, capsys):
    from seedge.cli import main

    with pytest.raises(SystemExit) as e:
        main(["bench", str(tmp_path)])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "manifest.json" in err and len(err.splitlines()) == 1


def test_cuda_without_gpu_is_bad_input(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    from seedge.cli import main

    with pytest.raises(SystemExit) as e:
        main(["bench", str(export_folder()), "--device", "cuda"])
    assert e.value.code == 2
    assert "no CUDA GPU" in capsys.readouterr().err


def test_backend_not_installed_or_not_exported():
    missing = _not_installed_backend()
    if missing:
        with pytest.raises(SeedgeError, match="not installed"):
            run_bench(export_folder(), backends=[missing])
    # openvino runs only on the CPU: asking for it on cuda is refused before any work
    from seedge.bench.plan import select_pairs

    manifest = json.loads((export_folder() / "manifest.json").read_text())
    with pytest.raises(SeedgeError, match="does not run on"):
        select_pairs(export_folder(), manifest, ["openvino"], "cuda")
    manifest["artifacts"] = [a for a in manifest["artifacts"] if a["format"] != "onnx"]
    with pytest.raises(SeedgeError, match="no 'onnxruntime' artifact in the manifest \\(onnxruntime reads onnx"):
        select_pairs(export_folder(), manifest, ["onnxruntime"], "cpu")


def test_an_artifact_compiled_for_one_device_runs_there_or_is_skipped():
    """An AOTInductor package records the device family it was compiled for: verify runs it there
    (as OpenVINO stays on the CPU in a CUDA run), bench on another device skips it with why."""
    from seedge.backends.table import device_for
    from seedge.bench.plan import select_pairs

    cpu_pkg = {"id": "inductor-fp32", "backend": "inductor", "format": "inductor", "precision": "fp32",
               "build": {"device": "cpu"}}
    cuda_pkg = {**cpu_pkg, "build": {"device": "cuda"}}
    assert device_for("inductor", "cuda", cpu_pkg) == "cpu" and device_for("inductor", "cpu", cpu_pkg) == "cpu"
    assert device_for("inductor", "cpu", cuda_pkg) == "cuda" and device_for("inductor", "cuda:1", cuda_pkg) == "cuda:1"
    assert device_for("onnxruntime", "cuda", {"build": {}}) == "cuda"  # no recorded device: the backend's rule
    chosen, skipped = select_pairs(export_folder(), {"artifacts": [cpu_pkg]}, ["inductor"], "cuda")
    assert chosen == [] and "compiled for cpu; re-export with --device cuda" in skipped[0]["reason"]
    assert select_pairs(export_folder(), {"artifacts": [cpu_pkg]}, ["inductor"], "cpu")[0] == [(cpu_pkg, "inductor")]


def test_summarize_percentiles_and_throughput():
    s = summarize([1_000_000 * i for i in range(1, 101)], batch=4)  # 1..100 ms
    assert s["p50_ms"] == pytest.approx(50.5)
    assert s["p90_ms"] == pytest.approx(90.1)
    assert s["p99_ms"] == pytest.approx(99.01)
    assert s["min_ms"] == 1.0 and s["iters"] == 100
    assert s["throughput_ips"] == pytest.approx(4 * 100 / 5.05)  # images / summed seconds
    assert split_rounds(10, 3) == [4, 3, 3] and split_rounds(2, 5) == [1, 1]


def test_parse_batches():
    assert parse_batches("1, 8,1") == (1, 8)
    for bad in ("0", "-1", "", "a", "2.0"):
        with pytest.raises(SeedgeError):
            parse_batches(bad)


def test_cpu_info_reads_model_and_cores(tmp_path):
    text = ("processor\t: 0\nmodel name\t: Test CPU\nphysical id\t: 0\ncore id\t: 0\nflags\t: fpu avx2 amx_int8\n\n"
            "processor\t: 1\nmodel name\t: Test CPU\nphysical id\t: 0\ncore id\t: 0\nflags\t: fpu avx2 amx_int8\n\n")
    p = tmp_path / "cpuinfo"
    p.write_text(text)
    info = cpu_info(str(p))
    assert info["cpu_model"] == "Test CPU" and info["physical_cores"] == 1
    assert info["isa"] == ["avx2", "amx_int8"]


def test_runner_options_reach_the_runners_and_are_checked():
    out = run_bench(export_folder(), backends=["onnxruntime"], batches=(1,), warmup=0, iters=2, rounds=1,
                    threads=1, load_window_s=0, runner_options={"onnxruntime": {"allow_spinning": False}})
    row = next(r for r in out["results"] if r["backend"] == "onnxruntime")
    assert row["runner"]["allow_spinning"] is False and row["runner"]["execution_provider"] == "CPUExecutionProvider"
    assert out["settings"]["runner_options"] == {"onnxruntime": {"allow_spinning": False}}
    with pytest.raises(SeedgeError, match="options for tensorrt runners have no effect on --device cpu"):
        run_bench(export_folder(), runner_options={"tensorrt": {"cuda_graph": True}})
    with pytest.raises(SeedgeError, match="'torch' must be an artifact backend"):
        run_bench(export_folder(), runner_options={"torch": {}})
    # the CLI's --cuda-graph is such an option: one line, exit 2, on a CPU run
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, "-m", "seedge", "bench", str(export_folder()), "--cuda-graph"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2 and "no effect on --device cpu" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
