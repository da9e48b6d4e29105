"""INT8 as an explicit Q/DQ ONNX graph (ONNX Runtime `quantize_static`, QuantFormat.QDQ).

The same file runs in ONNX Runtime and OpenVINO on a CPU and is what TensorRT's strongly
typed networks consume (TensorRT 11 has no INT8 builder flag or calibrator), so precision
lives in the graph.

Choices, and why:
- pre-processing (`quant_pre_process`: ORT's basic graph optimizer + shape inference) first,
  as ONNX Runtime recommends; it keeps node names and the exporter's module metadata, which
  the SE-aware policy and `exclude` rely on;
- weights QInt8 symmetric, per output channel (ResNet-style convs vary a lot per channel);
- weight bits for the "cpu" target follow the INT8 CPU target the artifact is built for
  (seedge.backends.cpu_features), recorded in the build facts as int8_cpu / weight_bits:
  "portable": 7-bit weights (reduce_range). x86 CPUs without VNNI/AMX (AVX2-only: many AMD
  EPYC and older Intel boxes) run ONNX Runtime's and OpenVINO's U8S8 kernels with vpmaddubsw,
  whose 16-bit pair sums saturate with full 8-bit weights: measured on an AVX2-only EPYC, the
  tiny SE-ResNet's top-1 agreement fell to 55 % (ORT) / 74 % (OpenVINO), with 7-bit weights
  88 % / 87-91 %. Right on every x86 CPU.
  "vnni": 8-bit weights, for CPUs with AVX512-VNNI / AVX-VNNI / AMX, which accumulate in 32
  bits. Measured on a Zen 4 (VNNI) CPU, trained on digits at 32 px, ONNX Runtime: RegNetY-400MF
  7-bit 98.61 % agreement / 21.9 dB logit SQNR vs 8-bit 99.44 % / 27.4 dB; EfficientNet-B0
  97.77 % / 26.5 dB vs 99.44 % / 27.4 dB. Runners refuse it on a CPU without VNNI/AMX
  (seedge.backends.open, the C++ runtime) rather than answer wrong.
  Default "auto": vnni where the exporting CPU has VNNI/AMX (verify measures the artifact
  there), portable otherwise. TensorRT's target always has 8-bit weights (GPU kernels);
- activations depend on the runtime the graph is for (TARGETS):
  "cpu" (default; ONNX Runtime and OpenVINO): QUInt8 asymmetric. ONNX Runtime's x86 kernels
  are U8S8: with QInt8 activations the demo model ran 3-4x slower than with QUInt8 (batch 1:
  0.83-0.88 vs 0.25 ms; batch 8: 7.3-11.4 vs 1.8 ms; slower than FP32), at the same accuracy;
  OpenVINO runs both at about the same speed.
  "tensorrt": QInt8 symmetric (every zero point 0), the only activation quantization
  TensorRT's explicit-precision (Q/DQ) networks accept, with float biases (no int32 DQ).
  Build TensorRT engines from this one;
  ONNX Runtime on a CPU runs it correctly but slowly;
- the logits (graph outputs) stay float: a quantized output clips any test logit beyond the
  calibration range (max |dlogit| 1.50 -> 0.40 on the demo model);
- calibration ranges are cached (seedge.quantize.calibration), so rebuilding with another
  policy or exclusion list, or per block in the sensitivity report, skips calibration.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seedge.backends.cpu_features import WEIGHT_BITS, resolve_int8_cpu
from seedge.errors import SeedgeError, unknown
from seedge.fileio import atomic_target
from seedge.quantize import calibration as cal
from seedge.quantize import policy as pol

# target -> (activation type, symmetric activations); weights are QInt8 symmetric per channel.
_ACTIVATIONS = {
    "cpu": ("uint8", False),  # ONNX Runtime and OpenVINO on a CPU (U8S8 kernels)
    "tensorrt": ("int8", True),  # TensorRT's explicit-precision networks: zero points 0
}
TARGETS = tuple(_ACTIVATIONS)


@dataclass
class Prepared:
    """An FP32 model ready for quantize_static: pre-processed, inspected, hashed."""

    src: Path
    path: Path  # the pre-processed copy (lives in the caller's temporary folder)
    proto: object  # its ModelProto
    info: pol.GraphInfo
    input_name: str
    chw: tuple[int, int, int]
    sha256: str  # of `src`: the calibration cache key
    metadata: dict  # src's model-level metadata_props
    pre_process: dict  # which quant_pre_process steps ran (see _pre_process)


def prepare(src, workdir) -> Prepared:
    """Pre-process `src` into `workdir` (ONNX Runtime's quant_pre_process)."""
    import onnx

    from seedge.fileio import sha256_file

    src = Path(src)
    if not src.is_file():
        raise SeedgeError(f"{src}: ONNX model not found")
    proto = onnx.load(str(src))
    input_name, chw = cal.model_input(proto)
    pre = Path(workdir) / "pre.onnx"
    pre_facts = _pre_process(src, pre)
    pre_proto = onnx.load(str(pre))
    if pol.name_unnamed_nodes(pre_proto):  # quantize_static picks nodes by name
        onnx.save(pre_proto, str(pre))
    return Prepared(
        src=src,
        path=pre,
        proto=pre_proto,
        info=pol.analyze(pre_proto),
        input_name=input_name,
        chw=chw,
        sha256=sha256_file(src),
        metadata={p.key: p.value for p in proto.metadata_props},
        pre_process=pre_facts,
    )


# quant_pre_process steps, fullest first: ORT's symbolic shape inference leaves some outputs without a
# shape (ReduceMax, in timm's add_maxpool SE and CBAM's channel gate) and then fails at the next Mul or
# Add ("TypeError: object of type 'NoneType' has no len()" / "... is not iterable"), so on failure the
# next rung drops that step;
# the last keeps only ONNX's own shape inference. Each rung yields the same function (these steps
# annotate shapes or fuse nodes, never change the arithmetic), and parity judges the result anyway.
_PRE_PROCESS_STEPS: tuple[tuple[str, dict[str, bool]], ...] = (
    ("full", {}),
    ("symbolic shape inference skipped", {"skip_symbolic_shape": True}),
    (
        "symbolic shape inference and ORT graph optimization skipped",
        {"skip_symbolic_shape": True, "skip_optimization": True},
    ),
)


def _pre_process(src: Path, pre: Path) -> dict:
    """Run quant_pre_process on `src` into `pre`, dropping steps it fails on; the build facts
    (`skipped`: the steps left out, `reason`: the error that made each rung fail)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    reasons = []
    for label, skip in _PRE_PROCESS_STEPS:
        try:
            with _quiet():
                quant_pre_process(str(src), str(pre), **skip)
        except Exception as e:  # noqa: BLE001 - any failure of ORT's tooling: try the next rung
            reasons.append(f"{label}: {type(e).__name__}: {e}".strip())
            continue
        if not skip:
            return {"skipped": []}
        return {"skipped": [k.removeprefix("skip_") for k in skip], "reason": "; ".join(reasons)}
    raise SeedgeError(
        f"{src.name}: ONNX Runtime's quantization pre-processing failed at every step ({'; '.join(reasons)}); "
        "INT8 cannot be built for this graph: export without int8"
    )


def quantize_onnx_int8(
    src,
    dst,
    calib: np.ndarray,
    method: str = cal.DEFAULT_METHOD,
    policy: str = pol.DEFAULT_POLICY,
    exclude=(),
    per_channel: bool = True,
    samples: int | None = None,
    target: str = "cpu",
    source: str = "calibration data",
    use_cache: bool = True,
    int8_cpu: str | None = "auto",
) -> dict:
    """Write an explicit Q/DQ INT8 copy of the FP32 ONNX model `src` to `dst`; return build facts.

    calib: preprocessed float32 NCHW images (the model's own preprocessing), at least
    calibration.MIN_SAMPLES of them; `samples` draws that many (fixed seed).
    policy: se-aware (default) | se-float | se-range | all (see seedge.quantize.policy).
    exclude: PyTorch module names ("layer3.0.se", "fc") kept in float.
    target: "cpu" (ONNX Runtime / OpenVINO) or "tensorrt" (symmetric int8 activations).
    int8_cpu: for target "cpu": auto | portable (7-bit weights) | vnni (8-bit weights); see above.
    """
    import onnx

    _check_args(method, target)
    int8_cpu = _cpu_target(target, int8_cpu)
    src = Path(src)
    if not src.is_file():
        raise SeedgeError(f"{src}: ONNX model not found")
    # Check the images before any slow work.
    x = cal.validate_calib(calib, cal.model_input(onnx.load(str(src)))[1], samples=samples, source=source)
    with tempfile.TemporaryDirectory(prefix="seedge-int8-") as tmp:
        prep = prepare(src, tmp)
        return quantize_prepared(
            prep,
            dst,
            x,
            method=method,
            policy=policy,
            exclude=exclude,
            per_channel=per_channel,
            target=target,
            use_cache=use_cache,
            int8_cpu=int8_cpu,
        )


def quantize_prepared(
    prep: Prepared,
    dst,
    x: np.ndarray,
    method: str = cal.DEFAULT_METHOD,
    policy: str = pol.DEFAULT_POLICY,
    exclude=(),
    per_channel: bool = True,
    target: str = "cpu",
    nodes_to_quantize=None,
    use_cache: bool = True,
    int8_cpu: str | None = "auto",
) -> dict:
    """quantize_static on a prepared model with validated calibration images `x`.

    nodes_to_quantize: ONNX node names; when given, only these are quantized (the
    sensitivity report quantizes one block at a time this way).
    """
    _check_args(method, target)
    activation_type, symmetric = _ACTIVATIONS[target]
    int8_cpu = _cpu_target(target, int8_cpu)
    weight_bits = WEIGHT_BITS[int8_cpu] if int8_cpu else 8
    dst = Path(dst)
    t0 = time.perf_counter()
    plan = pol.plan(prep.proto, policy, exclude, info=prep.info)
    data_sha = cal.dataset_sha256(x)
    cache = cal.cache_path(prep.sha256, data_sha, method) if use_cache else None
    cache_hit = bool(cache and cache.is_file())
    float_out_ops = _output_producer_ops(prep.proto)
    out = _quantize_static(
        prep,
        x,
        plan,
        method=method,
        per_channel=per_channel,
        target=target,
        weight_bits=weight_bits,
        nodes_to_quantize=nodes_to_quantize,
        cache=cache,
        cache_hit=cache_hit,
        float_out_ops=float_out_ops,
    )
    facts = {
        "tool": "onnxruntime.quantization.quantize_static",
        "onnxruntime": _ort_version(),
        "quant_format": "QDQ",
        "method": method,
        "samples": int(len(x)),
        "calibration_sha256": data_sha,
        "calibration_cache": ("hit" if cache_hit else "miss") if cache else "off",
        "per_channel": per_channel,
        "weight_type": "int8",
        "weight_bits": weight_bits,
        "target": target,
        **({"int8_cpu": int8_cpu} if int8_cpu else {}),
        "activation_type": activation_type,
        "activation_symmetric": symmetric,
        "policy": policy,
        "policy_resolved": plan.policy,
        "excluded_modules": plan.excluded_modules,
        "input_conv_float": plan.input_conv,
        "excluded_nodes": plan.nodes_to_exclude,
        "se_gates": [g.module or g.path[-1] for g in plan.se_gates],
        "gate_range_overrides": sorted(plan.tensor_overrides),
        "float_output_op_types": float_out_ops,
        "module_names_from": prep.info.scope_source,
        "pre_process": prep.pre_process,
        "quantize_linear_nodes": sum(n.op_type == "QuantizeLinear" for n in out.graph.node),
        "dequantize_linear_nodes": sum(n.op_type == "DequantizeLinear" for n in out.graph.node),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    if nodes_to_quantize:
        facts["nodes_to_quantize"] = list(nodes_to_quantize)
    _save_int8(out, dst, prep, plan, method=method, target=target)
    return facts


def _quantize_static(
    prep: Prepared,
    x: np.ndarray,
    plan: pol.QuantPlan,
    *,
    method: str,
    per_channel: bool,
    target: str,
    weight_bits: int,
    nodes_to_quantize,
    cache: Path | None,
    cache_hit: bool,
    float_out_ops: list[str],
):
    """ONNX Runtime's quantize_static on `prep` as the module docstring says; returns the Q/DQ
    ModelProto. On a calibration cache hit it reads the ranges from `cache`, not from `x`."""
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    activation_type, symmetric = _ACTIVATIONS[target]
    extra: dict = {"ActivationSymmetric": symmetric, "WeightSymmetric": True}
    if target == "tensorrt":
        extra["QuantizeBias"] = False  # TensorRT dequantizes int8 only; biases stay float
    if plan.tensor_overrides:
        extra["TensorQuantOverrides"] = plan.tensor_overrides
    if float_out_ops:
        extra["OpTypesToExcludeOutputQuantization"] = float_out_ops
    with tempfile.TemporaryDirectory(prefix="seedge-int8-") as tmp, _quiet():
        out_tmp = Path(tmp) / "int8.onnx"
        quantize_static(
            str(prep.path),
            str(out_tmp),
            cal.make_reader(prep.input_name, x) if not cache_hit else None,
            quant_format=QuantFormat.QDQ,
            per_channel=per_channel,
            reduce_range=weight_bits == 7,
            activation_type=QuantType.QUInt8 if activation_type == "uint8" else QuantType.QInt8,
            weight_type=QuantType.QInt8,
            nodes_to_quantize=list(nodes_to_quantize) if nodes_to_quantize else None,
            nodes_to_exclude=plan.nodes_to_exclude or None,
            calibrate_method=_ort_method(method),
            extra_options=extra,
            calibration_cache_path=str(cache) if cache else None,
        )
        return onnx.load(str(out_tmp))


def _save_int8(out, dst: Path, prep: Prepared, plan: pol.QuantPlan, *, method: str, target: str) -> None:
    """Write the Q/DQ model to `dst` with the source's metadata plus what seedge records of the INT8 build."""
    import onnx

    from seedge.onnx.convert import set_metadata

    meta = dict(prep.metadata)
    meta.update(
        {
            "seedge.precision": "int8",
            "seedge.int8.policy": plan.policy,
            "seedge.int8.method": method,
            "seedge.int8.target": target,
            "seedge.int8.excluded_modules": ",".join(plan.excluded_modules),
        }
    )
    set_metadata(out, meta)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(dst) as tmp_dst:
        onnx.save(out, str(tmp_dst))


def _cpu_target(target: str, int8_cpu: str | None) -> str | None:
    """The resolved INT8 CPU target (portable | vnni) for target "cpu"; None for TensorRT."""
    return resolve_int8_cpu(int8_cpu) if target == "cpu" else None


def _check_args(method: str, target: str) -> None:
    if method not in cal.METHODS:
        raise unknown("calibration method", method, cal.METHODS)
    if target not in TARGETS:
        raise unknown("INT8 target", target, TARGETS)


def _ort_method(method: str):
    """ONNX Runtime's CalibrationMethod member for a seedge method name ("minmax" -> MinMax)."""
    from onnxruntime.quantization import CalibrationMethod

    return {m.name.lower(): m for m in CalibrationMethod}[method]


def _output_producer_ops(proto) -> list[str]:
    outputs = {o.name for o in proto.graph.output}
    return sorted({n.op_type for n in proto.graph.node if outputs.intersection(n.output)})


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


class _quiet:
    """Histogram calibrators print progress on stdout; the CLI's --json needs stdout clean."""

    def __enter__(self):
        import contextlib
        import io
        import logging

        self._stack = contextlib.ExitStack()
        if not os.environ.get("SEEDGE_DEBUG"):
            self._stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
            # quantize_static warns about pre-processing and per-channel on every call.
            root = logging.getLogger()
            level = root.level
            root.setLevel(logging.ERROR)
            self._stack.callback(root.setLevel, level)
        return self

    def __exit__(self, *exc):
        self._stack.close()
