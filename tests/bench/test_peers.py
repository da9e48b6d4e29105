"""Peers in seedge bench: eager variants a PyTorch user would run instead of an export
(autocast, channels-last, torch.compile), timed in the same rounds as the artifacts, each with
its parity against eager. No timed assertions: only that the rows exist, are compared with the
eager run of the same benchmark, and that what cannot run here says why.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from _export_fixtures import export_folder, fresh_copy
from seedge.bench.peers import PEERS, parse_peers
from seedge.bench.run import run_bench, run_bench_many
from seedge.errors import SeedgeError

TINY = {"warmup": 1, "iters": 3, "rounds": 3, "threads": 1, "load_window_s": 0}


def test_parse_peers_names_what_runs_here_and_why_not():
    chosen, skipped = parse_peers("all", "cpu")
    assert [p.name for p in chosen] == ["bf16", "channels-last", "compile"]
    assert {s["peer"] for s in skipped} == {"fp16", "compile-cudagraphs"}
    assert all(s["reason"] and "\n" not in s["reason"] for s in skipped)
    chosen, skipped = parse_peers(("compile", "fp16", "compile"), "cuda")  # duplicates once, order kept
    assert [p.name for p in chosen] == ["compile", "fp16"] and skipped == []
    assert parse_peers(None, "cpu") == ([], []) and parse_peers("", "cpu") == ([], [])
    with pytest.raises(SeedgeError, match="unknown peer 'tensorrt'; choose from fp16") as e:
        parse_peers("compile,tensorrt", "cpu")
    assert "\n" not in str(e.value)
    assert set(PEERS) == {"fp16", "bf16", "channels-last", "compile", "compile-cudagraphs"}


def test_peer_rows_beside_eager_with_parity(tmp_path):
    out = run_bench(export_folder(), backends=["onnxruntime"], batches=(1, 3), peers="channels-last,bf16,fp16",
                    **TINY)
    rows = out["results"]
    for batch in (1, 3):
        got = {r["artifact"]: r for r in rows if r["batch"] == batch}
        assert set(got) == {"eager", "eager-channels-last", "eager-bf16", "onnx-fp32"}
        eager = got["eager"]
        for name, precision in (("eager-channels-last", "fp32"), ("eager-bf16", "bf16")):
            r = got[name]
            assert r["backend"] == "torch" and r["format"] == "eager" and r["precision"] == precision
            assert r["speedup_vs_eager"] == pytest.approx(eager["p50_ms"] / r["p50_ms"])
            assert len(r["round_p50_ms"]) == 3 and r["first_call_seconds"] >= 0
            p = r["parity"]
            assert p["samples"] == batch and p["thresholds"] == precision and p["passed"], p
            assert math.isfinite(p["max_abs_diff"]) and p["cosine"] > 0.999
            assert r["runner"]["peer"] == r["peer"] and r["runner"]["input"] == "resident on the device"
        # channels-last is the same FP32 arithmetic reordered; bf16 is visibly coarser
        assert got["eager-channels-last"]["parity"]["max_abs_diff"] < 1e-4
        assert got["eager-bf16"]["parity"]["max_abs_diff"] > got["eager-channels-last"]["parity"]["max_abs_diff"]
        assert "parity" not in eager and "parity" not in got["onnx-fp32"]
    assert [s["peer"] for s in out["skipped"] if "peer" in s] == ["fp16"]
    assert out["settings"]["peers"] == ["channels-last", "bf16"] and out["copies"] == []
    assert "folder" not in rows[0] and "folder" not in out["skipped"][0]  # one folder: rows need not say

    # several folders: every folder gets its own peers, compared with its own eager model
    a, b = fresh_copy(tmp_path / "a", "tiny"), fresh_copy(tmp_path / "b", "tiny2")
    many = run_bench_many([a, b], backends=["onnxruntime"], batches=(1,), peers=["channels-last"], **TINY)
    assert {(r["folder"], r["artifact"]) for r in many["results"]} == {
        (str(f), art) for f in (a, b) for art in ("eager", "eager-channels-last", "onnx-fp32")}
    assert all(r["parity"]["passed"] for r in many["results"] if r.get("peer"))


def test_peer_and_copy_options_are_checked_before_any_work():
    with pytest.raises(SeedgeError, match="--include-copy .* --device cpu has none"):
        run_bench(export_folder(), peers="channels-last", include_copy=True, **TINY)
    with pytest.raises(SeedgeError, match="unknown peer"):
        run_bench(export_folder(), peers="jit", **TINY)


@pytest.mark.slow
def test_cli_bench_json_has_a_torch_compile_row():
    """torch.compile's CPU (inductor C++) backend runs here: the compile peer is compiled before
    the rounds and timed in them like any artifact."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, "-m", "seedge", "bench", str(export_folder()), "--backend", "onnxruntime",
                           "--peers", "compile", "--batch", "2", "--warmup", "1", "--iters", "3", "--rounds", "3",
                           "--threads", "1", "--json"], capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)  # stdout is the JSON document and nothing else
    rows = {r["artifact"]: r for r in doc["results"]}
    assert set(rows) == {"eager", "compile-max-autotune", "onnx-fp32"}
    r = rows["compile-max-autotune"]
    assert r["format"] == "torch.compile" and r["peer"] == "compile" and r["precision"] == "fp32"
    assert r["runner"]["compile_mode"] == "max-autotune" and r["runner"]["cuda_graphs"] is False
    assert r["parity"]["passed"] and r["parity"]["max_abs_diff"] <= 1e-3, r["parity"]
    assert r["speedup_vs_eager"] == pytest.approx(rows["eager"]["p50_ms"] / r["p50_ms"])
    assert r["first_call_seconds"] > 0  # the compilation, made before the rounds
    assert doc["settings"]["peers"] == ["compile"]
