"""Per-block INT8 sensitivity, named in PyTorch module names, and a greedy float fallback.

For each block (a residual block such as "layer2.1", an SE module such as "layer3.0.se",
the stem "conv1", the classifier "fc"; see policy.block_units) one Q/DQ model is built in
which only that block is quantized, everything else float, and run in ONNX Runtime on the
evaluation images. The change in accuracy and agreement against the FP32 model says how
much that block alone costs; blocks are listed worst first. Calibration runs once: every
per-block build reuses the cached ranges (seedge.quantize.calibration).

`max_drop`: starting from the full INT8 model under the chosen policy, the most sensitive
blocks are kept in float one at a time (greedy, in ranking order) until accuracy is within
`max_drop` points of FP32. What comes out is a list of module names for
`seedge export --exclude`, measured exactly as the export would build it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from seedge.errors import SeedgeError
from seedge.quantize import calibration as cal
from seedge.quantize import int8 as q8
from seedge.quantize import measure
from seedge.quantize import policy as pol

# A block with none of these has nothing quantize_static would change (a lone Relu's Q/DQ
# is folded away, Reshape only passes its input's quantization through).
_QUANTIZED_OPS = {"Conv", "ConvTranspose", "Gemm", "MatMul", "ReduceMean", "GlobalAveragePool", "Mul", "Add",
                  "Sigmoid", "HardSigmoid", "AveragePool", "MaxPool", "Concat", "HardSwish"}

Progress = Callable[[str], None]


def block_sensitivity(model_onnx, calib: np.ndarray, eval_x: np.ndarray, eval_y: np.ndarray | None = None,
                      method: str = "minmax", policy: str = "se-aware", max_drop: float | None = None,
                      calib_samples: int | None = None, threads: int = 2,
                      progress: Progress | None = None, calib_source: str = "calibration data") -> dict:
    """Rank blocks by how much quantizing only them costs; optionally find float blocks for `max_drop`.

    Returns {"fp32": metrics, "int8": metrics of the full model under `policy`,
    "blocks": [{"module", "nodes", "top1_agreement", "accuracy", "accuracy_drop_points",
    "mean_abs_diff", "max_abs_diff"}] worst first, "fallback": {...} when max_drop is given}.
    Accuracy metrics need labels; without them accuracy is None and drops are measured in
    disagreement points instead.
    """
    import onnx

    say = progress or (lambda msg: None)
    if not Path(model_onnx).is_file():
        raise SeedgeError(f"{model_onnx}: ONNX model not found")
    chw = cal.model_input(onnx.load(str(model_onnx)))[1]
    x = cal.validate_calib(calib, chw, samples=calib_samples, source=calib_source)
    ex = cal.validate_calib(eval_x, chw, min_samples=1, source="evaluation data")
    with tempfile.TemporaryDirectory(prefix="seedge-sens-") as tmp:
        tmp = Path(tmp)
        prep = q8.prepare(model_onnx, tmp)
        ey = None if eval_y is None else np.asarray(eval_y)
        ref = measure.ort_logits(prep.src, ex, threads)

        def evaluate(path) -> dict:
            return _metrics(ref, measure.ort_logits(path, ex, threads), ey)

        fp32 = _metrics(ref, ref, ey)
        say("calibrating and building the full INT8 model")
        full_facts = q8.quantize_prepared(prep, tmp / "full.onnx", x, method=method, policy=policy)
        full = {**evaluate(tmp / "full.onnx"), "policy": full_facts["policy_resolved"]}

        units = {u: nodes for u, nodes in pol.block_units(prep.proto, prep.info).items()
                 if _quantizable(prep.proto, nodes)}
        rows = []
        for i, (unit, nodes) in enumerate(units.items(), 1):
            say(f"[{i}/{len(units)}] only {unit} in INT8")
            path = tmp / f"unit{i}.onnx"
            q8.quantize_prepared(prep, path, x, method=method, policy="all", nodes_to_quantize=nodes)
            rows.append({"module": unit, "nodes": len(nodes), **evaluate(path)})
        rows.sort(key=_badness, reverse=True)
        report = {"model": str(model_onnx), "method": method, "calibration_samples": int(len(x)),
                  "eval_samples": int(len(ex)), "labelled": ey is not None, "module_names_from":
                  prep.info.scope_source, "fp32": fp32, "int8": full, "blocks": rows}
        if max_drop is not None:
            report["fallback"] = _greedy(prep, x, tmp, rows, full, fp32, method, policy, float(max_drop),
                                         evaluate, say)
        return report


def _greedy(prep, x, tmp: Path, rows, full, fp32, method, policy, max_drop, evaluate, say) -> dict:
    """Keep the most sensitive blocks in float, one at a time, until the drop is within max_drop."""
    steps = [{"exclude": [], **_drop_of(full, fp32)}]
    candidates = [r["module"] for r in rows if r["module"] != pol.TOP]
    exclude: list[str] = []
    while steps[-1]["drop_points"] > max_drop and candidates:
        exclude.append(candidates.pop(0))
        say(f"keeping {', '.join(exclude)} in float")
        path = tmp / f"greedy{len(exclude)}.onnx"
        q8.quantize_prepared(prep, path, x, method=method, policy=policy, exclude=exclude)
        steps.append({"exclude": list(exclude), **_drop_of(evaluate(path), fp32)})
    best = steps[-1]
    return {"max_drop_points": max_drop, "met": best["drop_points"] <= max_drop,
            "exclude": best["exclude"], "steps": steps}


def _drop_of(m: dict, fp32: dict) -> dict:
    if m["accuracy"] is not None and fp32["accuracy"] is not None:
        drop, unit = (fp32["accuracy"] - m["accuracy"]) * 100.0, "accuracy"
    else:
        drop, unit = (1.0 - m["top1_agreement"]) * 100.0, "disagreement"
    return {"drop_points": round(drop, 4), "drop_of": unit, "accuracy": m["accuracy"],
            "top1_agreement": m["top1_agreement"]}


def _metrics(ref: np.ndarray, out: np.ndarray, labels) -> dict:
    from seedge.verify.parity import compare

    m = compare(ref, out, labels)
    return {"top1_agreement": m["top1_agreement"], "accuracy": m["accuracy"],
            "accuracy_drop_points": m["accuracy_drop_points"], "mean_abs_diff": float(np.abs(out - ref).mean()),
            "max_abs_diff": m["max_abs_diff"]}


def _badness(row: dict) -> tuple:
    """Sort key, larger is worse: accuracy drop, then disagreement, then mean logit error."""
    # An accuracy gain from quantization noise is noise, not merit: it ranks like no change.
    return (max(row["accuracy_drop_points"] or 0.0, 0.0), 1.0 - (row["top1_agreement"] or 0.0), row["mean_abs_diff"])


def _quantizable(proto, nodes: list[str]) -> bool:
    names = set(nodes)
    return any(n.op_type in _QUANTIZED_OPS for n in proto.graph.node if n.name in names)


def require_labels(y) -> np.ndarray | None:
    """Labels as int64, or None when none are real (negative ids mark unlabelled rows)."""
    if y is None:
        return None
    y = np.asarray(y)
    if y.size == 0 or (y < 0).all():
        return None
    if (y < 0).any():
        raise SeedgeError("evaluation data mixes labelled and unlabelled images; use one kind")
    return y.astype(np.int64)
