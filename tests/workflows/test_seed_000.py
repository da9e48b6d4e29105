"""Seed 000, the Res-SE net for lung PET-CT: res_se_net at its own 245x457 input.

The seed's recipe (Adam 1e-3, weight decay 1e-4, early stopping 20, no LR schedule) in one
flag, ROC-AUC (its scripts want it), Grad-CAM on a layer with a real map (the last stage is
1x3 at this size), an ONNX export, and the small-input error (`--img-size 64`).
"""

from __future__ import annotations

import pytest

from _workflow_fixtures import class_tree, read_json, seedge, seedge_json


def test_a_too_small_input_is_one_line_before_any_work(tmp_path, capsys):
    data = class_tree(tmp_path / "pet", ("benign", "malignant"), n=10, size=(32, 32))
    _, err = seedge(capsys, "train", "--model", "res_se_net", "--data", data, "--img-size", "64",
                    "--out", tmp_path / "run", code=2)
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1] == ("seedge: error: --img-size 64x64 is too small for res_se_net: its strides and pooling "
                         "need at least 127x127; use --img-size 127x127 or more")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow  # a 245x457 network: training, evaluation and an export take a minute on two cores
def test_seed_000_workflow_at_245x457(tmp_path, capsys):
    data = class_tree(tmp_path / "pet", ("benign", "malignant"), n=10, size=(245, 457))
    run = tmp_path / "runs" / "res_se_net"
    summary, err = seedge_json(capsys, "train", "--model", "res_se_net", "--data", data, "--recipe", "seed000",
                               "--epochs", "1", "--batch-size", "4", "--out", run)
    recipe = read_json(run / "history.json")["recipe"]
    assert (recipe["optimizer"], recipe["lr"], recipe["weight_decay"], recipe["patience"], recipe["scheduler"]) == \
        ("adam", 1e-3, 1e-4, 20, "none")
    assert recipe["img_size"] == [245, 457] and summary["epochs_run"] == 1
    assert "constant lr" in err and "early stopping 20" in err

    ev, _ = seedge_json(capsys, "evaluate", run, "--gradcam", "1")
    assert ev["samples"] == 4 and set(ev["class_names"]) == {"benign", "malignant"}
    assert 0.0 <= ev["roc_auc_macro"] <= 1.0 and all(c["auc"] is not None for c in ev["per_class"])
    assert ev["gradcam"]["layer"] == "features.4.0"  # 7x14 at 245x457, not the 1x3 last stage
    cams = ev["files"]["gradcam"]
    assert len(cams) == 2 and {p.split("_true-")[1].split("_pred-")[0] for p in cams} == {"benign", "malignant"}
    assert (run / "eval-test" / "roc.png").is_file()

    export, _ = seedge_json(capsys, "export", run, "--formats", "onnx", "--no-pt2", "--no-count-nodes",
                            "--out", tmp_path / "exported")
    manifest = read_json(tmp_path / "exported" / "res_se_net" / "manifest.json")
    assert manifest["input"]["shape"] == ["batch", 3, 245, 457]
    assert [a["id"] for a in export["artifacts"]] == ["onnx-fp32"] and export["artifacts"][0]["parity"]["passed"]
