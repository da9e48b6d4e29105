"""Cross-check `seedge bench` against OpenVINO's own `benchmark_app` on the same IR.

Both run the exported OpenVINO IR at batch 1 with the configuration seedge's OpenVINO
runner uses (PERFORMANCE_HINT=LATENCY, INFERENCE_NUM_THREADS=N, INFERENCE_PRECISION_HINT
as recorded in the artifact), passed to benchmark_app with -load_config, synchronous API,
the model reshaped to the static batch-1 shape (-shape), as the runner compiles a static copy
per batch size it meets. The two are run alternately (`--repeats` times each) and their
medians compared; they should agree within 15%.

    python benchmarks/experiments/benchmark_app_check.py --model se_resnet50 --threads 2 --repeats 3 \
        --json benchmarks/results/benchmark_app_se_resnet50.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import exported_folder  # noqa: E402

TOLERANCE = 0.15
_MEDIAN = re.compile(r"Median:\s+([0-9.]+)\s*ms")
_PROP = re.compile(r"\[ INFO \]\s+(INFERENCE_PRECISION_HINT|INFERENCE_NUM_THREADS|PERFORMANCE_HINT|NUM_STREAMS):\s*(.+)")


def benchmark_app_path() -> str:
    here = Path(sys.executable).with_name("benchmark_app")
    found = str(here) if here.is_file() else shutil.which("benchmark_app")
    if not found:
        raise SystemExit("benchmark_app not found: it ships with the openvino pip package")
    return found


def run_benchmark_app(xml: Path, input_name: str, shape: list[int], threads: int, precision: str | None,
                      niter: int) -> dict:
    cfg = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": str(threads)}
    if precision:
        cfg["INFERENCE_PRECISION_HINT"] = precision
    with tempfile.TemporaryDirectory() as tmp:
        cfg_path = Path(tmp) / "config.json"
        cfg_path.write_text(json.dumps({"CPU": cfg}))
        cmd = [benchmark_app_path(), "-m", str(xml), "-d", "CPU", "-load_config", str(cfg_path), "-api", "sync",
               "-niter", str(niter), "-shape", f"{input_name}[{','.join(map(str, shape))}]"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    text = proc.stdout + proc.stderr
    m = _MEDIAN.search(text)
    if proc.returncode != 0 or not m:
        raise SystemExit(f"benchmark_app failed (exit {proc.returncode}):\n{text[-2000:]}")
    props = dict(_PROP.findall(text))
    return {"median_ms": float(m.group(1)), "command": " ".join(cmd), "config": cfg, "reported": props}


def run_seedge_bench(folder: Path, threads: int, iters: int) -> dict:
    cmd = [sys.executable, "-m", "seedge", "bench", str(folder), "--backend", "openvino", "--batch", "1",
           "--threads", str(threads), "--iters", str(iters), "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if proc.returncode != 0:
        raise SystemExit(f"seedge bench failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return {"command": " ".join(cmd[1:]).replace("-m seedge", "seedge", 1), **json.loads(proc.stdout)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="se_resnet50")
    ap.add_argument("--folder", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=50, help="timed calls per seedge bench run")
    ap.add_argument("--niter", type=int, default=100, help="benchmark_app iterations per run")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    from seedge.artifacts import read_manifest

    folder = args.folder or exported_folder(args.model, ["openvino"], ["fp32"])
    manifest = read_manifest(folder)
    arts = [a for a in manifest["artifacts"] if a["backend"] == "openvino"]
    if not arts:
        raise SystemExit(f"{folder}: no OpenVINO artifact")
    c, h, w = manifest["input"]["shape"][1:]
    name = manifest["input"]["name"]
    seedge_runs, app_runs = [], {a["id"]: [] for a in arts}
    for rep in range(args.repeats):
        print(f"repeat {rep + 1}/{args.repeats}: seedge bench", file=sys.stderr, flush=True)
        seedge_runs.append(run_seedge_bench(folder, args.threads, args.iters))
        for a in arts:
            print(f"repeat {rep + 1}/{args.repeats}: benchmark_app {a['id']}", file=sys.stderr, flush=True)
            app_runs[a["id"]].append(run_benchmark_app(folder / a["file"], name, [1, c, h, w], args.threads,
                                                       (a.get("build") or {}).get("inference_precision"),
                                                       args.niter))
    rows = []
    for a in arts:
        ours = [next(r for r in run["results"] if r["artifact"] == a["id"])["p50_ms"] for run in seedge_runs]
        theirs = [r["median_ms"] for r in app_runs[a["id"]]]
        s, b = float(np.median(ours)), float(np.median(theirs))
        diff = abs(s - b) / b
        rows.append({"artifact": a["id"], "seedge_bench_p50_ms": s, "benchmark_app_median_ms": b,
                     "relative_difference": diff, "within_tolerance": diff <= TOLERANCE,
                     "seedge_runs_ms": ours, "benchmark_app_runs_ms": theirs,
                     "benchmark_app_command": app_runs[a["id"]][0]["command"],
                     "benchmark_app_reported": app_runs[a["id"]][0]["reported"],
                     "seedge_runner": next(r for r in seedge_runs[0]["results"] if r["artifact"] == a["id"])["runner"]})
    env = seedge_runs[0]["environment"]
    print(f"\n{manifest['model'].get('arch')} batch 1, {args.threads} threads, {args.repeats} alternating repeats "
          f"({env['cpu_model']}, load average {env['load_average']})")
    for r in rows:
        print(f"{r['artifact']:16s} seedge bench p50 {r['seedge_bench_p50_ms']:8.2f} ms | benchmark_app median "
              f"{r['benchmark_app_median_ms']:8.2f} ms | diff {100 * r['relative_difference']:5.1f}% "
              f"[{'ok' if r['within_tolerance'] else 'OUTSIDE 15%'}]")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"folder": str(folder), "threads": args.threads, "rows": rows,
                                         "environment": env}, indent=2))
    return 0 if all(r["within_tolerance"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
