"""Evaluation: metrics agree with the model's own predictions, PNG outputs, --json, Grad-CAM."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from _data_fixtures import make_imagefolder
from seedge.checkpoint import load_model, save_checkpoint
from seedge.cli import main
from seedge.data import load_arrays
from seedge.evaluate import evaluate_checkpoint
from seedge.evaluate.gradcam import find_target_layer, gradcam
from seedge.models import create_model
from seedge.preprocess import PreprocessSpec

SHAPES = "shapes:24x24,n=60,classes=3"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """An untrained-but-fixed model: evaluation must report exactly what it predicts."""
    torch.manual_seed(0)
    model = create_model("se_resnet10_cifar_tiny", num_classes=3).eval()
    spec = PreprocessSpec.from_model_cfg(model.seedge_cfg, img_size=16)
    folder = tmp_path_factory.mktemp("ckpt")
    save_checkpoint(model, folder / "model", class_names=["circle", "square", "triangle"], preprocess=spec,
                    extra={"training": {"data": SHAPES}})
    return folder


def test_metrics_match_predictions_and_files_are_written(ckpt, tmp_path):
    r = evaluate_checkpoint(ckpt, SHAPES, split="test", out=tmp_path / "ev", gradcam=2)
    model, info = load_model(ckpt)
    x, y, _ = load_arrays(SHAPES, info["preprocess"], "test", class_names=info["class_names"])
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(1).numpy()
    assert r["samples"] == len(y) == 12
    assert r["accuracy"] == pytest.approx(float((pred == y).mean()))
    cm = np.array(r["confusion_matrix"])
    assert cm.sum() == 12 and np.array_equal(cm.sum(1), np.bincount(y, minlength=3))
    assert np.array_equal(cm.sum(0), np.bincount(pred, minlength=3))
    assert [c["recall"] for c in r["per_class"]] == pytest.approx(
        [float((pred[y == k] == k).mean()) for k in range(3)])
    png = tmp_path / "ev" / "confusion_matrix.png"
    assert png.read_bytes()[:8] == PNG_MAGIC
    # two images of each class; file names say the true and the predicted class
    assert len(r["files"]["gradcam"]) == 6
    assert all(open(p, "rb").read(8) == PNG_MAGIC for p in r["files"]["gradcam"])
    names = ["circle", "square", "triangle"]
    for k, path in enumerate(sorted(r["files"]["gradcam"])):
        i = [j for j in range(12) if y[j] == k // 2][k % 2]
        assert path.endswith(f"_true-{names[y[i]]}_pred-{names[pred[i]]}.png")
    assert r["gradcam"]["layer"] == "layer2"  # at 16 px layer3 is 4x4: layer2 is the last map of at least 7x7
    assert open(r["files"]["roc_png"], "rb").read(8) == PNG_MAGIC
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text())["accuracy"] == r["accuracy"]


def test_cli_json_is_one_document_and_data_defaults_to_training_data(ckpt, tmp_path, capsys):
    with pytest.raises(SystemExit) as ex:
        main(["evaluate", str(ckpt), "--json", "--out", str(tmp_path / "ev"), "--split", "val"])
    out, _ = capsys.readouterr()
    assert ex.value.code == 0
    doc = json.loads(out)
    assert doc["data"] == SHAPES and doc["split"] == "val" and doc["samples"] == 6
    assert {"accuracy", "precision_macro", "recall_macro", "f1_macro", "per_class", "confusion_matrix"} <= set(doc)


def test_cli_unknown_label_and_missing_data(ckpt, tmp_path, capsys):
    root = make_imagefolder(tmp_path / "ds", classes=("circle", "cross"), n=5, size=(16, 16))
    with pytest.raises(SystemExit) as ex:
        main(["evaluate", str(ckpt), "--data", str(root), "--out", str(tmp_path / "ev")])
    _, err = capsys.readouterr()
    lines = [l for l in err.splitlines() if l.strip()]
    assert ex.value.code == 2 and len(lines) == 1
    assert "label 'cross' does not occur in the given class list" in lines[0]
    with pytest.raises(SystemExit) as ex:
        main(["evaluate", str(ckpt), "--data", str(tmp_path / "absent")])
    _, err = capsys.readouterr()
    assert ex.value.code == 2 and "absent: no such file or directory" in err


@pytest.mark.parametrize("arch,size,expected", [
    ("se_resnet18", 224, "layer4"),                     # 7x7: the classic choice
    ("se_resnet10_cifar_tiny", 32, "layer3"),           # layer4 is 4x4 at 32 px
    ("res_se_net", (245, 457), "features.4.0"),         # the seed's size: the last stage is 1x3, block 5 is 7x14
    ("res_se_net", (128, 160), "features.3.0"),
    ("mobilenet_v3_small", 224, "features"),
    ("mobilenet_v3_small", 96, "features.4.block.0"),   # 12x12, before the block's stride-2 depthwise conv
    ("se_resnet10_cifar_tiny", 8, "layer1"),            # nothing reaches 7x7: the last map with spatial extent
])
def test_gradcam_target_layer_is_the_last_map_of_at_least_7x7(arch, size, expected):
    h, w = (size, size) if isinstance(size, int) else size
    assert find_target_layer(create_model(arch, num_classes=2), (3, h, w)) == expected


def test_gradcam_class_and_layer_options(ckpt, tmp_path, capsys):
    with pytest.raises(SystemExit) as ex:
        main(["evaluate", str(ckpt), "--out", str(tmp_path / "ev"), "--gradcam-class", "square",
              "--gradcam-layer", "layer1", "--json"])
    out, err = capsys.readouterr()
    assert ex.value.code == 0, err
    doc = json.loads(out)
    assert doc["gradcam"] == {"layer": "layer1", "class": "square", "per_class": 4, "explains": "square"}
    assert len(doc["files"]["gradcam"]) == 4 and all("_true-square_" in p for p in doc["files"]["gradcam"])
    assert err.startswith("data: shapes:24x24,n=60,classes=3: split 70/10/20")
    for args, msg in ((["--gradcam-class", "cross"], "--gradcam-class 'cross': not one of the model's classes"),
                      (["--gradcam-layer", "layer9"], "--gradcam-layer layer9: is not a module of"),
                      (["--gradcam-layer", "fc"], "--gradcam-layer fc: has no 4-D feature map output")):
        with pytest.raises(SystemExit) as ex:
            main(["evaluate", str(ckpt), "--out", str(tmp_path / "ev2"), *args])
        _, err = capsys.readouterr()
        assert ex.value.code == 2 and msg in err


def test_gradcam_maps_are_normalized_and_follow_the_object():
    """A model whose logit is the mean of the red channel in the left half: the map must light up there."""

    class LeftRed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 2, 1)
            with torch.no_grad():
                self.conv.weight.zero_()
                self.conv.bias.zero_()
                self.conv.weight[0, 0] = 1.0
                self.conv.weight[1, 1] = 1.0

        def forward(self, x):
            f = torch.relu(self.conv(x))
            mask = torch.zeros_like(f)
            mask[:, :, :, : f.shape[3] // 2] = 1
            return (f * mask).mean((2, 3))

    x = np.zeros((1, 3, 8, 8), np.float32)
    x[0, 0, 2:6, 1:3] = 1.0  # red blob on the left
    cams, cls = gradcam(LeftRed(), x, target_layer="conv")
    assert cams.shape == (1, 8, 8) and cls.tolist() == [0]
    assert cams.min() >= 0 and cams.max() == pytest.approx(1.0)
    assert cams[0, 2:6, 1:3].mean() > 0.5 and cams[0, :, 5:].max() < 0.2
