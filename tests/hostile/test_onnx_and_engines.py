"""Hostile model files inside an export folder: their sha256 is recorded in the manifest (as a
hostile folder would do), so only the loaders stand between them and the user. Each ends in
one line that says what is wrong (OpenVINO's useful line, not its C++ source location), exit 2;
ONNX external data never leaves the folder; an engine's message says it needs a GPU too."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _export_fixtures import fresh_copy
from _hostile import one_line, snapshot

from seedge.errors import SeedgeError, message_line


@pytest.fixture
def folder(tmp_path) -> Path:
    return fresh_copy(tmp_path / "exported")


def _replace(folder: Path, art_id: str, data: bytes, rel: str | None = None) -> Path:
    """Overwrite an artifact's file and record the new bytes' sha256, as a forger would."""
    m = json.loads((folder / "manifest.json").read_text())
    entry = next(a for a in m["artifacts"] if a["id"] == art_id)
    if rel:
        entry["file"] = rel
    path = folder / entry["file"]
    path.write_bytes(data)
    if path.suffix == ".xml":  # an IR's hash covers its .bin too
        from seedge.artifacts import artifact_sha256

        entry["sha256"] = artifact_sha256(path)
    else:
        entry["sha256"] = hashlib.sha256(data).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(m))
    return path


def _verify_subprocess(folder: Path, art_id: str) -> subprocess.CompletedProcess:
    """As users run it: C++ libraries write to the process's stderr, which is what is checked."""
    return subprocess.run([sys.executable, "-m", "seedge", "verify", str(folder), "--artifact", art_id],
                          capture_output=True, text=True, timeout=300)


def test_a_broken_openvino_ir_says_what_is_wrong_in_one_line(folder):
    path = _replace(folder, "openvino-fp32", b"<net><layers><layer id='0'")
    r = _verify_subprocess(folder, "openvino-fp32")
    assert r.returncode == 2 and r.stdout == ""
    line = one_line(r.stderr, str(path), "OpenVINO cannot compile this model", "Unable to read the model")
    assert "core.cpp" not in line and "Exception from" not in line


def test_openvino_messages_keep_the_cause_not_the_source_location(tmp_path):
    import openvino as ov

    bad = tmp_path / "bad.xml"
    bad.write_text("<net>")
    (tmp_path / "bad.bin").write_bytes(b"")
    with pytest.raises(Exception) as e:
        ov.Core().read_model(str(bad), str(tmp_path / "bad.bin"))
    assert str(e.value).startswith("Exception from src/")  # what OpenVINO says first
    line = message_line(e.value)
    assert "Unable to read the model" in line and "Exception from" not in line and "\n" not in line


def test_a_broken_onnx_file_is_one_line(folder, cli):
    path = _replace(folder, "onnx-fp32", b"\x08\x07garbage-not-protobuf" * 50)
    code, stdout, err = cli("verify", folder, "--artifact", "onnx-fp32")
    assert code == 2 and stdout == ""
    one_line(err, str(path), "ONNX Runtime cannot load this model")


def test_a_broken_torchscript_archive_is_one_line(folder, cli):
    path = _replace(folder, "torchscript-fp32", b"PK\x03\x04" + b"\x00" * 100)
    code, _, err = cli("verify", folder, "--artifact", "torchscript-fp32")
    assert code == 2
    one_line(err, str(path), "not a loadable TorchScript archive")


def _external_data_model(folder: Path, location: str) -> bytes:
    """An ONNX model whose weight is stored at `location`, relative to the model's folder."""
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((3, 3), np.float32), "W")
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", str(9 * 4))):
        entry = w.external_data.add()
        entry.key, entry.value = k, v
    graph = helper.make_graph([helper.make_node("MatMul", ["input", "W"], ["logits"])], "g",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


@pytest.mark.parametrize("how", ["dotdot", "symlink"])
def test_onnx_external_data_never_leaves_the_folder(how, folder, tmp_path):
    from seedge.artifacts import read_manifest
    from seedge.backends import open_artifact

    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.full(9, 7, np.float32).tobytes())
    if how == "dotdot":
        location = "../../secret.bin"
    else:
        (folder / "weights.bin").symlink_to(secret)
        location = "weights.bin"
    _replace(folder, "onnx-fp32", _external_data_model(folder, location))
    m = read_manifest(folder)
    entry = next(a for a in m["artifacts"] if a["id"] == "onnx-fp32")
    with pytest.raises(SeedgeError) as e, open_artifact(folder, m, entry) as runner:
        runner.infer({"input": np.ones((1, 3), np.float32)})
    assert "\n" not in str(e.value)
    assert "outside" in str(e.value) or "escapes" in str(e.value) or "symlink" in str(e.value).lower()


def test_quantize_report_on_an_invalid_onnx_file_is_one_line(folder, cli):
    path = _replace(folder, "onnx-fp32", b"not an onnx model at all")
    code, stdout, err = cli("quantize-report", folder, "--data", "digits", "--limit", "8")
    assert code == 2 and stdout == ""
    one_line(err, str(path), "not a valid ONNX model")


def test_bench_exits_2_when_a_default_picked_artifact_fails_its_sha256(folder, cli):
    (folder / "model.onnx").write_bytes((folder / "model.onnx").read_bytes() + b"\x00")  # changed after export
    before = snapshot(folder)
    code, stdout, err = cli("bench", folder, "--iters", "1", "--warmup", "0", "--rounds", "1")
    assert code == 2 and stdout == ""
    one_line(err, "model.onnx", "sha256 differs from the manifest")
    assert snapshot(folder) == before


def test_the_tensorrt_message_says_a_gpu_is_needed_too():
    from seedge.backends.open import require_backend
    from seedge.backends.table import installed

    if installed("tensorrt"):
        pytest.skip("TensorRT is installed here: nothing is missing")
    with pytest.raises(SeedgeError) as e:
        require_backend("tensorrt")
    msg = str(e.value)
    assert "pip install 'seedge[tensorrt]'" in msg and "NVIDIA GPU" in msg


def test_the_runtime_names_the_gpu_for_an_engine_on_a_cpu_machine(folder):
    from seedge.backends.table import installed
    from seedge.runtime import Model

    if installed("tensorrt"):
        pytest.skip("TensorRT is installed here")
    plan = folder / "tensorrt" / "model.plan"
    plan.parent.mkdir()
    m = json.loads((folder / "manifest.json").read_text())
    plan.write_bytes(b"engine bytes")
    m["artifacts"].append({"id": "tensorrt-fp32", "format": "tensorrt", "precision": "fp32",
                           "file": "tensorrt/model.plan", "backend": "tensorrt", "build": {},
                           "sha256": hashlib.sha256(b"engine bytes").hexdigest(), "parity": None})
    (folder / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(SeedgeError, match="NVIDIA GPU"):
        Model.open(folder, artifact="tensorrt-fp32", device="cuda")
