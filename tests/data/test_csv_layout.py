"""CSV layouts from the seeds: named columns, extra columns, sniffed delimiters, split fractions."""

from __future__ import annotations

import pytest

from _data_fixtures import write_images
from seedge.data import SourceOptions, open_source
from seedge.data.splits import parse_fractions
from seedge.errors import SeedgeError


def _table(root, header, delimiter=",", labels=("0", "1"), n=10):
    """root/data.csv with `header` columns; Image_path and the label column filled, others filler."""
    rows = []
    for k, label in enumerate(labels):
        for i, p in enumerate(write_images(root / "img", ("circle", "square", "triangle")[k], n, (12, 12), seed=k)):
            cells = {"Image_path": str(p.relative_to(root)), "Plane": label, "Patient": f"P{k}{i:02d}",
                     "Operator": "op1", "Diag": label, "split": ("train", "train", "val", "test", "train")[i % 5]}
            rows.append(delimiter.join(cells[c] for c in header))
    path = root / "data.csv"
    path.write_text(delimiter.join(header) + "\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_label_column_found_by_name_among_extra_columns_with_any_delimiter(tmp_path, delimiter):
    path = _table(tmp_path, ("Patient", "Image_path", "Operator", "Plane"), delimiter)
    src = open_source(str(path))
    assert src.class_names == ["0", "1"]  # the labels, not the patient ids
    assert src.layout["path_column"] == "Image_path" and src.layout["label_column"] == "Plane"
    assert src.layout["delimiter"] == delimiter
    assert src.notes[0].startswith("columns: path 'Image_path', label 'Plane'")
    assert {k: len(v) for k, v in src.splits.items()} == {"train": 14, "val": 2, "test": 4}


def test_unrecognised_label_column_is_an_error_listing_the_columns(tmp_path):
    path = _table(tmp_path, ("Patient", "Image_path", "Operator", "Diag"))
    with pytest.raises(SeedgeError, match=r"no label column among: Patient, Image_path, Operator, Diag.*"
                                          r"--label-column"):
        open_source(str(path))
    src = open_source(str(path), options=SourceOptions(label_column="diag"))  # case-insensitive
    assert src.layout["label_column"] == "Diag" and src.class_names == ["0", "1"]
    with pytest.raises(SeedgeError, match=r"--label-column 'Plane' is not a column; the columns are: Patient"):
        open_source(str(path), options=SourceOptions(label_column="Plane"))
    with pytest.raises(SeedgeError, match="--label-column applies to CSV sources only"):
        open_source("digits", options=SourceOptions(label_column="Plane"))


def test_path_and_split_columns_by_option(tmp_path):
    path = _table(tmp_path, ("Patient", "Operator", "Image_path", "Plane", "split"))
    src = open_source(str(path))  # a column named split is used without being asked
    assert {k: len(v) for k, v in src.splits.items()} == {"train": 12, "val": 4, "test": 4}
    assert src.layout["split_column"] == "split" and "split 'split'" in src.notes[0]
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(path.read_text().replace("Image_path", "scan").replace("split", "phase", 1))
    src = open_source(str(renamed))  # an unknown path column name: the column whose cells name images
    assert src.layout["path_column"] == "scan" and src.layout["split_column"] is None
    assert {k: len(v) for k, v in src.splits.items()} == {"train": 14, "val": 2, "test": 4}
    src = open_source(str(renamed), options=SourceOptions(path_column="SCAN", split_column="phase"))
    assert {k: len(v) for k, v in src.splits.items()} == {"train": 12, "val": 4, "test": 4}
    no_images = tmp_path / "ids.csv"
    no_images.write_text("id,label\n1,a\n2,b\n")
    with pytest.raises(SeedgeError, match="no image path column among: id, label; pass --path-column"):
        open_source(str(no_images))


def test_split_fractions(tmp_path):
    path = _table(tmp_path, ("Image_path", "Plane"), n=25)
    src = open_source(str(path), options=SourceOptions(fractions=parse_fractions("0.64,0.16,0.2")))
    assert {k: len(v) for k, v in src.splits.items()} == {"train": 32, "val": 8, "test": 10}
    assert "split 64/16/20 train/val/test" in src.notes[1]
    assert parse_fractions("64,16,20") == pytest.approx((0.64, 0.16, 0.2))
    for bad, why in (("0.5,0.5", "train,val,test"), ("0.6,0.3,0.3", "sum to 1.2"), ("1,0,0", "more than 0"),
                     ("a,b,c", "not numbers")):
        with pytest.raises(SeedgeError, match=why):
            parse_fractions(bad)


def test_headerless_files(tmp_path):
    paths = write_images(tmp_path, "circle", 4, (12, 12))
    (tmp_path / "two.csv").write_text("\n".join(f"{lab};{p.name}" for p, lab in zip(paths, "abab")))
    src = open_source(str(tmp_path / "two.csv"))  # label first, path second: found by the image name
    assert src.class_names == ["a", "b"] and src.layout["path_column"] == "column 2"
    (tmp_path / "three.csv").write_text("\n".join(f"{p.name},{lab},x" for p, lab in zip(paths, "abab")))
    with pytest.raises(SeedgeError, match="no header row and 3 columns"):
        open_source(str(tmp_path / "three.csv"))
    with pytest.raises(SeedgeError, match="has no header row, so --label-column"):
        open_source(str(tmp_path / "two.csv"), options=SourceOptions(label_column="x"))
