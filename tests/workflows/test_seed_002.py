"""Seed 002, SENet ultrasound: a CSV `Image_path,Plane` (here with extra columns and `;`), SGD +
StepLR(7, 0.1) with early stopping 5 and a 64/16/20 split (the seed's recipe, one flag), weighted
precision/recall/F1 as the seed reports them."""

from __future__ import annotations

import pytest

from _data_fixtures import write_images
from _workflow_fixtures import read_json, seedge, seedge_json

PLANES = ("abdomen", "femur", "thorax")


def _ultrasound_csv(root, n: int = 25):
    """root/scans/*.png and root/planes.csv: Patient;Image_path;Operator;Plane (the label is not 2nd)."""
    rows = ["Patient;Image_path;Operator;Plane"]
    for k, plane in enumerate(PLANES):
        for i, p in enumerate(write_images(root / "scans", ("circle", "square", "triangle")[k], n, (40, 40),
                                           seed=k)):
            rows.append(f"P{k}{i:03d};{p.relative_to(root)};op{i % 3};{plane}")
    (root / "planes.csv").write_text("\n".join(rows) + "\n")
    return root / "planes.csv"


@pytest.mark.slow  # SE-ResNeXt-50 (the seed's model), one epoch
def test_seed_002_workflow(tmp_path, capsys):
    csv_file = _ultrasound_csv(tmp_path)
    run = tmp_path / "run"
    summary, err = seedge_json(capsys, "train", "--model", "se_resnext50_32x4d", "--data", csv_file, "--recipe",
                               "seed002", "--img-size", "32", "--epochs", "1", "--batch-size", "16", "--out", run)
    first = err.splitlines()[0]
    assert first.startswith(f"data: {csv_file}: columns: path 'Image_path', label 'Plane' (';'-separated); "
                            f"split 64/16/20 train/val/test")
    recipe = read_json(run / "history.json")["recipe"]
    assert (recipe["optimizer"], recipe["lr"], recipe["momentum"], recipe["scheduler"], recipe["step_size"],
            recipe["gamma"], recipe["patience"]) == ("sgd", 1e-3, 0.9, "step", 7, 0.1, 5)
    assert "StepLR(7, 0.1)" in err
    assert summary["class_names"] == list(PLANES)
    assert summary["test"]["samples"] == 15  # 20% of 25 per plane: the recorded split, not 70/10/20

    ev, err = seedge_json(capsys, "evaluate", run)  # the data, its columns and split come from the run
    assert ev["samples"] == 15 and err.startswith("data: ")
    for avg in ("weighted", "macro"):
        assert {f"precision_{avg}", f"recall_{avg}", f"f1_{avg}"} <= set(ev)
    assert ev["recall_weighted"] == pytest.approx(ev["accuracy"])  # support-weighted recall is accuracy
    out, _ = seedge(capsys, "evaluate", run)
    assert "weighted  precision" in out and "roc-auc" in out
