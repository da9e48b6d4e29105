"""OpenVINO IR from the exported ONNX graph (`openvino.convert_model` + `save_model`).

Two files per IR: `<stem>.xml` (graph, with seedge's model info in its rt_info) and
`<stem>.bin` (weights). The FP32 IR keeps FP32 weights (`compress_to_fp16=False`); the
FP16 IR stores FP16 weights (`compress_to_fp16=True`) that OpenVINO decompresses at load.

Execution precision is a separate choice: OpenVINO's CPU plugin runs in bf16 by default
on CPUs with AMX/AVX512-BF16, which is not what an "fp32" artifact promises. So every IR
records `inference_precision` in its build facts ("f32" here), and the runner compiles
with INFERENCE_PRECISION_HINT set to it: explicit, never left to the device default.
"""

from __future__ import annotations

from pathlib import Path

# What the runner passes as INFERENCE_PRECISION_HINT for each artifact precision. FP16 IR
# weights are compressed for size; computing in f32 keeps its parity with the eager model.
INFERENCE_PRECISION = {"fp32": "f32", "fp16": "f32"}


def export_openvino(
    onnx_path: str | Path, xml_path: str | Path, precision: str = "fp32", rt_info: dict | None = None
) -> dict:
    """Convert `onnx_path` to an IR at `xml_path` (+ .bin). Returns build facts."""
    import openvino as ov

    from seedge.errors import MissingBackend, SeedgeError, message_line
    from seedge.fileio import sha256_file

    if precision not in INFERENCE_PRECISION:
        raise SeedgeError(f"OpenVINO IR export supports {', '.join(INFERENCE_PRECISION)}, not {precision}")
    xml_path = Path(xml_path)
    xml_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        model = ov.convert_model(str(onnx_path))
    except ImportError as e:  # the ONNX frontend ships with openvino; a broken install lands here
        raise MissingBackend("openvino", "openvino", str(e)) from None
    except Exception as e:  # noqa: BLE001
        raise SeedgeError(f"{onnx_path}: OpenVINO could not convert the ONNX graph: {message_line(e, 300)}") from None
    if model.inputs[0].get_partial_shape().rank.is_static and model.inputs[0].get_partial_shape()[0].is_static:
        # The ONNX graph's batch is proven symbolic (seedge.onnx.batch); an IR that fixed it would be
        # a batch-N artifact in a folder that says any batch.
        raise SeedgeError(
            f"{onnx_path}: OpenVINO fixed the batch at {model.inputs[0].get_partial_shape()[0]}; "
            f"seedge's IRs take any batch"
        )
    for key, value in (rt_info or {}).items():
        model.set_rt_info(str(value), ["seedge", _rt_key(key)])
    ov.save_model(model, str(xml_path), compress_to_fp16=(precision == "fp16"))
    bin_path = xml_path.with_suffix(".bin")
    return {
        "openvino": ov.get_version(),
        "weights_precision": "f16" if precision == "fp16" else "f32",
        "compress_to_fp16": precision == "fp16",
        "inference_precision": INFERENCE_PRECISION[precision],
        "weights_file": bin_path.name,
        "weights_sha256": sha256_file(bin_path),
        "weights_bytes": bin_path.stat().st_size,
        "input_shape": str(model.inputs[0].get_partial_shape()),
    }


def read_rt_info(xml_path: str | Path) -> dict:
    """The seedge entries of an IR's rt_info, as strings (for tests and `seedge verify`)."""
    import openvino as ov

    model = ov.Core().read_model(str(xml_path))
    info = model.get_rt_info()
    if "seedge" not in info:
        return {}
    return {k: v.astype(str) for k, v in info["seedge"].items()}


def _rt_key(key: str) -> str:
    # rt_info keys become XML element names: keep them to letters, digits and underscores.
    return "".join(c if c.isalnum() or c == "_" else "_" for c in key.removeprefix("seedge."))
