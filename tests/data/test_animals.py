"""The built-in `animals` source (Animal-MNIST from the animal-mnist package, read without importing it):
contents, the n=K subset, splits, the restricted unpickler, bad SRC text, missing package, one CLI run."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from seedge.cli import main
from seedge.data import load_arrays, open_source
from seedge.data.animals import (
    ANIMALS,
    animals_arrays,
    check_arrays,
    read_pickled_array,
)
from seedge.errors import SeedgeError
from seedge.preprocess import PreprocessSpec


# The data lives in the animal-mnist wheel, which `.ci/setup` installs with --no-deps (its declared
# dependencies include tensorflow); a plain `pip install -e .[dev]` does not have it.
needs_animals = pytest.mark.skipif(importlib.util.find_spec("animal_mnist") is None,
                                   reason="animal-mnist is not installed: pip install --no-deps animal-mnist==0.4")


def _index(origin: str) -> int:
    assert origin.startswith("animals[") and origin.endswith("]"), origin
    return int(origin[len("animals["):-1])


@needs_animals
def test_arrays_are_ten_balanced_classes_of_28x28_uint8():
    images, labels = animals_arrays()
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and labels.dtype == np.int64
    assert np.bincount(labels, minlength=10).tolist() == [1000] * 10
    assert images.min() == 0 and images.max() == 255  # white silhouettes on black, full range
    assert not images.flags.writeable and not labels.flags.writeable  # the cache is shared


@needs_animals
def test_source_names_splits_stratified_and_deterministic():
    src = open_source("animals")
    assert src.kind == "animals" and src.class_names == list(ANIMALS)
    assert src.class_names == ["bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep",
                               "zebra"]
    sizes = {k: len(v) for k, v in src.splits.items()}
    assert sizes == {"train": 7000, "val": 1000, "test": 2000}
    for name, per_class in (("train", 700), ("val", 100), ("test", 200)):
        assert np.bincount(src.split(name).labels, minlength=10).tolist() == [per_class] * 10
    ids = {k: {_index(o) for o in v.origins} for k, v in src.splits.items()}
    assert not (ids["train"] & ids["val"]) and not (ids["train"] & ids["test"]) and not (ids["val"] & ids["test"])
    assert len(ids["train"] | ids["val"] | ids["test"]) == 10_000
    # Each row's label is the file's label for that index, by name.
    _, labels = animals_arrays()
    test = src.split("test")
    assert all(labels[_index(o)] == y for o, y in zip(test.origins, test.labels))
    again = open_source("animals")
    assert all(again.split(k).origins == src.split(k).origins for k in ("train", "val", "test"))


@needs_animals
def test_n_takes_the_first_k_of_each_class_in_file_order():
    _, labels = animals_arrays()
    first = {c: set(np.flatnonzero(labels == c)[:20].tolist()) for c in range(10)}
    src = open_source("animals,n=20")
    rows = [(_index(o), y) for s in src.splits.values() for o, y in zip(s.origins, s.labels)]
    assert len(rows) == 200
    assert {c: {i for i, y in rows if y == c} for c in range(10)} == first
    assert {k: len(v) for k, v in src.splits.items()} == {"train": 140, "val": 20, "test": 40}
    assert np.bincount(src.split("test").labels, minlength=10).tolist() == [4] * 10
    assert open_source("animals,n=20").split("test").origins == src.split("test").origins
    assert len(open_source("animals, n=1").split("train")) == 10  # one per class, all in train


@needs_animals
def test_images_go_through_the_shared_preprocessing():
    spec = PreprocessSpec(input_size=(3, 32, 32), mean=(0.0,) * 3, std=(1.0,) * 3)
    x, y, names = load_arrays("animals,n=5", spec, split="train")
    assert x.shape == (len(y), 3, 32, 32) and x.dtype == np.float32 and names == list(ANIMALS)
    assert np.array_equal(x[:, 0], x[:, 1]) and np.array_equal(x[:, 1], x[:, 2])  # gray -> RGB
    assert 0.0 <= x.min() and x.max() == 1.0


@pytest.mark.parametrize("src, says", [
    ("animals,n=abc", "cannot parse 'n=abc'"),
    ("animals,k=3", "cannot parse 'k=3'"),
    ("animals,20", "cannot parse '20'"),
    ("animals,n=0", "n=0: give 1..1000 images per class"),
    ("animals,n=1001", "n=1001: give 1..1000 images per class"),
])
def test_malformed_src_is_one_line(src, says):
    with pytest.raises(SeedgeError) as ex:
        open_source(src)
    msg = str(ex.value)
    assert says in msg and "\n" not in msg and msg.startswith(src)


def _gz(path: Path, payload: bytes) -> Path:
    path.write_bytes(gzip.compress(payload))
    return path


class _System:
    """Unpickles to os.system(command): what a hostile data file would do."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_reader_refuses_a_pickle_that_runs_code(tmp_path):
    marker = tmp_path / "ran"
    hostile = _gz(tmp_path / "hostile.gz", pickle.dumps(_System(f"touch {marker}")))
    with pytest.raises(SeedgeError, match=r"refers to (posix|os|nt)\.system; only numpy arrays") as ex:
        read_pickled_array(hostile)
    assert "\n" not in str(ex.value) and not marker.exists()
    # The allow list is exact names, not "anything from numpy".
    numpy_call = _gz(tmp_path / "numpy_call.gz", b"\x80\x04cnumpy\nload\n(S'x.npy'\ntR.")
    with pytest.raises(SeedgeError, match=r"refers to numpy\.load"):
        read_pickled_array(numpy_call)


def test_reader_reads_arrays_and_refuses_other_contents(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(read_pickled_array(_gz(tmp_path / "ok.gz", pickle.dumps(arr))), arr)
    with pytest.raises(SeedgeError, match="holds a dict, not a numpy array"):
        read_pickled_array(_gz(tmp_path / "dict.gz", pickle.dumps({"a": 1})))
    with pytest.raises(SeedgeError, match="not a readable pickled numpy array"):
        read_pickled_array(_gz(tmp_path / "cut.gz", pickle.dumps(arr)[:40]))
    (tmp_path / "plain.gz").write_bytes(b"not gzip at all")
    with pytest.raises(SeedgeError, match="cannot read the gzipped data"):
        read_pickled_array(tmp_path / "plain.gz")
    # Small on disk, huge unpacked: refused after reading just past the bound.
    with pytest.raises(SeedgeError, match="unpacks to more than"):
        read_pickled_array(_gz(tmp_path / "bomb.gz", bytes(65 * 1024 * 1024)))


def test_check_arrays_refuses_what_is_not_the_dataset():
    images, labels = animals_arrays()
    with pytest.raises(SeedgeError, match="expected uint8"):
        check_arrays(images.astype(np.float32) / 255, labels, "x")
    with pytest.raises(SeedgeError, match="expected uint8"):
        check_arrays(images[:9000], labels, "x")
    bad = labels.copy()
    bad[0] = 10
    with pytest.raises(SeedgeError, match=r"labels range 0\.\.10"):
        check_arrays(images, bad, "x")
    bad[0] = 1
    with pytest.raises(SeedgeError, match=r"images per class \[999, 1001,"):
        check_arrays(images, bad, "x")


def test_missing_package_says_how_to_install(monkeypatch):
    # Take the package's folder off the import path: find_spec then really finds nothing.
    kept = [p for p in sys.path if not (Path(p or ".") / "animal_mnist").exists()]
    assert len(kept) < len(sys.path), "animal-mnist is not installed where this test can hide it"
    monkeypatch.setattr(sys, "path", kept)
    monkeypatch.delitem(sys.modules, "animal_mnist", raising=False)
    animals_arrays.cache_clear()
    try:
        with pytest.raises(SeedgeError) as ex:
            open_source("animals,n=2")
    finally:
        animals_arrays.cache_clear()
    assert str(ex.value) == ("animals: the dataset comes from the animal-mnist package; install it with "
                             "`pip install --no-deps animal-mnist==0.4`")


def _cli(capsys, *argv):
    with pytest.raises(SystemExit) as ex:
        main(list(argv))
    out, err = capsys.readouterr()
    return ex.value.code, out, err


@needs_animals
def test_cli_trains_on_animals_and_refuses_a_bad_n(tmp_path, capsys):
    base = ["train", "--model", "se_resnet10_cifar_tiny", "--img-size", "32", "--epochs", "1", "--threads", "1"]
    code, out, err = _cli(capsys, *base, "--data", "animals,n=20", "--out", str(tmp_path / "run"), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["class_names"] == list(ANIMALS) and summary["epochs_run"] == 1
    assert (tmp_path / "run" / "model.safetensors").is_file()
    code, _, err = _cli(capsys, *base, "--data", "animals,n=x", "--out", str(tmp_path / "run2"))
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "animals,n=x: cannot parse 'n=x'" in lines[0], err
