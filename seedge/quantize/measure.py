"""Measuring helpers the quantizers use to choose between candidates, on seedge's own runners.

A candidate is opened with the runner that will run the artifact (seedge.backends: the same
session options, OpenVINO's static compile per batch shape), its logits come through
verify's batching (seedge.verify.run_batched), and its latency from seedge.bench's one
interleaved loop, so a candidate is judged the way the artifact will run and be verified.
`threads` None (the default) is the device's own rule (seedge.hostcpu.default_threads, what
every runner pins when none is given): a choice timed at another count may not hold there.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from seedge.backends.onnxruntime import OnnxRuntimeRunner
from seedge.backends.openvino import OpenVINORunner


def ort_runner(path, threads: int | None = None) -> OnnxRuntimeRunner:
    """ONNX Runtime runner (not yet entered) for a candidate that is timed beside others."""
    # Spinning idle workers are faster for ONNX Runtime alone (the runner's default), but the
    # candidates are timed interleaved in this one process, often beside OpenVINO: workers left
    # spinning would steal the cores the next candidate is being timed on.
    return OnnxRuntimeRunner(path, threads=threads, allow_spinning=False)


def ov_runner(path, threads: int | None = None, inference_precision: str | None = None) -> OpenVINORunner:
    """OpenVINO runner (not yet entered) for an IR or ONNX file: the artifact's own compile
    settings, including the static-shape copy it compiles for each batch size it meets."""
    return OpenVINORunner(path, threads=threads, inference_precision=inference_precision)


def logits(runner, x: np.ndarray) -> np.ndarray:
    """Logits of an entered runner for `x`, in verify's batches."""
    from seedge.verify import DEFAULT_BATCH, run_batched

    return run_batched(runner, runner.input_name, x, DEFAULT_BATCH)


def ort_logits(path, x: np.ndarray, threads: int | None = None) -> np.ndarray:
    with ort_runner(path, threads) as runner:
        return logits(runner, x)


def ov_logits(path, x: np.ndarray, threads: int | None = None, inference_precision: str | None = None) -> np.ndarray:
    with ov_runner(path, threads, inference_precision) as runner:
        return logits(runner, x)


def infer_call(runner, x: np.ndarray) -> Callable[[], object]:
    """A zero-argument call of `runner` on `x` (made contiguous once, outside the timing)."""
    feed = {runner.input_name: np.ascontiguousarray(x, dtype=np.float32)}
    return lambda: runner.infer(feed)


def interleaved_p50_ms(
    calls: dict[str, Callable[[], object]], rounds: int = 30, per_round: int = 5, warmup: int = 10
) -> dict[str, float]:
    """Median per-call latency (ms) of each callable, timed in seedge.bench's interleaved rounds."""
    from seedge.bench.interleave import interleaved

    timed = interleaved(calls, warmup=warmup, rounds=rounds, per_round=per_round)
    return {k: t["p50_ms"] for k, t in timed.items()}
