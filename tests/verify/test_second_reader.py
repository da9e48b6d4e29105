"""A second reader in `seedge verify`: `--backend openvino` verifies the ONNX files on OpenVINO too.

The same file is judged by the same recorded gates on each reader; every row names the backend
it ran on, a second reader's row also the artifact's own backend. No builder wrote anything for it.
"""

from __future__ import annotations

import json

import pytest
from _onnx_int8_fixture import int8_export_folder

from seedge import artifacts
from seedge.cli import main
from seedge.verify import verify_artifacts


def run_cli(capsys, *args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main(["verify", *map(str, args)])
    out, err = capsys.readouterr()
    return e.value.code, out, err


def test_verify_backend_openvino_runs_the_onnx_files_on_openvino(capsys):
    folder = int8_export_folder()
    code, out, err = run_cli(capsys, folder, "--backend", "openvino", "--json")
    assert code == 0, err
    rows = {(r["id"], r["backend"]): r for r in json.loads(out)["artifacts"]}
    assert set(rows) == {("onnx-fp32", "openvino"), ("openvino-fp32", "openvino"), ("onnx-int8", "openvino")}
    int8 = rows[("onnx-int8", "openvino")]
    assert int8["artifact_backend"] == "onnxruntime" and int8["runner"]["backend"] == "openvino"
    assert int8["passed"] and int8["device"] == "cpu" and int8["inference_precision"] == "f32"
    assert "artifact_backend" not in rows[("openvino-fp32", "openvino")]


def test_both_readers_of_one_file_and_the_default(capsys):
    folder = int8_export_folder()
    manifest = artifacts.read_manifest(folder)
    both = verify_artifacts(folder, manifest, artifacts=["onnx-int8"], backends=["onnxruntime", "openvino"])
    ort, ov = both["artifacts"]
    assert (ort["backend"], ov["backend"]) == ("onnxruntime", "openvino") and ort["id"] == ov["id"] == "onnx-int8"
    assert ort["runner"]["backend"] == "onnxruntime" and ov["runner"]["backend"] == "openvino"
    # two runtimes on the same Q/DQ file: about as close to eager as each other
    assert abs(ort["cosine"] - ov["cosine"]) < 1e-2
    default = verify_artifacts(folder, manifest, artifacts=["onnx-int8"])["artifacts"]
    assert [(r["backend"], "artifact_backend" in r) for r in default] == [("onnxruntime", False)]
    # a backend that reads none of the chosen artifacts: one line, exit 2, before anything runs
    code, _, err = run_cli(capsys, folder, "--artifact", "onnx-int8", "--backend", "torchscript")
    assert code == 2 and "none of the artifacts to verify is in a format it reads" in err
    assert len(err.strip().splitlines()) == 1, err


def test_a_new_reader_is_one_table_entry(monkeypatch):
    """What the issue asks: a runtime that reads an existing format is one Backend entry (plus its
    runner class; here ONNX Runtime's own, under a new name), verified without any builder."""
    from seedge.backends.table import BACKENDS, Backend

    monkeypatch.setitem(BACKENDS, "ort-second", Backend(
        "ort-second", "seedge.backends.onnxruntime:OnnxRuntimeRunner", "onnxruntime", None, ("cpu",), ("onnx",),
        torch_free=True))
    folder = int8_export_folder()
    rows = verify_artifacts(folder, artifacts.read_manifest(folder), backends=["ort-second"])["artifacts"]
    assert [(r["id"], r["backend"], r["artifact_backend"], r["passed"]) for r in rows] == [
        ("onnx-fp32", "ort-second", "onnxruntime", True), ("onnx-int8", "ort-second", "onnxruntime", True)]
