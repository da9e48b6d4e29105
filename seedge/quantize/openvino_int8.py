"""OpenVINO INT8 IR: two ways to build it, both measured, the better one kept.

  qdq   OpenVINO reads the explicit Q/DQ ONNX graph (the onnx-int8 artifact) and turns each
        Q/DQ pair into a FakeQuantize; same ranges and same float nodes as ONNX Runtime.
  nncf  NNCF post-training quantization of the FP32 model (nncf.quantize), which places
        quantizers where OpenVINO's CPU kernels want them. SE-aware unless policy "all":
        the SE gate path and its Multiply go into nncf.IgnoredScope (NNCF's own
        SE_BLOCK pattern only leaves out the ReduceMean and the Multiply).

Each candidate is compiled with both float precisions for the parts that stay float (f32,
and bf16, the CPU plugin's default where the CPU has AMX/AVX512-BF16) and measured on the
evaluation images: top-1 agreement with the FP32 ONNX model and accuracy where labels are
given, then batch-1 latency with INFERENCE_NUM_THREADS=2: each candidate is saved as an IR
and run by seedge's OpenVINO runner (a static batch-1 compile, as it will run the artifact),
timed in seedge.bench's interleaved rounds. The kept candidate is the fastest of those as
accurate as the best (see _choose); the build facts list every candidate's numbers and say
which won and why. The runner compiles the IR with the recorded `inference_precision`.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from seedge.backends.cpu_features import WEIGHT_BITS, resolve_int8_cpu
from seedge.errors import SeedgeError
from seedge.hostcpu import default_threads
from seedge.quantize import calibration as cal
from seedge.quantize import measure
from seedge.quantize import policy as pol

ROUTES = ("qdq", "nncf")
FLOAT_PRECISIONS = ("f32", "bf16")
AGREEMENT_TOLERANCE = 0.005  # candidates this close to the best agreement compete on latency
MAX_SQNR_GAP_DB = 20 * np.log10(1.5)  # ... and whose logit SQNR is this close to the best (RMS error 1.5x)
LATENCY_NOISE = 0.05  # latencies this close count as equal
MAX_EVAL = 512


def build_openvino_int8(
    src_onnx_fp32,
    qdq_onnx,
    dst_xml,
    calib: np.ndarray,
    method: str = cal.DEFAULT_METHOD,
    policy: str = pol.DEFAULT_POLICY,
    exclude=(),
    rt_info: dict | None = None,
    eval_data: tuple[np.ndarray, np.ndarray | None] | np.ndarray | None = None,
    routes=ROUTES,
    float_precisions=FLOAT_PRECISIONS,
    threads: int | None = None,
    samples: int | None = None,
    source: str = "calibration data",
    int8_cpu: str = "auto",
) -> dict:
    """Write the better OpenVINO INT8 IR to `dst_xml` (+ .bin); return build facts.

    int8_cpu: the INT8 CPU target (seedge.backends.cpu_features): auto | portable | vnni. The
    qdq route inherits its weights from `qdq_onnx`, which must be built for the same target (the
    export builds both from its one --int8-cpu option); the nncf route gets NNCF's overflow fix
    on every layer for portable (7-bit weights), none for vnni.

    eval_data: (x, labels or None) or x; default: the calibration images themselves (the
    comparison is with the FP32 model, so agreement on them is still meaningful).
    threads: what the candidates are timed at; default the device's own count
    (seedge.hostcpu.default_threads), recorded as the facts' `timed_threads`.
    """
    import onnx
    import openvino as ov

    src_onnx_fp32, dst_xml = Path(src_onnx_fp32), Path(dst_xml)
    routes = tuple(routes)
    int8_cpu = resolve_int8_cpu(int8_cpu)
    threads = int(threads) if threads else default_threads()
    _check_routes(routes, qdq_onnx)
    proto = onnx.load(str(src_onnx_fp32))
    _, chw = cal.model_input(proto)
    x = cal.validate_calib(calib, chw, samples=samples, source=source)
    ex, ey = _eval_set(eval_data, x, chw)
    t0 = time.perf_counter()
    ref = measure.ort_logits(src_onnx_fp32, ex, threads)

    models: dict[str, Any] = {}
    facts: dict = {
        "int8_cpu": int8_cpu,
        "weight_bits": WEIGHT_BITS[int8_cpu],
        "openvino": ov.get_version(),
        "policy": policy,
        "exclude": list(exclude),
        "eval_images": int(len(ex)),
        "eval_source": "held-out" if eval_data is not None else "calibration",
    }
    if "qdq" in routes:
        models["qdq"] = ov.convert_model(str(qdq_onnx))
    if "nncf" in routes:
        models["nncf"], facts["nncf"] = _nncf_quantize(src_onnx_fp32, proto, x, method, policy, exclude, int8_cpu)
    candidates = _measure_candidates(models, float_precisions, threads, ex, ey, ref)
    best = _choose(candidates)
    facts.update(
        route=best["route"],
        inference_precision=best["inference_precision"],
        why=_why(best, candidates),
        candidates=candidates,
        timed_threads=threads,
    )
    facts["fake_quantize_nodes"] = _save_kept(models[best["route"]], best, rt_info, dst_xml)
    facts["seconds"] = round(time.perf_counter() - t0, 2)
    return facts


def _check_routes(routes: tuple, qdq_onnx) -> None:
    if not routes or any(r not in ROUTES for r in routes):
        raise SeedgeError(f"OpenVINO INT8 routes must be among {', '.join(ROUTES)}, not {routes}")
    if "qdq" in routes and (qdq_onnx is None or not Path(qdq_onnx).is_file()):
        raise SeedgeError(f"{qdq_onnx}: Q/DQ ONNX model not found (build onnx-int8 first)")


def _measure_candidates(
    models: dict[str, Any], float_precisions, threads: int, ex: np.ndarray, ey: np.ndarray | None, ref: np.ndarray
) -> list[dict]:
    """Every (route, float precision) candidate's answers compared with the FP32 logits `ref`,
    and its batch-1 p50 latency (`p50_ms_batch1`), all timed in one interleaved run."""
    import openvino as ov

    from seedge.verify.parity import compare

    candidates, calls = [], {}
    # Runners close (ExitStack) before their IR files go (TemporaryDirectory): `with` exits in reverse.
    with tempfile.TemporaryDirectory(prefix="seedge-ov-int8-") as tmp, ExitStack() as open_runners:
        for route, model in models.items():
            # The runner reads a file, as it will read the artifact: each candidate is saved as an IR.
            xml = Path(tmp) / f"{route}.xml"
            ov.save_model(model, str(xml), compress_to_fp16=False)
            for prec in float_precisions:
                runner = open_runners.enter_context(measure.ov_runner(xml, threads, prec))
                key = f"{route}/{prec}"
                out = measure.logits(runner, ex)
                m = compare(ref, out, ey)
                candidates.append(
                    {
                        "route": route,
                        "inference_precision": prec,
                        "key": key,
                        "top1_agreement": m["top1_agreement"],
                        "max_abs_diff": m["max_abs_diff"],
                        "mean_abs_diff": float(np.abs(out - ref).mean()),
                        "sqnr_db": m["sqnr_db"],
                        "kl_divergence": m["kl_divergence"],
                        "accuracy": m["accuracy"],
                        "baseline_accuracy": m["baseline_accuracy"],
                    }
                )
                calls[key] = measure.infer_call(runner, ex[:1])  # batch 1: the runner compiles it static
        p50 = measure.interleaved_p50_ms(calls, rounds=40)
    for c in candidates:
        c["p50_ms_batch1"] = round(p50[c.pop("key")], 4)
    return candidates


def _save_kept(model, best: dict, rt_info: dict | None, dst_xml: Path) -> int:
    """Write the kept candidate's IR to `dst_xml` with seedge's rt_info (the caller's, its route and the
    float precision the runner compiles it with); returns its FakeQuantize count."""
    import openvino as ov

    for key, value in (rt_info or {}).items():
        model.set_rt_info(str(value), ["seedge", _rt_key(key)])
    model.set_rt_info(best["route"], ["seedge", "int8_route"])
    model.set_rt_info(best["inference_precision"], ["seedge", "inference_precision"])
    dst_xml.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, str(dst_xml), compress_to_fp16=False)
    return sum(op.get_type_name() == "FakeQuantize" for op in model.get_ops())


def _eval_set(eval_data, x, chw):
    if eval_data is None:
        return x[:MAX_EVAL], None
    if isinstance(eval_data, tuple):
        ex, ey = eval_data
    else:
        ex, ey = eval_data, None
    ex = cal.validate_calib(ex, chw, min_samples=1, source="evaluation data")
    return ex, (None if ey is None else np.asarray(ey))


def _choose(candidates: list[dict]) -> dict:
    """The fastest of the candidates whose answers are as good as the best one's.

    "As good": top-1 agreement within AGREEMENT_TOLERANCE of the best, and a logit SQNR
    within MAX_SQNR_GAP_DB of the best (agreement on a few hundred images moves in steps of
    one image; the logit noise shows a worse candidate before it does). SQNR is verify's own
    (seedge.verify.parity), the figure the verify table and the export summary show.
    """
    # A candidate with non-finite logits has no SQNR; it competes only when no candidate is finite.
    candidates = [c for c in candidates if c["sqnr_db"] is not None] or candidates
    top = max(c["top1_agreement"] or 0.0 for c in candidates)
    agreeing = [c for c in candidates if (c["top1_agreement"] or 0.0) >= top - AGREEMENT_TOLERANCE]
    best_sqnr = max((c["sqnr_db"] for c in candidates if c["sqnr_db"] is not None), default=None)
    # The least-noise candidate may agree less than the best: then judge among those that agree.
    close = [
        c
        for c in agreeing
        if best_sqnr is not None and c["sqnr_db"] is not None and c["sqnr_db"] >= best_sqnr - MAX_SQNR_GAP_DB - 1e-9
    ] or agreeing
    fastest = min(c["p50_ms_batch1"] for c in close)
    # Within the timing noise, prefer f32 float parts (exact, like the FP32 artifacts) and
    # the Q/DQ route (the same graph and ranges as onnx-int8).
    order = {("qdq", "f32"): 0, ("nncf", "f32"): 1, ("qdq", "bf16"): 2, ("nncf", "bf16"): 3}
    near = [c for c in close if c["p50_ms_batch1"] <= fastest * (1 + LATENCY_NOISE)]
    return min(near, key=lambda c: order.get((c["route"], c["inference_precision"]), 9))


def _why(best: dict, candidates: list[dict]) -> str:
    def say(c):
        sqnr = "-" if c["sqnr_db"] is None else f"{c['sqnr_db']:.1f} dB"
        return (
            f"{c['route']}/{c['inference_precision']}: agreement {c['top1_agreement']:.4f}, SQNR {sqnr}, "
            f"mean |dlogit| {c['mean_abs_diff']:.4f}, batch-1 p50 {c['p50_ms_batch1']:.3f} ms"
        )

    others = "; ".join(say(c) for c in candidates if c is not best)
    return (
        f"kept {say(best)}: the fastest (within {LATENCY_NOISE:.0%}; ties go to f32 and the Q/DQ graph) of "
        f"the candidates as accurate as the best (agreement within {AGREEMENT_TOLERANCE}, logit SQNR "
        f"within {MAX_SQNR_GAP_DB:.1f} dB); others: {others}"
    )


def _nncf_quantize(
    src_onnx_fp32: Path, proto, x: np.ndarray, method: str, policy: str, exclude, int8_cpu: str
) -> tuple[object, dict]:
    """nncf.quantize on the FP32 OpenVINO model, with settings chosen by measurement on the demo model.

    - activation ranges: plain min/max over the calibration set for method "minmax" (NNCF's
      default averages per-batch extremes, which clips the largest activations: 5x the logit
      error on the demo model), its quantile estimator for "percentile", its default otherwise;
    - bias correction off: on the demo model it moved logits away from FP32 (mean |dlogit|
      0.10 vs 0.06 without it);
    - overflow fix from the INT8 CPU target, as ONNX Runtime's reduce_range in seedge.quantize.int8:
      "portable": ENABLE (7-bit weights in every Conv/MatMul: right on CPUs without VNNI, whose
      U8S8 kernels saturate with 8-bit weights; NNCF's FIRST_LAYER fixes only the first conv,
      which leaves the rest saturating there); "vnni": DISABLE (8-bit weights everywhere).
      Never from the CPU building the IR: the IR runs on the device's CPU.
    """
    import logging

    import nncf
    import openvino as ov
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, OverflowFix
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    logging.getLogger("nncf").setLevel(logging.ERROR)
    model = ov.convert_model(str(src_onnx_fp32))
    plan = pol.plan(proto, policy, exclude)
    onnx_names = list(plan.nodes_to_exclude)
    if plan.policy == "se-range":  # a fixed gate range has no NNCF equivalent: keep the gate path float
        for g in plan.se_gates:
            onnx_names += g.path + g.muls
    # ONNX node names survive conversion: an op is named like its node, or "<node>/..." for
    # the pieces a node was split into (a Conv becomes Convolution + bias Add).
    wanted = set(onnx_names)
    keep_float = sorted(
        op.get_friendly_name()
        for op in model.get_ops()
        if op.get_friendly_name() in wanted or op.get_friendly_name().split("/")[0] in wanted
    )
    estimator = {
        "minmax": RangeEstimatorParametersSet.MINMAX,
        "percentile": RangeEstimatorParametersSet.MEAN_QUANTILE,
    }.get(method)
    vnni = int8_cpu == "vnni"
    adv = AdvancedQuantizationParameters(
        disable_bias_correction=True,
        overflow_fix=OverflowFix.DISABLE if vnni else OverflowFix.ENABLE,
        **({"activations_range_estimator_params": estimator} if estimator else {}),
    )
    kwargs = {"ignored_scope": nncf.IgnoredScope(names=keep_float, validate=False)} if keep_float else {}
    batch = 16
    dataset = nncf.Dataset([x[i : i + batch] for i in range(0, len(x), batch)])
    with _quiet():
        q = nncf.quantize(
            model,
            dataset,
            subset_size=len(x),
            target_device=nncf.TargetDevice.CPU,
            preset=nncf.QuantizationPreset.MIXED,
            advanced_parameters=adv,
            **kwargs,
        )
    facts = {
        "version": nncf.__version__,
        "subset_size": int(len(x)),
        "preset": "mixed",
        "activation_ranges": "min/max"
        if method == "minmax"
        else ("mean quantile" if method == "percentile" else "NNCF default (mean min/max)"),
        "bias_correction": False,
        "overflow_fix": "disable" if vnni else "enable",
        "ignored_ops": keep_float,
        "ignored_patterns": "NNCF defaults (its SE_BLOCK pattern leaves the ReduceMean and Multiply in float)",
    }
    return q, facts


class _quiet:
    """NNCF draws progress bars on stdout; the CLI's --json needs stdout clean."""

    def __enter__(self):
        import contextlib
        import io
        import sys

        self._stack = contextlib.ExitStack()
        self._stack.enter_context(contextlib.redirect_stdout(io.StringIO() if not _debug() else sys.stdout))
        return self

    def __exit__(self, *exc):
        self._stack.close()


def _debug() -> bool:
    return bool(os.environ.get("SEEDGE_DEBUG"))


def _rt_key(key: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]", "_", str(key).removeprefix("seedge."))
