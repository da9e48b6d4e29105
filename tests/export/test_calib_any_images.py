"""export --calib: any folder of images (issue 23 item 7), not only class folders named like the model's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from seedge.artifacts import read_manifest
from seedge.checkpoint import save_checkpoint
from seedge.export.options import ExportOptions
from seedge.export.pipeline import export_model
from seedge.models import create_model

CLASSES = [f"c{i}" for i in range(10)]


def _images(folder: Path, n: int, seed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(folder / f"{i}.png")


@pytest.fixture
def named(tmp_path) -> Path:
    torch.manual_seed(0)
    model = create_model("se_resnet10_cifar_tiny", num_classes=10).eval()
    return save_checkpoint(model, tmp_path / "ckpt" / "tiny", class_names=CLASSES)


def _export(ckpt: Path, calib: Path, out: Path) -> dict:
    folder = export_model(
        ckpt,
        ExportOptions(formats=("onnx",), precisions=("int8",), calib=str(calib), calib_samples=8,
                      out=out, count_nodes=False, pt2=False, verify_samples=8),
    )
    return read_manifest(folder)


def test_flat_folder_calibrates(named, tmp_path):
    _images(tmp_path / "flat", 12, 0)
    m = _export(named, tmp_path / "flat", tmp_path / "out")
    art = next(a for a in m["artifacts"] if a["id"] == "onnx-int8")
    assert art["build"]["calibration"]["source"] == str(tmp_path / "flat")
    assert art["parity"]["accuracy"] is None  # no labels: none invented


def test_class_folders_named_unlike_the_model_calibrate(named, tmp_path):
    for k, name in enumerate(("apple", "pear")):
        _images(tmp_path / "fruit" / name, 8, k)
    m = _export(named, tmp_path / "fruit", tmp_path / "out")
    assert [a["id"] for a in m["artifacts"]] == ["onnx-int8"]
