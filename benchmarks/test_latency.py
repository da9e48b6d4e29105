"""Latency of each exported artifact (and eager PyTorch) per model x backend x precision x batch.

Run (see benchmarks/README.md):

    pytest benchmarks --benchmark-json=benchmarks/results.json
    SEEDGE_BENCH_MODELS=se_resnet50 SEEDGE_BENCH_PRECISIONS=fp32,int8 SEEDGE_BENCH_BATCHES=1,8 \
        pytest benchmarks --benchmark-json=benchmarks/results.json

pytest-benchmark runs one case after another; `seedge bench` interleaves eager and the
artifacts in rounds, which is what to use for ratios on a busy machine.
"""

from __future__ import annotations

import numpy as np
import pytest

ROUNDS = 30
WARMUP = 5


def test_latency(benchmark, case, export_for, threads):
    from seedge.artifacts import read_manifest
    from seedge.backends import open_artifact, open_baseline
    from seedge.bench.environment import environment

    model, backend, precision, batch = case
    folder = export_for(model)
    manifest = read_manifest(folder)
    if backend == "torch":
        runner, art_id = open_baseline(folder, manifest, threads=threads), "eager"
    else:
        art = next((a for a in manifest["artifacts"] if a["backend"] == backend and a["precision"] == precision),
                   None)
        if art is None:
            pytest.skip(f"{folder.name} has no {backend} {precision} artifact")
        runner, art_id = open_artifact(folder, manifest, art, threads=threads), art["id"]

    c, h, w = manifest["input"]["shape"][1:]
    feed = {manifest["input"]["name"]: np.random.default_rng(0).standard_normal((batch, c, h, w), dtype=np.float32)}
    with runner:
        benchmark.group = f"{model} batch {batch}"
        benchmark.extra_info.update({"model": model, "backend": backend, "precision": precision, "batch": batch,
                                     "artifact": art_id, "threads": threads, "runner": runner.describe()})
        benchmark.extra_info["environment"] = environment("cpu", threads)
        out = benchmark.pedantic(runner.infer, args=(feed,), rounds=ROUNDS, iterations=1, warmup_rounds=WARMUP)
    assert out[0].shape[0] == batch and np.isfinite(out[0]).all()
