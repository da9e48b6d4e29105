"""--calib needs images only: a flat folder, class folders named unlike the model's classes, CSVs, built-ins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seedge.data.calibration import calibration_images, unlabelled_samples
from seedge.errors import SeedgeError
from seedge.preprocess import PreprocessSpec

SPEC = PreprocessSpec(input_size=(3, 16, 16), resize=(16, 16), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))


def _images(folder: Path, n: int, seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        p = folder / f"img{i}.png"
        Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


def test_flat_folder_is_a_pool_of_unlabelled_images(tmp_path):
    _images(tmp_path / "flat", 7)
    samples = unlabelled_samples(str(tmp_path / "flat"), "train")
    assert len(samples) == 7
    x = calibration_images(str(tmp_path / "flat"), SPEC, limit=5, seed=0)
    assert x.shape == (5, 3, 16, 16) and x.dtype == np.float32


def test_images_in_nested_folders_count_but_hidden_ones_do_not(tmp_path):
    _images(tmp_path / "pool", 2)
    _images(tmp_path / "pool" / ".cache", 3)
    # one sub-folder: read as a class folder (labels are not used), its images count
    assert len(unlabelled_samples(str(tmp_path / "pool"), "train")) >= 1


def test_class_folders_with_any_names_give_their_train_images(tmp_path):
    for name in ("zebra", "yak"):
        _images(tmp_path / "cls" / name, 10)
    x = calibration_images(str(tmp_path / "cls"), SPEC, limit=None, seed=0)
    assert 0 < len(x) <= 20


def test_built_in_source_still_works():
    assert calibration_images("digits", SPEC, limit=4, seed=0).shape == (4, 3, 16, 16)


def test_empty_folder_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SeedgeError, match="no images"):
        calibration_images(str(tmp_path / "empty"), SPEC, limit=4, seed=0)
