"""Per-block INT8 sensitivity and `seedge quantize-report`, on the tiny SE-ResNet of test_quantize."""

from __future__ import annotations

import json
import shutil

import pytest
from _quantize_fixtures import ARCH, tiny

from seedge.quantize.policy import TOP

N_CALIB, N_EVAL = 16, 64


@pytest.fixture(autouse=True)
def calib_cache(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("SEEDGE_CACHE", str(tmp_path_factory.getbasetemp() / "seedge-cache"))


@pytest.fixture
def export_dir(tmp_path):
    """A minimal export folder: model.onnx listed in a manifest with its preprocessing."""
    from seedge import artifacts

    t = tiny()
    folder = tmp_path / "tiny"
    folder.mkdir()
    shutil.copy(t.onnx, folder / "model.onnx")
    manifest = artifacts.new_manifest(
        "tiny", {"arch": ARCH, "num_classes": 10, "class_names": [str(i) for i in range(10)], "source": "demo"},
        {"name": "input", "shape": ["batch", 3, 32, 32], "dtype": "float32", "layout": "NCHW"},
        {"name": "logits", "shape": ["batch", 10]}, t.spec.to_dict(),
        # Every export names its eager baseline; quantize-report never loads it, so none is written.
        {"file": "model.safetensors", "sidecar": "model.json"}, {})
    manifest["artifacts"].append(artifacts.artifact_entry("onnx-fp32", "onnx", "fp32", "model.onnx", folder,
                                                          "onnxruntime"))
    artifacts.write_manifest(folder, manifest)
    return folder


def test_blocks_are_real_module_names_ranked_worst_first():
    from seedge.quantize.sensitivity import _badness, block_sensitivity

    t = tiny()
    report = block_sensitivity(t.onnx, t.calib[:N_CALIB], t.x[:N_EVAL], t.y[:N_EVAL])
    names = [b["module"] for b in report["blocks"]]
    assert {"conv1", "layer1.0", "layer1.0.se", "layer2.0.se", "layer3.0", "layer4.0.se", "fc"} <= set(names)
    assert set(names) - {TOP} <= t.module_names  # every block is a module of the PyTorch model
    assert len(names) == len(set(names))
    keys = [_badness(b) for b in report["blocks"]]
    assert keys == sorted(keys, reverse=True)
    assert report["fp32"]["top1_agreement"] == 1.0 and report["fp32"]["accuracy_drop_points"] == 0.0
    # Quantizing one block moves the logits less than quantizing all of them.
    assert max(b["mean_abs_diff"] for b in report["blocks"]) < report["int8"]["mean_abs_diff"]
    assert all(b["mean_abs_diff"] > 0 for b in report["blocks"] if b["module"] not in ("avgpool", TOP))


def test_max_drop_keeps_the_worst_blocks_float_in_ranking_order():
    from seedge.quantize.sensitivity import block_sensitivity

    t = tiny()
    report = block_sensitivity(t.onnx, t.calib[:N_CALIB], t.x[:N_EVAL], t.y[:N_EVAL], max_drop=-100.0)
    fb = report["fallback"]
    ranking = [b["module"] for b in report["blocks"] if b["module"] != TOP]
    # Unreachable on purpose: every block ends up in float, in ranking order, one per step.
    assert not fb["met"] and fb["exclude"] == ranking
    assert [s["exclude"] for s in fb["steps"]] == [ranking[:i] for i in range(len(ranking) + 1)]
    assert fb["steps"][-1]["top1_agreement"] == 1.0  # nothing quantized is left: FP32 answers


def test_cli_report_json_and_re_export_command(export_dir, capsys):
    from seedge.cli import main

    with pytest.raises(SystemExit) as e:
        main(["quantize-report", str(export_dir), "--data", "digits", "--limit", str(N_EVAL), "--calib-samples",
              str(N_CALIB), "--max-drop", "100", "--json"])
    out = capsys.readouterr().out
    assert e.value.code == 0
    doc = json.loads(out)
    assert doc["eval_samples"] == N_EVAL and doc["calibration_samples"] == N_CALIB
    assert doc["blocks"][0]["module"] in tiny().module_names
    assert doc["fallback"]["met"] and doc["fallback"]["exclude"] == []
    assert doc["fallback"]["command"].startswith("seedge export --formats onnx --precisions fp32,int8 --calib digits")


def test_cli_table_names_blocks(export_dir, capsys):
    from seedge.cli import main

    with pytest.raises(SystemExit) as e:
        main(["quantize-report", str(export_dir), "--data", "digits", "--limit", "32", "--calib-samples", "8"])
    out = capsys.readouterr().out
    assert e.value.code == 0
    assert "layer1.0.se" in out and "full INT8 (se-range)" in out


@pytest.mark.parametrize("args, message", [
    (["--calib-samples", "4"], "digits (train split): only 4 calibration images but at least 8 are needed"),
    (["--max-drop", "-1"], "--max-drop -1.0: must be 0 or more"),
    (["--data", "/no/such/images"], "/no/such/images"),
])
def test_cli_bad_input_exits_2_with_one_line(export_dir, capsys, args, message):
    from seedge.cli import main

    argv = ["quantize-report", str(export_dir), "--data", "digits", "--limit", "16"]
    if "--data" in args:
        argv = argv[:2] + argv[4:]
    with pytest.raises(SystemExit) as e:
        main(argv + args)
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2
    assert len(err) == 1 and err[0].startswith("seedge: error: ") and message in err[0]


def test_cli_refuses_a_folder_without_onnx_fp32(export_dir, capsys):
    from seedge import artifacts
    from seedge.cli import main

    manifest = artifacts.read_manifest(export_dir)
    manifest["artifacts"] = []
    artifacts.write_manifest(export_dir, manifest)
    with pytest.raises(SystemExit) as e:
        main(["quantize-report", str(export_dir), "--data", "digits"])
    assert e.value.code == 2 and "no artifact 'onnx-fp32'" in capsys.readouterr().err


def test_greedy_floats_in_ranking_order_then_gives_back_what_the_bound_does_not_need():
    """The search logic on a table of drops per float set (the measuring is tested above)."""
    from seedge.quantize.sensitivity import _Bound, _greedy

    drop = {(): 10.0, ("a",): 6.0, ("a", "b"): 3.0, ("a", "b", "c"): 0.5, ("a", "c"): 2.0, ("b", "c"): 0.8}

    def measure(floats):
        d = drop[tuple(sorted(floats))]
        return {"accuracy": 0.9 - d / 100, "top1_agreement": 1.0 - d / 50, "sqnr_db": 40.0 - d,
                "kl_divergence": d / 100}

    rows = [{"module": m} for m in ("a", "b", TOP, "c")]  # ranking order; TOP is never a candidate
    fp32 = {"accuracy": 0.9, "top1_agreement": 1.0}
    said = []
    fb = _greedy(measure, rows, measure([]), fp32, _Bound(1.0, None), said.append)
    assert [s["exclude"] for s in fb["steps"]] == [[], ["a"], ["a", "b"], ["a", "b", "c"], ["a", "c"], ["b", "c"]]
    assert [s.get("kept") for s in fb["steps"][4:]] == [False, True]  # b is needed, a is not
    assert fb["met"] and fb["exclude"] == ["b", "c"] and fb["final"]["drop_points"] == pytest.approx(0.8)
    assert "step 5: a back to INT8" in said[-1]
    # The agreement gate counts too: 0.8 points is 98.4% agreement, under a 99% gate.
    fb = _greedy(measure, rows, measure([]), fp32, _Bound(1.0, 0.99), said.append)
    assert fb["exclude"] == ["a", "b", "c"] and fb["final"]["top1_agreement"] == pytest.approx(0.99)
