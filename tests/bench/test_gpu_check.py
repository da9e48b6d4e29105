"""benchmarks/gpu_check.py, the one prepared GPU check, run as CI runs it: its `--device cpu` dry run.

The script is run as a user runs it (a subprocess from the repository, seedge from the source
tree), with one model that cannot be exported among the models, so the check also proves it keeps
going past a failed step and records it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_check.py"


@pytest.mark.slow
def test_the_cpu_dry_run_writes_its_json_and_markdown(tmp_path):
    out = tmp_path / "check"
    # SEEDGE_CACHE (set by conftest) travels along: the demo model is trained once per test session.
    proc = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--out", str(out),
                           "--models", "demo,no_such_model", "--budget-s", "1200"],
                          capture_output=True, text=True, timeout=1500, check=False, env=dict(os.environ), cwd=tmp_path)
    # A failed step makes the exit code 1, and the rest still ran.
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.startswith("[") and "gpu_check starting" in proc.stdout.splitlines()[0]

    report = json.loads((out / "gpu_check.json").read_text())
    assert report["device"] == "cpu" and report["machine"]["torch"]
    assert set(report["engines"]) == {"tensorrt", "onnxruntime-gpu", "openvino", "triton", "c++ compiler"}
    assert report["plan"]["batches"] == [1, 8] and "tensorrt" not in report["plan"]["formats"]
    assert "inductor" in report["plan"]["formats"] and "tensorrt" in report["plan"]["left_out"]
    steps = {s["name"].split(" (")[0]: s for s in report["steps"]}
    print(json.dumps(report["steps"], indent=1))  # shown when an assertion below fails
    assert steps["export demo"]["ok"] and not steps["export no_such_model"]["ok"]
    assert "no_such_model" in steps["export no_such_model"]["error"]
    for s in report["steps"]:  # each step ran the CLI within its share of the budget
        assert s["command"].startswith("seedge ") and s.get("seconds", 0) <= s["limit_s"] + 5, s

    # Every exported format of the demo model passed parity and was timed at batch 1 and 8 beside eager.
    export = report["exports"]["demo"]
    ids = {a["id"] for a in export["artifacts"]}
    assert ids == {f"{f}-fp32" for f in report["plan"]["formats"]}
    assert all(a["parity"]["passed"] for a in export["artifacts"])
    rows = report["bench"]["results"]
    timed = {(r["artifact"], r["batch"]) for r in rows}
    assert {(i, b) for i in ids | {"eager"} for b in (1, 8)} <= timed
    assert all(r["p50_ms"] > 0 and r["throughput_ips"] > 0 for r in rows)
    assert report["targets"] == {}  # SE-ResNet-50 is not in the dry run: no target is judged

    md = (out / "gpu_check.md").read_text()
    assert md.startswith("# seedge GPU check (cpu, dry run)")
    assert any(ln.startswith("| export no_such_model") and "| FAILED |" in ln for ln in md.splitlines())
    table = [ln for ln in md.splitlines() if ln.startswith("| ") and "inductor-fp32" in ln]
    assert {ln.split("|")[5].strip() for ln in table} == {"1", "8"}
