"""Hostile images and data sources: decompression bombs, broken and special files, link loops,
CSVs of any text, labels a model does not have, and labels matched to classes by name."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from _export_fixtures import fresh_copy
from _hostile import no_hang, one_line
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seedge.errors import SeedgeError

MODEL_CLASSES = [str(i) for i in range(10)]


def _png(path: Path, value: int = 0, size: int = 8) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), value, np.uint8)).save(path, format="PNG")
    return path


def _digit_folder(root: Path, digits: dict[str, int], per_class: int = 6) -> Path:
    """root/test/<name>/*.png with real handwritten digits (scikit-learn's bundled set)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    d = load_digits()
    for name, digit in digits.items():
        images = d.images[d.target == digit][:per_class]
        for i, img in enumerate(images):
            p = root / "test" / name / f"{i}.png"
            p.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray((img * 255 / 16).astype(np.uint8)).save(p)
    return root


# --- labels matched by name ----------------------------------------------------------------------

def test_verify_scores_a_folder_of_digits_3_and_7_against_classes_3_and_7(tmp_path, cli):
    """The model's classes are "0".."9": data holding only 3 and 7 must be scored against
    outputs 3 and 7 (by name), never 0 and 1 (by position)."""
    import torch

    from seedge.checkpoint import load_model
    from seedge.data import open_source
    from seedge.data.arrays import load_split_arrays
    from seedge.preprocess import PreprocessSpec

    folder = fresh_copy(tmp_path / "exported")
    data = _digit_folder(tmp_path / "digits37", {"3": 3, "7": 7})

    code, stdout, err = cli("verify", folder, "--data", data, "--artifact", "onnx-fp32", "--json")
    assert code == 0, err
    reported = json.loads(stdout)["baseline"]["accuracy"]

    # The same images scored independently: labels read from the folder names.
    manifest = json.loads((folder / "manifest.json").read_text())
    samples = open_source(str(data), class_names=MODEL_CLASSES).split("test")
    x = load_split_arrays(samples, PreprocessSpec.from_dict(manifest["preprocessing"]))
    truth = np.array([int(Path(p).parent.name) for p in samples.items])
    model, _ = load_model(folder / "model.safetensors")
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(1).numpy()
    assert reported == pytest.approx(float((pred == truth).mean()))
    assert set(truth) == {3, 7} and len(truth) == 12


def test_verify_with_a_label_the_model_lacks_names_it_and_its_file(tmp_path, cli):
    folder = fresh_copy(tmp_path / "exported")
    data = _digit_folder(tmp_path / "data", {"3": 3, "cat": 5})
    code, stdout, err = cli("verify", folder, "--data", data)
    assert code == 2 and stdout == ""
    one_line(err, "label 'cat'", str(data / "test" / "cat"))


def test_verify_with_a_csv_label_the_model_lacks_names_the_row(tmp_path, cli):
    folder = fresh_copy(tmp_path / "exported")
    _png(tmp_path / "a.png")
    _png(tmp_path / "b.png")
    (tmp_path / "data.csv").write_text("path,label\na.png,3\nb.png,11\n")
    code, _, err = cli("verify", folder, "--data", tmp_path / "data.csv")
    assert code == 2
    one_line(err, "data.csv row 3", "label '11'")


def test_check_class_names_maps_by_name_and_refuses_unknown_names():
    from seedge.verify import check_class_names

    generic = {"model": {"num_classes": 10, "class_names": MODEL_CLASSES}}
    assert check_class_names(generic, ["3", "7"]).tolist() == [3, 7]
    named = {"model": {"num_classes": 3, "class_names": ["cat", "dog", "fox"]}}
    assert check_class_names(named, ["fox", "cat"]).tolist() == [2, 0]
    with pytest.raises(SeedgeError, match="'owl' is not one of the model's classes"):
        check_class_names(named, ["cat", "owl"])


def test_verify_artifacts_moves_data_labels_onto_the_model_outputs(tmp_path):
    """The API takes (x, y, class_names) with y indexing class_names: accuracy uses the mapping."""
    from seedge.artifacts import read_manifest
    from seedge.verify import verify_artifacts

    folder = fresh_copy(tmp_path / "exported")
    m = read_manifest(folder)
    x = np.load(folder / "reference.npz")["input"]
    ref_logits = np.load(folder / "reference.npz")["logits"]
    pred = ref_logits.argmax(1)
    names = sorted({str(p) for p in pred})
    y_local = np.array([names.index(str(p)) for p in pred])  # the model's own answers, as data labels
    r = verify_artifacts(folder, m, artifacts=["onnx-fp32"], data=(x, y_local, names))
    assert r["baseline"]["accuracy"] == pytest.approx(1.0)


# --- images --------------------------------------------------------------------------------------

@pytest.mark.parametrize("pixels", ["over twice the limit", "between the limit and twice it"])
def test_a_decompression_bomb_is_one_line_naming_the_file(pixels, tmp_path, cli):
    from PIL import Image

    side = 14_000 if pixels == "over twice the limit" else 10_000  # 196M / 100M pixels (limit 89M)
    data = _digit_folder(tmp_path / "data", {"3": 3, "7": 7})
    bomb = data / "test" / "3" / "bomb.png"
    Image.new("1", (side, side)).save(bomb)  # a few KB on disk
    assert bomb.stat().st_size < 1 << 20
    folder = fresh_copy(tmp_path / "exported")

    code, _, err = cli("verify", folder, "--data", data)

    assert code == 2
    one_line(err, str(bomb), "decompression bomb")


def test_a_truncated_image_is_one_line(tmp_path, cli):
    data = _digit_folder(tmp_path / "data", {"3": 3, "7": 7})
    bad = data / "test" / "7" / "0.png"
    bad.write_bytes(bad.read_bytes()[:40])
    code, _, err = cli("verify", fresh_copy(tmp_path / "exported"), "--data", data)
    assert code == 2
    one_line(err, str(bad), "cannot read image")


def test_a_fifo_named_like_an_image_is_refused_without_blocking(tmp_path):
    from seedge.data.imagefolder import open_imagefolder

    root = tmp_path / "data"
    _png(root / "a" / "0.png")
    _png(root / "b" / "0.png")
    os.mkfifo(root / "a" / "pipe.png")
    with no_hang(30), pytest.raises(SeedgeError, match="pipe.png: not a regular file"):
        open_imagefolder(root)


def test_a_symlink_loop_in_an_image_folder_repeats_no_image(tmp_path):
    from seedge.data.imagefolder import open_imagefolder

    root = tmp_path / "data"
    for c in ("a", "b"):
        for i in range(5):
            _png(root / c / f"{i}.png", value=i)
    (root / "a" / "again").symlink_to(root / "a")   # a loop
    (root / "b" / "up").symlink_to(root / "b" / ".")  # another
    (root / "b" / "twin.png").symlink_to(root / "b" / "0.png")  # one file, two names

    source = open_imagefolder(root)

    items = [str(p) for s in source.splits.values() for p in s.items]
    assert len(items) == 10
    assert len({os.path.realpath(p) for p in items}) == 10


def test_a_linked_pool_folder_is_still_read(tmp_path):
    """Links are followed (datasets link into shared pools), only never twice."""
    from seedge.data.imagefolder import open_imagefolder

    pool = tmp_path / "pool"
    for i in range(4):
        _png(pool / f"{i}.png", value=i)
    root = tmp_path / "data"
    _png(root / "b" / "0.png")
    _png(root / "b" / "1.png")
    root.joinpath("a").mkdir()
    (root / "a" / "pool").symlink_to(pool)
    source = open_imagefolder(root)
    labels = [source.class_names[i] for s in source.splits.values() for i in s.labels]
    assert labels.count("a") == 4 and labels.count("b") == 2


# --- CSV sources ------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, words", [
    (b"path,label\n" + b"x" * 300 + b".png,3\n", "data.csv row 2: image path"),
    (b"path,label\na\x00b.png,3\n", "data.csv row 2: the image path holds a NUL byte"),
    (b"\x00\x01\x02\xff binary", "cannot read CSV"),
    (b"path,label\n\xff\xfe.png,3\n", "cannot read CSV"),
    (b'path,label\n"unterminated,3\n', "data.csv row 2: expected at least 2 columns"),
])
def test_a_hostile_csv_is_one_line(data, words, tmp_path):
    from seedge.data import open_source

    p = tmp_path / "data.csv"
    p.write_bytes(data)
    with pytest.raises(SeedgeError) as e:
        open_source(str(p))
    assert words in str(e.value) and "\n" not in str(e.value)


def test_a_fifo_csv_is_refused_without_blocking(tmp_path):
    from seedge.data.csvfile import open_csv

    os.mkfifo(tmp_path / "data.csv")
    with no_hang(30), pytest.raises(SeedgeError, match="not a regular file"):
        open_csv(tmp_path / "data.csv")


CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["a.png", "b.png", "missing.png", "train", "val", "test", "split", "path", "label", "3", "7", ""])


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(CELL, max_size=4), max_size=8), header=st.booleans(),
       raw=st.binary(max_size=64))
def test_any_csv_is_a_source_or_a_seedge_error(rows, header, raw, tmp_path):
    import csv
    import io

    from seedge.data.csvfile import open_csv

    for name in ("a.png", "b.png"):
        if not (tmp_path / name).exists():
            _png(tmp_path / name)
    buf = io.StringIO()
    w = csv.writer(buf)
    if header:
        w.writerow(["path", "label", "split"])
    w.writerows(rows)
    p = tmp_path / "data.csv"
    p.write_bytes(buf.getvalue().encode("utf-8", "surrogatepass") + raw)
    try:
        source = open_csv(p)
    except SeedgeError as e:
        assert "data.csv" in str(e)  # every refusal names the file (and its row where there is one)
        return
    n = len(source.class_names)
    assert n >= 1 and all(0 <= y < n for s in source.splits.values() for y in s.labels)


NAME = st.text(alphabet=st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)),
               min_size=1, max_size=10).filter(lambda n: n not in (".", "..") and len(n.encode()) < 100)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=st.dictionaries(NAME, st.lists(st.tuples(NAME, st.sampled_from([".png", ".jpg", ".txt", ""]),
                                                     st.sampled_from(["png", "junk", "empty", "link-up"])),
                                           max_size=4), max_size=4))
def test_any_image_folder_is_a_source_or_a_seedge_error(tree, tmp_path):
    """Any tree of class folders, files of any kind and links (up-links included): listing and
    decoding end in a Source with arrays, or one SeedgeError; never another exception or a hang."""
    from seedge.data.arrays import load_split_arrays
    from seedge.data.imagefolder import open_imagefolder
    from seedge.preprocess import PreprocessSpec

    root = Path(tempfile.mkdtemp(dir=tmp_path))
    for cls, files in tree.items():
        d = root / cls
        d.mkdir(exist_ok=True)
        for stem, ext, kind in files:
            p = d / (stem + ext)
            if os.path.lexists(p):
                continue
            if kind == "png":
                _png(p)
            elif kind == "junk":
                p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk")
            elif kind == "empty":
                p.write_bytes(b"")
            else:
                p.symlink_to(root)
    spec = PreprocessSpec(input_size=(3, 8, 8), mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    with no_hang(60):
        try:
            source = open_imagefolder(root)
            for s in source.splits.values():
                x = load_split_arrays(s, spec)
                assert x.shape[1:] == (3, 8, 8) and np.isfinite(x).all()
        except SeedgeError as e:
            assert str(e)
