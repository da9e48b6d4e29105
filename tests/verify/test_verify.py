"""verify_artifacts and `seedge verify` on a real export folder: pass, fail, bad input."""

import importlib.util
import json

import numpy as np
import pytest

from _export_fixtures import add_artifact, export_folder, fresh_copy, perturb_onnx
from seedge import artifacts
from seedge.cli import main
from seedge.verify import verify_artifacts

DESIGN_ROW_KEYS = {"id", "format", "precision", "backend", "top1_agreement", "max_abs_diff", "cosine", "accuracy",
                   "baseline_accuracy", "passed"}


def run_cli(capsys, *args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main(["verify", *map(str, args)])
    out, err = capsys.readouterr()
    return e.value.code, out, err


@pytest.fixture(scope="module")
def folder():
    return export_folder()


def test_verify_artifacts_all_pass(folder):
    manifest = artifacts.read_manifest(folder)
    steps = []
    result = verify_artifacts(folder, manifest, on_step=steps.append)
    assert result["passed"] is True
    assert [r["id"] for r in result["artifacts"]] == [a["id"] for a in manifest["artifacts"]]
    assert steps[0].startswith("baseline") and len(steps) == 1 + len(manifest["artifacts"])
    assert result["baseline"]["reference_max_abs_diff"] == 0.0
    for row in result["artifacts"]:
        assert DESIGN_ROW_KEYS <= set(row)
        assert row["top1_agreement"] == 1.0 and row["max_abs_diff"] < 1e-4 and row["reason"] == "ok"
        assert row["samples"] == 8 and row["accuracy"] is None  # reference inputs carry no labels
    ov_row = next(r for r in result["artifacts"] if r["backend"] == "openvino")
    assert ov_row["inference_precision"] == "f32" and ov_row["note"] is None


def test_verify_with_labelled_arrays(folder):
    manifest = artifacts.read_manifest(folder)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((20, 3, 32, 32)).astype(np.float32)
    # Labels with a known answer, from ONNX Runtime directly (not through seedge): the model's own
    # prediction for 15 images, a different class for the last 5 -> exactly 75% accuracy.
    import onnxruntime as ort

    sess = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    pred = sess.run(None, {sess.get_inputs()[0].name: x})[0].argmax(1)
    y = np.where(np.arange(20) < 15, pred, (pred + 1) % 10)
    result = verify_artifacts(folder, manifest, artifacts=["onnx-fp32"], data=(x, y))
    (row,) = result["artifacts"]
    assert row["samples"] == 28 and row["labelled"] == 20
    assert row["accuracy"] == pytest.approx(0.75) and row["baseline_accuracy"] == pytest.approx(0.75)
    assert result["baseline"]["accuracy"] == pytest.approx(0.75)
    assert result["samples"] == {"reference": 8, "data": 20}


def test_cli_pass_json(folder, capsys):
    code, out, err = run_cli(capsys, folder, "--json", "--artifact", "onnx-fp32", "--artifact", "openvino-fp32")
    assert code == 0, err
    doc = json.loads(out)  # stdout holds the JSON document and nothing else
    assert {"baseline", "artifacts"} <= set(doc)
    assert {"backend", "device", "accuracy"} <= set(doc["baseline"])
    assert [r["id"] for r in doc["artifacts"]] == ["onnx-fp32", "openvino-fp32"]
    assert all(DESIGN_ROW_KEYS <= set(r) and r["passed"] for r in doc["artifacts"])


def test_cli_table_with_data(folder, capsys):
    code, out, err = run_cli(capsys, folder, "--data", "digits", "--limit", "30", "--artifact", "torchscript-fp32")
    assert code == 0, err
    assert "torchscript-fp32" in out and "pass" in out and "30 labelled images" in out
    assert "SQNR dB" in out and "KL nats" in out and "KL(eager || artifact)" in out


def test_cli_fails_on_a_wrong_artifact_and_pins_an_unrecorded_openvino_precision(tmp_path, capsys):
    """A model with perturbed weights fails parity (exit 1); an OpenVINO artifact that records no
    inference precision runs in f32 (not the CPU plugin's default, bf16 on AVX512-BF16/AMX CPUs),
    and verify reports the precision that ran."""
    folder = fresh_copy(tmp_path)
    perturb_onnx(folder / "model.onnx", folder / "model.bad.onnx")
    add_artifact(folder, "onnx-bad", "onnx", "fp32", "model.bad.onnx", "onnxruntime")
    add_artifact(folder, "openvino-default", "openvino", "fp32", "openvino/model.xml", "openvino", {})
    args = ("--artifact", "onnx-fp32", "--artifact", "onnx-bad", "--artifact", "openvino-default")
    code, out, err = run_cli(capsys, folder, "--json", *args)
    assert code == 1
    assert "onnx-bad" in err and len(err.strip().splitlines()) == 1
    rows = {r["id"]: r for r in json.loads(out)["artifacts"]}
    assert rows["onnx-fp32"]["passed"] is True
    assert rows["onnx-bad"]["passed"] is False and "max abs diff" in rows["onnx-bad"]["reason"]
    # The noise measures see the perturbation too: FP32 is far above 60 dB, the bad copy far below.
    assert rows["onnx-fp32"]["sqnr_db"] > 100 and rows["onnx-bad"]["sqnr_db"] < 30
    assert rows["onnx-fp32"]["kl_divergence"] < 1e-9 < rows["onnx-bad"]["kl_divergence"]
    assert rows["openvino-default"]["inference_precision"] == "f32"
    assert not rows["openvino-default"].get("note")  # nothing ran below the artifact's precision


def test_cli_non_finite_artifact_fails(tmp_path, capsys):
    import onnx
    from onnx import numpy_helper

    folder = fresh_copy(tmp_path)
    proto = onnx.load(str(folder / "model.onnx"))
    init = [t for t in proto.graph.initializer if len(t.dims) == 2][-1]
    w = numpy_helper.to_array(init).copy()
    w[0, 0] = np.inf
    init.CopyFrom(numpy_helper.from_array(w, init.name))
    onnx.save(proto, str(folder / "model.inf.onnx"))
    add_artifact(folder, "onnx-inf", "onnx", "fp32", "model.inf.onnx", "onnxruntime")
    code, out, _ = run_cli(capsys, folder, "--json", "--artifact", "onnx-inf")
    (row,) = json.loads(out)["artifacts"]
    assert code == 1 and row["finite"] is False and row["max_abs_diff"] is None
    assert row["sqnr_db"] is None and row["kl_divergence"] is None
    assert "non-finite" in row["reason"]


def test_cli_without_manifest(tmp_path, capsys):
    code, out, err = run_cli(capsys, tmp_path)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "no manifest.json" in err


def test_cli_tampered_artifact(tmp_path, capsys):
    folder = fresh_copy(tmp_path)
    data = bytearray((folder / "model.ts").read_bytes())
    data[-100] ^= 0xFF
    (folder / "model.ts").write_bytes(bytes(data))
    code, out, err = run_cli(capsys, folder, "--json")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "model.ts: sha256 differs" in err


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="tensorrt is installed here")
def test_cli_missing_backend(tmp_path, capsys):
    folder = fresh_copy(tmp_path)
    (folder / "tensorrt").mkdir()
    (folder / "tensorrt" / "model.fp16.plan").write_bytes(b"engine bytes")
    add_artifact(folder, "tensorrt-fp16", "tensorrt", "fp16", "tensorrt/model.fp16.plan", "tensorrt")
    code, out, err = run_cli(capsys, folder, "--artifact", "tensorrt-fp16")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "pip install 'seedge[tensorrt]'" in err
