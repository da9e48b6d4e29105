"""Per-block INT8 sensitivity, named in PyTorch module names, and a greedy float fallback.

For each block (a residual block such as "layer2.1", an SE module such as "layer3.0.se",
the stem "conv1", the classifier "fc"; see policy.block_units) one Q/DQ model is built in
which only that block is quantized, everything else float, and run in ONNX Runtime on the
evaluation images. The change in accuracy and agreement against the FP32 model says how
much that block alone costs; blocks are listed worst first. Calibration runs once: every
per-block build reuses the cached ranges (seedge.quantize.calibration).

`max_drop`: starting from the full INT8 model under the chosen policy, the most sensitive
blocks are kept in float one at a time (greedy, in ranking order, as NNCF's accuracy-aware
quantization reverts its most sensitive ops) until accuracy is within `max_drop` points of
FP32; then each block added before the last is tried back in INT8, least sensitive first,
and stays INT8 where the bound still holds (greedy order can add a block that a later one
makes unnecessary). What comes out is a list of module names for `seedge export --exclude`
(`export --max-drop` uses it directly, seedge.quantize.accuracy_search), measured exactly as
the export builds it. Logit error is judged with verify's own metrics (seedge.verify.parity:
SQNR, KL), so a report and a verify table mean the same thing by the same name.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from seedge.backends.cpu_features import resolve_int8_cpu
from seedge.errors import SeedgeError
from seedge.quantize import calibration as cal
from seedge.quantize import int8 as q8
from seedge.quantize import measure
from seedge.quantize import policy as pol

# A block with none of these has nothing quantize_static would change (a lone Relu's Q/DQ
# is folded away, Reshape only passes its input's quantization through).
_QUANTIZED_OPS = {
    "Conv",
    "ConvTranspose",
    "Gemm",
    "MatMul",
    "ReduceMean",
    "GlobalAveragePool",
    "Mul",
    "Add",
    "Sigmoid",
    "HardSigmoid",
    "AveragePool",
    "MaxPool",
    "Concat",
    "HardSwish",
}

Progress = Callable[[str], None]


def block_sensitivity(
    model_onnx,
    calib: np.ndarray,
    eval_x: np.ndarray,
    eval_y: np.ndarray | None = None,
    method: str = cal.DEFAULT_METHOD,
    policy: str = pol.DEFAULT_POLICY,
    max_drop: float | None = None,
    calib_samples: int | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
    calib_source: str = "calibration data",
    exclude=(),
    min_agreement: float | None = None,
    int8_cpu: str = "auto",
) -> dict:
    """Rank blocks by how much quantizing only them costs; optionally find float blocks for `max_drop`.

    Returns {"fp32": metrics, "int8": metrics of the full model under `policy`,
    "blocks": [{"module", "nodes", "top1_agreement", "accuracy", "accuracy_drop_points",
    "mean_abs_diff", "max_abs_diff", "sqnr_db", "kl_divergence"}] worst first, "fallback": {...}
    when max_drop is given}. Accuracy metrics need labels; without them accuracy is None and
    drops are measured in disagreement points instead.
    exclude: modules the user keeps in float anyway: float in the full model and in every
    fallback step, and not ranked.
    min_agreement: with max_drop, a step also needs this top-1 agreement (a fraction) with FP32
    to meet the bound: the export passes the int8 parity gate it will be verified against.
    int8_cpu: the INT8 CPU target the measured graphs are built for (weight bits; seedge.quantize.int8).
    threads: ONNX Runtime's threads for the measurements; default the device's own count
    (seedge.hostcpu.default_threads).
    """
    import onnx

    say = progress or (lambda msg: None)
    if not Path(model_onnx).is_file():
        raise SeedgeError(f"{model_onnx}: ONNX model not found")
    chw = cal.model_input(onnx.load(str(model_onnx)))[1]
    x = cal.validate_calib(calib, chw, samples=calib_samples, source=calib_source)
    int8_cpu = resolve_int8_cpu(int8_cpu)
    ex = cal.validate_calib(eval_x, chw, min_samples=1, source="evaluation data")
    with tempfile.TemporaryDirectory(prefix="seedge-sens-") as tmp_name:
        tmp = Path(tmp_name)
        prep = q8.prepare(model_onnx, tmp)
        ey = None if eval_y is None else np.asarray(eval_y)
        ref = measure.ort_logits(prep.src, ex, threads)

        def evaluate(path) -> dict:
            return _metrics(ref, measure.ort_logits(path, ex, threads), ey)

        fp32 = _metrics(ref, ref, ey)
        say("calibrating and building the full INT8 model")
        exclude = list(exclude)
        full_facts = q8.quantize_prepared(
            prep, tmp / "full.onnx", x, method=method, policy=policy, exclude=exclude, int8_cpu=int8_cpu
        )
        full = {**evaluate(tmp / "full.onnx"), "policy": full_facts["policy_resolved"]}

        units = {
            u: nodes
            for u, nodes in pol.block_units(prep.proto, prep.info).items()
            if _quantizable(prep.proto, nodes) and not _inside(u, exclude)
        }
        rows = []
        for i, (unit, nodes) in enumerate(units.items(), 1):
            say(f"[{i}/{len(units)}] only {unit} in INT8")
            path = tmp / f"unit{i}.onnx"
            q8.quantize_prepared(prep, path, x, method=method, policy="all", nodes_to_quantize=nodes, int8_cpu=int8_cpu)
            rows.append({"module": unit, "nodes": len(nodes), **evaluate(path)})
        rows.sort(key=_badness, reverse=True)
        report = {
            "model": str(model_onnx),
            "method": method,
            "int8_cpu": int8_cpu,
            "calibration_samples": int(len(x)),
            "eval_samples": int(len(ex)),
            "labelled": ey is not None,
            "module_names_from": prep.info.scope_source,
            "fp32": fp32,
            "int8": full,
            "blocks": rows,
        }
        if max_drop is not None:
            build = _Builder(prep, x, tmp, method, policy, exclude, evaluate, int8_cpu)
            report["fallback"] = _greedy(build, rows, full, fp32, _Bound(float(max_drop), min_agreement), say)
        return report


class _Builder:
    """Builds and measures the full INT8 model with given modules (plus the user's) in float."""

    def __init__(self, prep, x, tmp: Path, method, policy, base_exclude, evaluate, int8_cpu):
        self.prep, self.x, self.tmp, self.method, self.policy = prep, x, tmp, method, policy
        self.int8_cpu = int8_cpu
        self.base, self.evaluate, self.count = list(base_exclude), evaluate, 0

    def __call__(self, floats: list[str]) -> dict:
        self.count += 1
        path = self.tmp / f"fallback{self.count}.onnx"
        q8.quantize_prepared(
            self.prep,
            path,
            self.x,
            method=self.method,
            policy=self.policy,
            exclude=self.base + floats,
            int8_cpu=self.int8_cpu,
        )
        return self.evaluate(path)


class _Bound:
    """What a fallback step must reach: the drop within max_drop points (and the agreement)."""

    def __init__(self, max_drop: float, min_agreement: float | None):
        self.max_drop, self.min_agreement = max_drop, min_agreement

    def met(self, step: dict) -> bool:
        return step["drop_points"] <= self.max_drop and (
            self.min_agreement is None or (step["top1_agreement"] or 0.0) >= self.min_agreement
        )


def _greedy(build: _Builder, rows, full, fp32, bound: _Bound, say) -> dict:
    """Keep the most sensitive blocks in float, one at a time, until the drop is within max_drop;
    then give back to INT8 every earlier block the bound does not need."""
    steps = [{"action": "start", "exclude": [], **_drop_of(full, fp32)}]
    say(f"full INT8: {_said(steps[-1])}")
    candidates = [r["module"] for r in rows if r["module"] != pol.TOP]
    exclude: list[str] = []
    while not bound.met(steps[-1]) and candidates:
        exclude.append(candidates.pop(0))
        steps.append(
            {"action": "float", "module": exclude[-1], "exclude": list(exclude), **_drop_of(build(exclude), fp32)}
        )
        say(f"step {len(steps) - 1}: {exclude[-1]} to float -> {_said(steps[-1])}")
    best = steps[-1]
    if bound.met(best):
        # Least sensitive first: the block most likely to be unneeded goes back first.
        for module in reversed(exclude[:-1]):
            trial = [m for m in best["exclude"] if m != module]
            step = {"action": "int8", "module": module, "exclude": trial, **_drop_of(build(trial), fp32)}
            step["kept"] = bound.met(step)
            steps.append(step)
            say(
                f"step {len(steps) - 1}: {module} back to INT8 -> {_said(step)}"
                f"{'' if step['kept'] else ' (over the bound: stays float)'}"
            )
            if step["kept"]:
                best = step
    return {
        "max_drop_points": bound.max_drop,
        "min_agreement": bound.min_agreement,
        "met": bound.met(best),
        "exclude": best["exclude"],
        "final": {k: best[k] for k in _MEASURES},
        "steps": steps,
    }


_MEASURES = ("drop_points", "drop_of", "accuracy", "top1_agreement", "sqnr_db", "kl_divergence")


def _said(step: dict) -> str:
    agree = step["top1_agreement"]
    return (
        f"{step['drop_of']} drop {step['drop_points']:.2f} points, agreement "
        f"{'-' if agree is None else f'{agree:.2%}'}, SQNR "
        f"{'-' if step['sqnr_db'] is None else format(step['sqnr_db'], '.1f')} dB"
    )


def _drop_of(m: dict, fp32: dict) -> dict:
    if m["accuracy"] is not None and fp32["accuracy"] is not None:
        drop, unit = (fp32["accuracy"] - m["accuracy"]) * 100.0, "accuracy"
    else:
        drop, unit = (1.0 - m["top1_agreement"]) * 100.0, "disagreement"
    return {
        "drop_points": round(drop, 4),
        "drop_of": unit,
        "accuracy": m["accuracy"],
        "top1_agreement": m["top1_agreement"],
        "sqnr_db": m["sqnr_db"],
        "kl_divergence": m["kl_divergence"],
    }


def _metrics(ref: np.ndarray, out: np.ndarray, labels) -> dict:
    from seedge.verify.parity import compare

    m = compare(ref, out, labels)
    return {
        "top1_agreement": m["top1_agreement"],
        "accuracy": m["accuracy"],
        "accuracy_drop_points": m["accuracy_drop_points"],
        "mean_abs_diff": float(np.abs(out - ref).mean()),
        "max_abs_diff": m["max_abs_diff"],
        "sqnr_db": m["sqnr_db"],
        "kl_divergence": m["kl_divergence"],
    }


def _badness(row: dict) -> tuple:
    """Sort key, larger is worse: accuracy drop, then disagreement, then logit noise (lower SQNR)."""
    # An accuracy gain from quantization noise is noise, not merit: it ranks like no change.
    return (
        max(row["accuracy_drop_points"] or 0.0, 0.0),
        1.0 - (row["top1_agreement"] or 0.0),
        # Non-finite logits have no SQNR: the worst noise.
        float("inf") if row["sqnr_db"] is None else -row["sqnr_db"],
    )


def _inside(unit: str, modules) -> bool:
    """`unit` is one of `modules` or part of one ("layer2.0.se" is inside "layer2.0")."""
    return any(unit == m or unit.startswith(m + ".") for m in modules)


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
