"""Data sources: digits, synthetic shapes, ImageFolder and CSV trees, splits, augmentation.

Preprocessing itself (and that training's data path equals the runtime's) is tested in
tests/preprocess/test_pipeline.py."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from _data_fixtures import make_csv, make_csv_dataset, make_imagefolder, write_images
from seedge.data import load_arrays, open_source, parse_classes
from seedge.data.images import read_image
from seedge.data.splits import sorted_labels, stratified_split
from seedge.data.transforms import train_augment
from seedge.errors import SeedgeError
from seedge.preprocess import PreprocessSpec

SPEC16 = PreprocessSpec(input_size=(3, 16, 16), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))


def test_digits_splits_are_stratified_disjoint_and_stable():
    src = open_source("digits")
    assert src.class_names == [str(i) for i in range(10)]
    sizes = {k: len(v) for k, v in src.splits.items()}
    assert sum(sizes.values()) == 1797 and sizes["test"] == 359 and sizes["val"] == 179
    ids = {k: {o for o in v.origins} for k, v in src.splits.items()}
    assert not (ids["train"] & ids["test"]) and not (ids["val"] & ids["test"])
    assert np.bincount(src.split("test").labels, minlength=10).min() >= 34  # ~20% of every class
    assert open_source("digits").split("test").origins == src.split("test").origins


def test_digits_load_arrays_upscales_to_three_channels():
    spec = PreprocessSpec(input_size=(3, 32, 32), mean=(0.0,) * 3, std=(1.0,) * 3)
    x, y, names = load_arrays("digits", spec, split="test", limit=12, seed=3)
    assert x.shape == (12, 3, 32, 32) and x.dtype == np.float32 and y.dtype == np.int64
    assert names == [str(i) for i in range(10)]
    assert np.array_equal(x[:, 0], x[:, 1]) and np.array_equal(x[:, 1], x[:, 2])  # gray -> RGB
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.9
    x2, y2, _ = load_arrays("digits", spec, split="test", limit=12, seed=3)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    test = open_source("digits").split("test")
    assert test.limit(12, 3).origins != test.limit(12, 4).origins  # the seed picks the subset


def test_shapes_any_size():
    src = open_source("shapes:245x457,n=16,classes=2")
    assert src.class_names == ["circle", "square"]
    img = read_image(src.split("train").items[0])
    assert img.size == (457, 245) and img.mode == "RGB"
    spec = PreprocessSpec(input_size=(3, 245, 457), mean=(0.0,) * 3, std=(1.0,) * 3)
    x, y, _ = load_arrays("shapes:245x457,n=16,classes=2", spec, split="train")
    assert x.shape == (len(y), 3, 245, 457)
    with pytest.raises(SeedgeError, match="cannot parse"):
        open_source("shapes:big")


def test_imagefolder_without_splits_gray_and_rgba(tmp_path):
    root = make_imagefolder(tmp_path / "ds", n=10)
    src = open_source(str(root))
    assert src.kind == "imagefolder" and src.class_names == ["circle", "square", "triangle"]
    assert {k: len(v) for k, v in src.splits.items()} == {"train": 21, "val": 3, "test": 6}
    x, y, names = load_arrays(str(root), SPEC16, split="train")
    assert x.shape == (21, 3, 16, 16) and sorted(set(y.tolist())) == [0, 1, 2]
    gray = [i for i, o in enumerate(src.split("train").origins) if o.endswith("_L.png")]
    assert gray and all(np.array_equal(x[i, 0], x[i, 2]) for i in gray)


def test_imagefolder_with_train_and_valid_dirs(tmp_path):
    root = make_imagefolder(tmp_path / "ds", n=4, splits=("train", "valid"))
    src = open_source(str(root))
    assert set(src.splits) == {"train", "val", "test"}
    assert src.split("test").origins == src.split("valid").origins
    assert any("test uses the val split" in n for n in src.notes)


def test_imagefolder_unknown_class_in_val(tmp_path):
    root = make_imagefolder(tmp_path / "ds", n=3, splits=("train", "val", "test"))
    write_images(root / "val" / "cross", "cross", 2)
    with pytest.raises(SeedgeError, match="label 'cross' does not occur in the training split"):
        open_source(str(root))


def test_imagefolder_errors(tmp_path):
    with pytest.raises(SeedgeError, match="no such file or directory"):
        open_source(str(tmp_path / "missing"))
    root = make_imagefolder(tmp_path / "ds", n=3)
    (root / "empty").mkdir()
    with pytest.raises(SeedgeError, match=r"empty: class folder holds no images"):
        open_source(str(root))
    flat = tmp_path / "flat"
    write_images(flat, "circle", 2)
    with pytest.raises(SeedgeError, match="no class folders"):
        open_source(str(flat))


def test_csv_string_labels_sorted_and_resolved_under_root(tmp_path):
    csv_path = make_csv_dataset(tmp_path / "c", labels=("pituitary", "glioma", "meningioma"), n=10)
    src = open_source(str(csv_path))
    assert src.kind == "csv" and src.class_names == ["glioma", "meningioma", "pituitary"]
    x, y, names = load_arrays(str(csv_path), SPEC16, split="test")
    assert x.shape[1:] == (3, 16, 16) and len(y) == 6 and names == src.class_names
    # --data-root: the same rows resolved under another folder
    moved = tmp_path / "elsewhere"
    (tmp_path / "c").rename(moved)
    rows_only = make_csv(tmp_path / "rows.csv", [(r.split(",")[0], r.split(",")[1]) for r in
                                                 (moved / "data.csv").read_text().splitlines()[1:]])
    assert len(open_source(str(rows_only), root=moved).split("train")) == 21


def test_csv_numeric_labels_sort_numerically(tmp_path):
    paths = write_images(tmp_path / "img", "circle", 9)
    rows = [(p.name, lab) for p, lab in zip(paths, ["10", "2", "1"] * 3)]
    src = open_source(str(make_csv(tmp_path / "img" / "d.csv", rows, header=None)))
    assert src.class_names == ["1", "2", "10"]
    assert sorted_labels(["b", "a", "C"]) == ["C", "a", "b"]


def test_csv_split_files_and_split_column(tmp_path):
    d = tmp_path / "s"
    tr = write_images(d / "img", "circle", 4) + write_images(d / "img", "square", 4, seed=1)
    lab = ["round"] * 4 + ["box"] * 4
    make_csv(d / "train.csv", [(str(p.relative_to(d)), l) for p, l in zip(tr, lab)])
    make_csv(d / "val.csv", [(str(tr[0].relative_to(d)), "round")])
    make_csv(d / "test.csv", [(str(tr[5].relative_to(d)), "box"), (str(tr[1].relative_to(d)), "round")])
    src = open_source(str(d / "train.csv"))
    assert {k: len(v) for k, v in src.splits.items()} == {"train": 8, "val": 1, "test": 2}
    assert src.class_names == ["box", "round"] and src.split("test").labels.tolist() == [0, 1]
    make_csv(d / "test.csv", [(str(tr[5].relative_to(d)), "triangle")])
    with pytest.raises(SeedgeError, match=r"test.csv row 2: label 'triangle' does not occur"):
        open_source(str(d / "train.csv"))
    col = make_csv(d / "all.csv", [(str(p.relative_to(d)), l, s) for p, l, s in
                                   zip(tr, lab, ["train", "train", "val", "test"] * 2)], ("path", "label", "split"))
    src = open_source(str(col))
    assert {k: len(v) for k, v in src.splits.items()} == {"train": 4, "val": 2, "test": 2}


def test_csv_bad_rows(tmp_path):
    d = tmp_path / "b"
    paths = write_images(d, "circle", 3)
    bad = make_csv(d / "missing.csv", [(paths[0].name, "a"), ("nope.png", "b")])
    with pytest.raises(SeedgeError, match=r"missing.csv row 3: image nope.png not found"):
        open_source(str(bad))
    (d / "broken.png").write_bytes(b"not really a png")
    rows = [(p.name, lab) for p, lab in zip(paths, "aab")] + [("broken.png", "b")] * 3
    src = open_source(str(make_csv(d / "broken.csv", rows)))
    with pytest.raises(SeedgeError, match=r"broken.png: cannot read image .*broken.csv row"):
        for part in ("train", "val", "test"):
            load_arrays(str(d / "broken.csv"), SPEC16, split=part)
    assert len(src.class_names) == 2
    with pytest.raises(SeedgeError, match="expected at least 2 columns"):
        open_source(str(make_csv(d / "short.csv", [(paths[0].name,)], header=None)))


def test_class_list_mismatch(tmp_path):
    root = make_imagefolder(tmp_path / "ds", n=3)
    src = open_source(str(root), class_names=["triangle", "square", "circle"])
    assert src.class_names == ["triangle", "square", "circle"]  # the given order is the output order
    with pytest.raises(SeedgeError, match="label 'triangle' does not occur in the given class list"):
        open_source(str(root), class_names=["circle", "square"])
    assert parse_classes("a, b") == ["a", "b"]
    with pytest.raises(SeedgeError):
        parse_classes("a,a")


def test_stratified_split_keeps_a_train_sample_per_class():
    labels = ["a"] * 50 + ["b"] * 3 + ["c"]
    parts = stratified_split(labels, {"val": 0.1, "test": 0.2}, seed=5)
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(54))
    train_labels = {labels[i] for i in parts["train"]}
    assert train_labels == {"a", "b", "c"}
    assert len([i for i in parts["test"] if labels[i] == "a"]) == 10
    again = stratified_split(labels, {"val": 0.1, "test": 0.2}, seed=5)
    assert all(np.array_equal(parts[k], again[k]) for k in parts)


@pytest.mark.parametrize("preset,size", [("crop", 32), ("cifar", 32), ("full", 72), ("none", 16)])
def test_train_augment_keeps_input_size(preset, size):
    spec = PreprocessSpec(input_size=(3, size, size))
    img = Image.new("RGB", (size, size), (100, 50, 25))
    assert train_augment(preset, spec)(img).size == (size, size)
