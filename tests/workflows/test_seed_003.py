"""Seed 003, SE-ResNet18 vs ResNet18 on brain MRI: a four-class ImageFolder with train/ and valid/,
class-wise recall, a confusion matrix, and Grad-CAM per class and for one class (`--class glioma`)."""

from __future__ import annotations

import pytest

from _workflow_fixtures import class_tree, read_json, seedge_json

CLASSES = ("glioma", "meningioma", "notumor", "pituitary")


@pytest.mark.slow  # two ResNet-18 trainings, evaluations and Grad-CAM
def test_seed_003_workflow(tmp_path, capsys):
    data = class_tree(tmp_path / "data", CLASSES, n=6, size=(64, 64), splits=("train", "valid"))
    for arch in ("se_resnet18", "resnet18"):
        run = tmp_path / "runs" / arch
        _, err = seedge_json(capsys, "train", "--model", arch, "--data", data, "--recipe", "seed003", "--img-size",
                             "64", "--epochs", "1", "--batch-size", "8", "--out", run)
        assert "no test split: test uses the val split" in err.splitlines()[0]
        recipe = read_json(run / "history.json")["recipe"]
        assert (recipe["optimizer"], recipe["scheduler"], recipe["monitor"]) == ("adam", "none", "val_acc")

        ev, _ = seedge_json(capsys, "evaluate", run, "--gradcam", "1")
        assert [c["class"] for c in ev["per_class"]] == list(CLASSES)
        assert all(c["support"] == 6 and 0 <= c["recall"] <= 1 for c in ev["per_class"])
        cams = sorted(ev["files"]["gradcam"])
        assert [p.split("_true-")[1].split("_pred-")[0] for p in cams] == list(CLASSES)  # one per class
        assert ev["gradcam"]["layer"] == "layer2"  # at 64 px: layer2 is 8x8, layer3 4x4
        assert (run / "eval-test" / "confusion_matrix.png").is_file()

        ev, _ = seedge_json(capsys, "evaluate", run, "--gradcam-class", "glioma", "--gradcam", "2",
                            "--out", tmp_path / "glioma" / arch)
        cams = ev["files"]["gradcam"]
        assert len(cams) == 2 and all("_true-glioma_" in p for p in cams)
        assert ev["gradcam"]["explains"] == "glioma"
