"""A valid manifest.json and bench.json as dicts, with artifacts of every kind the runtimes choose
among (each backend and precision, a failed parity, a pixels-input sibling, a GPU engine), for the
contract tests to change one field at a time. No files besides the two documents are needed:
reading a manifest and choosing an artifact open nothing else."""

from __future__ import annotations


def _artifact(art_id, fmt, precision, backend, passed=True, **extra):
    return {"id": art_id, "format": fmt, "precision": precision, "file": f"{art_id}.bin", "sha256": "ab" * 32,
            "bytes": 10, "backend": backend, "build": {"int8_cpu": "portable"} if precision == "int8" else {},
            "parity": {"passed": passed, "top1_agreement": 1.0}, **extra}


def base_manifest() -> dict:
    raw = {name: {"file": f"reference/{name}.raw", "dtype": dtype, "byte_order": "little", "shape": shape,
                  "sha256": "cd" * 32}
           for name, dtype, shape in (("input", "float32", [4, 3, 8, 8]), ("logits", "float32", [4, 3]),
                                      ("labels", "int64", [4]), ("pixels", "uint8", [4, 8, 8, 3]))}
    return {
        "schema_version": 1, "name": "fuzz", "created": "2026-12-07T00:00:00+00:00",
        "model": {"arch": "tiny", "num_classes": 3, "class_names": ["a", "b", "c"]},
        "input": {"name": "input", "shape": ["batch", 3, 8, 8], "dtype": "float32", "layout": "NCHW"},
        "output": {"name": "logits", "shape": ["batch", 3]},
        "preprocessing": {"input_size": [3, 8, 8], "resize": [10, 10], "mean": [0.5, 0.5, 0.5],
                          "std": [0.25, 0.25, 0.25], "color_order": "RGB", "layout": "NCHW",
                          "scale": 0.00392156862745098, "extra": {}},
        "baseline": {"file": "model.safetensors", "sidecar": "model.json", "sha256": "ef" * 32},
        "reference": {"file": "reference.npz", "raw": raw},
        "passes": [], "tools": {"seedge": "0"}, "skipped": [],
        "artifacts": [
            _artifact("openvino-fp32", "openvino", "fp32", "openvino", build={"inference_precision": "f32"}),
            _artifact("openvino-int8", "openvino", "int8", "openvino"),
            _artifact("openvino-fp16", "openvino", "fp16", "openvino"),
            _artifact("onnx-fp32", "onnx", "fp32", "onnxruntime"),
            _artifact("onnx-int8", "onnx", "int8", "onnxruntime", passed=False),
            _artifact("onnx-fp16", "onnx", "fp16", "onnxruntime"),
            _artifact("openvino-fp32-pixels", "openvino", "fp32", "openvino",
                      input={"dtype": "uint8", "layout": "NHWC", "color_order": "BGR"}, output={"softmax": True}),
            _artifact("tensorrt-fp16", "tensorrt", "fp16", "tensorrt",
                      build={"max_batch": 8, "tensorrt_version": "10.13.0", "gpu": "NVIDIA H100",
                             "compute_capability": "9.0"}),
        ],
    }


def base_bench() -> dict:
    return {"schema": 1, "devices": {"cpu": {
        "measured": "2026-12-07T00:00:00+00:00", "machine": "cpu", "contended": False, "load_average": [0.1, 0.2, 0.3],
        "threads": 2, "batches": [1, 8], "slow": {"onnx-fp16": ["fp16_slower_than_fp32 at batch 1"]},
        "p50_ms": {"openvino-fp32": {"1": 1.5, "8": 6.0}, "openvino-int8": {"1": 2.5}, "openvino-fp16": {"1": 1.25},
                   "onnx-fp32": {"1": 0.5}, "eager": {"1": 3.0}}}}}
