"""INT8 as an explicit Q/DQ ONNX graph (ONNX Runtime `quantize_static`, QuantFormat.QDQ).

The same file runs in ONNX Runtime and OpenVINO on a CPU and is what TensorRT's strongly
typed networks consume, so precision lives in the graph (DESIGN.md, Precision).

Choices, and why:
- pre-processing (`quant_pre_process`: ORT's basic graph optimizer + shape inference) first,
  as ONNX Runtime recommends; it keeps node names and the exporter's module metadata, which
  the SE-aware policy and `exclude` rely on;
- weights QInt8 symmetric, per output channel (ResNet-style convs vary a lot per channel);
- activations QUInt8 asymmetric (ACTIVATION_TYPE): the U8S8 kernels of ONNX Runtime on x86,
  and what OpenVINO reads for post-ReLU tensors; see benchmarks/quantize_table.py;
- calibration ranges are cached (seedge.quantize.calibration), so rebuilding with another
  policy or exclusion list does not re-run calibration.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from seedge.errors import SeedgeError
from seedge.quantize import calibration as cal
from seedge.quantize import policy as pol

ACTIVATION_TYPE = "uint8"
_METHODS = {"minmax": "MinMax", "entropy": "Entropy", "percentile": "Percentile"}


def quantize_onnx_int8(src, dst, calib: np.ndarray, method: str = "minmax", policy: str = "se-aware",
                       exclude=(), per_channel: bool = True, samples: int | None = None,
                       activation_type: str = ACTIVATION_TYPE, nodes_to_quantize=None,
                       source: str = "calibration data", use_cache: bool = True) -> dict:
    """Write an explicit Q/DQ INT8 copy of the FP32 ONNX model `src` to `dst`; return build facts.

    calib: preprocessed float32 NCHW images (the model's own preprocessing), at least
    calibration.MIN_SAMPLES of them; `samples` draws that many (fixed seed).
    policy: se-aware (default) | se-float | se-range | all (see seedge.quantize.policy).
    exclude: PyTorch module names ("layer3.0.se", "fc") kept in float.
    nodes_to_quantize: ONNX node names; when given, only these are quantized (the sensitivity
    report uses it to quantize one block at a time).
    """
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from seedge.artifacts import sha256_file
    from seedge.export.onnx_export import set_metadata

    src, dst = Path(src), Path(dst)
    if method not in _METHODS:
        raise SeedgeError(f"unknown calibration method '{method}'; choose from {', '.join(_METHODS)}")
    if activation_type not in ("uint8", "int8"):
        raise SeedgeError(f"activation_type must be uint8 or int8, not '{activation_type}'")
    if not src.is_file():
        raise SeedgeError(f"{src}: ONNX model not found")
    proto = onnx.load(str(src))
    input_name, chw = cal.model_input(proto)
    x = cal.validate_calib(calib, chw, samples=samples, source=source)
    t0 = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="seedge-int8-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(src), str(pre))
        pre_proto = onnx.load(str(pre))
        plan = pol.plan(pre_proto, policy, exclude)
        model_sha = sha256_file(src)
        data_sha = cal.dataset_sha256(x)
        cache = cal.cache_path(model_sha, data_sha, method) if use_cache else None
        cache_hit = bool(cache and cache.is_file())
        extra = {"TensorQuantOverrides": plan.tensor_overrides} if plan.tensor_overrides else {}
        # The logits stay float: quantizing the graph output only adds error (a test logit
        # beyond the calibration range is clipped) and saves nothing.
        float_out_ops = _output_producer_ops(pre_proto)
        if float_out_ops:
            extra["OpTypesToExcludeOutputQuantization"] = float_out_ops
        act = QuantType.QUInt8 if activation_type == "uint8" else QuantType.QInt8
        out_tmp = Path(tmp) / "int8.onnx"
        quantize_static(
            str(pre), str(out_tmp), cal.make_reader(input_name, x) if not cache_hit else None,
            quant_format=QuantFormat.QDQ, per_channel=per_channel, reduce_range=False,
            activation_type=act, weight_type=QuantType.QInt8,
            nodes_to_quantize=list(nodes_to_quantize) if nodes_to_quantize else None,
            nodes_to_exclude=plan.nodes_to_exclude or None,
            calibrate_method=getattr(CalibrationMethod, _METHODS[method]),
            extra_options=extra, calibration_cache_path=str(cache) if cache else None)
        out = onnx.load(str(out_tmp))

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
        "activation_type": activation_type,
        "policy": policy,
        "policy_resolved": plan.policy,
        "excluded_modules": plan.excluded_modules,
        "excluded_nodes": plan.nodes_to_exclude,
        "se_gates": [g.module or g.path[-1] for g in plan.se_gates],
        "gate_range_overrides": sorted(plan.tensor_overrides),
        "float_output_op_types": float_out_ops,
        "quantize_linear_nodes": sum(n.op_type == "QuantizeLinear" for n in out.graph.node),
        "dequantize_linear_nodes": sum(n.op_type == "DequantizeLinear" for n in out.graph.node),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    if nodes_to_quantize:
        facts["nodes_to_quantize"] = list(nodes_to_quantize)
    meta = {p.key: p.value for p in proto.metadata_props}
    meta.update({"seedge.precision": "int8", "seedge.int8.policy": plan.policy,
                 "seedge.int8.method": method,
                 "seedge.int8.excluded_modules": ",".join(plan.excluded_modules)})
    set_metadata(out, meta)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp_dst = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    onnx.save(out, str(tmp_dst))
    os.replace(tmp_dst, dst)
    return facts


def _output_producer_ops(proto) -> list[str]:
    outputs = {o.name for o in proto.graph.output}
    return sorted({n.op_type for n in proto.graph.node if outputs.intersection(n.output)})


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__
