"""Runners on a real (small) export folder: each agrees with eager PyTorch; errors are one line."""

import importlib.util

import numpy as np
import pytest

from _export_fixtures import add_artifact, export_folder, fresh_copy
from seedge import artifacts
from seedge.backends import open_artifact, open_baseline
from seedge.errors import MissingBackend, SeedgeError
from seedge.verify import precision_note


@pytest.fixture(scope="module")
def folder():
    return export_folder()


@pytest.fixture(scope="module")
def manifest(folder):
    return artifacts.read_manifest(folder)


@pytest.fixture(scope="module")
def reference(folder):
    with np.load(folder / artifacts.REFERENCE) as ref:
        return ref["input"], ref["logits"]


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def test_baseline_reproduces_reference_logits(folder, manifest, reference):
    x, logits = reference
    with open_baseline(folder, manifest) as runner:
        out = runner.infer({"input": x})
        assert runner.describe()["backend"] == "torch"
    assert len(out) == 1 and out[0].dtype == np.float32
    np.testing.assert_allclose(out[0], logits, atol=1e-6)


@pytest.mark.parametrize("art_id", ["torchscript-fp32", "onnx-fp32", "openvino-fp32"])
def test_runner_agrees_with_eager(folder, manifest, reference, art_id):
    x, logits = reference
    art = artifacts.find_artifact(manifest, art_id)
    with open_artifact(folder, manifest, art, threads=1) as runner:
        full = runner.infer({"input": x})[0]
        # Dynamic batch: a smaller batch through the same session/request.
        part = runner.infer({"input": x[:3]})[0]
        desc = runner.describe()
    assert full.shape == logits.shape and part.shape == (3, logits.shape[1])
    np.testing.assert_allclose(full, logits, atol=1e-4)
    np.testing.assert_allclose(part, logits[:3], atol=1e-4)
    # The first result must not alias a buffer the second call overwrote.
    np.testing.assert_allclose(full[:3], part, atol=1e-4)
    assert desc["backend"] == art["backend"] and desc["threads"] == 1


def test_onnxruntime_reports_its_providers(folder, manifest):
    with open_artifact(folder, manifest, artifacts.find_artifact(manifest, "onnx-fp32")) as runner:
        assert runner.describe()["providers"] == ["CPUExecutionProvider"]


def test_openvino_reads_back_the_precision_it_runs(folder, manifest, reference):
    """Asked for f32 it runs f32; left alone, the CPU plugin's own default is what gets reported."""
    import openvino as ov

    x, logits = reference
    art = artifacts.find_artifact(manifest, "openvino-fp32")
    assert art["build"]["inference_precision"] == "f32"
    with open_artifact(folder, manifest, art, threads=1) as runner:
        desc = runner.describe()
    assert desc["inference_precision"] == "f32" and desc["requested_precision"] == "f32"
    assert desc["threads_used"] == 1
    assert precision_note(desc) is None

    # An artifact that records no precision (an ONNX file read by OpenVINO) is pinned to f32 by
    # open_artifact: the plugin's bf16 default on AVX512-BF16/AMX CPUs is not its parity.
    unpinned = {**art, "build": {}}
    with open_artifact(folder, manifest, unpinned) as runner:
        desc = runner.describe()
    assert desc["inference_precision"] == "f32" and desc["requested_precision"] == "f32"

    # The runner itself, left alone, runs and reports the CPU plugin's own default.
    from seedge.backends.openvino import OpenVINORunner

    default = ov.Core().get_property("CPU", "INFERENCE_PRECISION_HINT").get_type_name()
    with OpenVINORunner(folder / art["file"]) as runner:
        out = runner.infer({"input": x})[0]
        desc = runner.describe()
    assert desc["inference_precision"] == default and desc["requested_precision"] is None
    if default == "f32":
        assert precision_note(desc) is None
    else:  # e.g. bf16 on CPUs with AVX512-BF16/AMX, as on the machine these tests were written on
        assert precision_note(desc) == f"{default} (CPU default)"
        assert np.abs(out - logits).max() > 1e-5  # it really computed in lower precision


def test_openvino_compiles_a_static_copy_per_batch_size(folder, manifest, reference):
    """Each batch size gets its own static-shape compile (faster kernels); answers stay the same,
    past MAX_STATIC_SHAPES the dynamic compile serves, and static_shapes=False never reshapes."""
    from seedge.backends.openvino import ShapeCompiledModels

    x, logits = reference
    art = artifacts.find_artifact(manifest, "openvino-fp32")
    with open_artifact(folder, manifest, art, threads=1) as runner:
        assert runner.describe()["static_shapes"] == []
        for n in (1, 4, 1, len(x)):
            np.testing.assert_allclose(runner.infer({"input": x[:n]})[0], logits[:n], atol=1e-4)
        static = runner.describe()["static_shapes"]
        assert static == [[1, *x.shape[1:]], [4, *x.shape[1:]], list(x.shape)]
        models = runner.models
        assert all(tuple(c.inputs[0].get_shape()) == tuple(s) for s, (c, _) in
                   zip(static, models._by_shape.values()))
        for n in range(2, 2 + ShapeCompiledModels.MAX_STATIC_SHAPES):
            np.testing.assert_allclose(runner.infer({"input": x[:n]})[0], logits[:n], atol=1e-4)
        assert len(runner.describe()["static_shapes"]) == ShapeCompiledModels.MAX_STATIC_SHAPES
        assert models._dynamic_request is not None  # the overflow shapes ran on the dynamic compile
    with open_artifact(folder, manifest, art, threads=1, static_shapes=False) as runner:
        np.testing.assert_allclose(runner.infer({"input": x[:2]})[0], logits[:2], atol=1e-4)
        assert runner.describe()["static_shapes"] == []


def test_tampered_artifact_is_refused(tmp_path):
    folder = fresh_copy(tmp_path)
    manifest = artifacts.read_manifest(folder)
    with open(folder / "model.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(SeedgeError, match="sha256 differs"):
        open_artifact(folder, manifest, artifacts.find_artifact(manifest, "onnx-fp32"))
    (folder / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(SeedgeError, match="model.safetensors: sha256 differs"):
        open_baseline(folder, manifest)


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="tensorrt is installed here")
def test_missing_backend_names_the_extra(tmp_path):
    folder = fresh_copy(tmp_path)
    (folder / "tensorrt").mkdir()
    (folder / "tensorrt" / "model.fp16.plan").write_bytes(b"engine bytes")
    manifest = add_artifact(folder, "tensorrt-fp16", "tensorrt", "fp16", "tensorrt/model.fp16.plan", "tensorrt")
    with pytest.raises(MissingBackend, match=r"seedge\[tensorrt\]"):
        open_artifact(folder, manifest, artifacts.find_artifact(manifest, "tensorrt-fp16"), device="cuda")


def test_unknown_backend_is_bad_input(folder, manifest):
    art = {**artifacts.find_artifact(manifest, "onnx-fp32"), "backend": "tflite"}
    with pytest.raises(SeedgeError, match="unknown backend 'tflite'"):
        open_artifact(folder, manifest, art)


@pytest.mark.skipif(_cuda(), reason="a CUDA device is present")
@pytest.mark.parametrize("art_id", [None, "torchscript-fp32", "onnx-fp32"])
def test_cuda_without_cuda_is_one_line(folder, manifest, art_id):
    runner = (open_baseline(folder, manifest, device="cuda") if art_id is None
              else open_artifact(folder, manifest, artifacts.find_artifact(manifest, art_id), device="cuda"))
    with pytest.raises(SeedgeError) as e:
        runner.__enter__()
    assert "cuda" in str(e.value) and "\n" not in str(e.value)


def test_openvino_refuses_cuda(folder, manifest):
    runner = open_artifact(folder, manifest, artifacts.find_artifact(manifest, "openvino-fp32"), device="cuda")
    with pytest.raises(SeedgeError, match="runs on the CPU"):
        runner.__enter__()


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda(), reason="needs a CUDA device")
@pytest.mark.parametrize("art_id", [None, "torchscript-fp32"])
def test_torch_runners_on_cuda(folder, manifest, reference, art_id):
    x, logits = reference
    runner = (open_baseline(folder, manifest, device="cuda") if art_id is None
              else open_artifact(folder, manifest, artifacts.find_artifact(manifest, art_id), device="cuda"))
    with runner:
        out = runner.infer({"input": x})[0]
        assert runner.describe()["tf32"] is False
    np.testing.assert_allclose(out, logits, atol=1e-4)


def _ort_has_cuda() -> bool:
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()


@pytest.mark.skipif(_ort_has_cuda(), reason="this onnxruntime has the CUDA provider (onnxruntime-gpu)")
@pytest.mark.parametrize("tensorrt_ep", [False, True])
def test_onnxruntime_on_cuda_without_its_gpu_provider_is_one_line_not_a_fallback(folder, manifest, tensorrt_ep):
    from seedge.errors import Unavailable

    art = artifacts.find_artifact(manifest, "onnx-fp32")
    runner = open_artifact(folder, manifest, art, device="cuda", tensorrt_ep=tensorrt_ep)
    with pytest.raises(Unavailable) as e:
        runner.__enter__()
    msg = str(e.value)
    assert "\n" not in msg and "CUDAExecutionProvider" in msg and "seedge[onnxruntime-gpu]" in msg
    assert "--device cpu" in msg and ("TensorrtExecutionProvider" in msg) == tensorrt_ep
    assert getattr(runner, "session", None) is None  # refused before a session existed: nothing ran on the CPU


def test_onnxruntime_refuses_a_session_missing_an_asked_for_provider():
    from seedge.backends.onnxruntime import check_providers
    from seedge.errors import Unavailable

    gpu = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    check_providers("m.onnx", gpu, list(gpu))  # got what was asked
    check_providers("m.onnx", ["CPUExecutionProvider"], ["CPUExecutionProvider"])
    # ONNX Runtime dropped TensorRT (libnvinfer missing) and kept CUDA: still not what was asked
    with pytest.raises(Unavailable, match=r"m.onnx: .*asked for TensorrtExecutionProvider but the session runs on "
                                          r"CUDAExecutionProvider, CPUExecutionProvider .*TensorRT"):
        check_providers("m.onnx", gpu, ["CUDAExecutionProvider", "CPUExecutionProvider"])
    with pytest.raises(Unavailable, match="asked for CUDAExecutionProvider but the session runs on "
                                          "CPUExecutionProvider") as e:
        check_providers("m.onnx", gpu[1:], ["CPUExecutionProvider"])
    assert "\n" not in str(e.value) and "--device cpu" in str(e.value)


def test_onnxruntime_describe_names_the_provider_that_ran(folder, manifest):
    with open_artifact(folder, manifest, artifacts.find_artifact(manifest, "onnx-fp32")) as runner:
        assert runner.describe()["execution_provider"] == "CPUExecutionProvider"
