"""Small measuring helpers the quantizers use to choose between candidates.

Logits from ONNX Runtime or OpenVINO for an array, and interleaved latency: every candidate
gets a timed call in turn, round after round, so a busy moment on a shared machine hits all
of them alike and the medians stay comparable (the habit of seedge.bench).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

EVAL_BATCH = 64


def ort_session(path, threads: int = 2):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = int(threads)
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    # Idle ONNX Runtime workers spin by default; in one process beside OpenVINO they would
    # steal the cores the other candidate is being timed on.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def ort_logits(path_or_session, x: np.ndarray, threads: int = 2) -> np.ndarray:
    s = ort_session(path_or_session, threads) if not hasattr(path_or_session, "run") else path_or_session
    name = s.get_inputs()[0].name
    return np.concatenate([s.run(None, {name: x[i:i + EVAL_BATCH]})[0] for i in range(0, len(x), EVAL_BATCH)])


def ov_compile(model, threads: int = 2, inference_precision: str | None = None):
    """Compile an OpenVINO model (or IR/ONNX path) for the CPU the way the runner does."""
    import openvino as ov

    core = ov.Core()
    if not isinstance(model, ov.Model):
        model = core.read_model(str(model))
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": int(threads)}
    if inference_precision:
        config["INFERENCE_PRECISION_HINT"] = inference_precision
    return core.compile_model(model, "CPU", config)


def ov_compile_static(model, shape, threads: int = 2, inference_precision: str | None = None):
    """`ov_compile` for one fixed input shape: how seedge's runner compiles each batch size it
    meets (backends/openvino.py), so latency measured here is latency the artifact will have."""
    import openvino as ov

    from seedge.backends.openvino import static_copy

    model = model if isinstance(model, ov.Model) else ov.Core().read_model(str(model))
    return ov_compile(static_copy(model, shape), threads, inference_precision)


def ov_logits(compiled, x: np.ndarray) -> np.ndarray:
    req = compiled.create_infer_request()
    out = []
    for i in range(0, len(x), EVAL_BATCH):
        req.infer({0: np.ascontiguousarray(x[i:i + EVAL_BATCH])})
        out.append(np.array(req.get_output_tensor(0).data, copy=True))
    return np.concatenate(out)


def ov_call(compiled, x: np.ndarray) -> Callable[[], object]:
    req = compiled.create_infer_request()
    x = np.ascontiguousarray(x)
    return lambda: req.infer({0: x})


def ort_call(session, x: np.ndarray) -> Callable[[], object]:
    name = session.get_inputs()[0].name
    x = np.ascontiguousarray(x)
    return lambda: session.run(None, {name: x})


def interleaved_p50_ms(calls: dict[str, Callable[[], object]], rounds: int = 30, per_round: int = 5,
                       warmup: int = 10) -> dict[str, float]:
    """Median per-call latency (ms) of each callable, timed in interleaved rounds."""
    from seedge.bench.timing import time_calls, warm_up

    for fn in calls.values():
        warm_up(fn, warmup)
    samples: dict[str, list[int]] = {k: [] for k in calls}
    keys = list(calls)
    for r in range(rounds):
        order = keys[r % len(keys):] + keys[:r % len(keys)]  # rotate who goes first
        for k in order:
            samples[k] += time_calls(calls[k], per_round)
    return {k: float(np.median(v)) / 1e6 for k, v in samples.items()}
