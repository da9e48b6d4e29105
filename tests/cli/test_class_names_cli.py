"""--class-names on `seedge train --init` and `seedge evaluate`: a bare checkpoint's classes named,
data labels matched to them by name (never by position), a label the model lacks an error that
names its folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from seedge.cli import main
from seedge.models import create_model

ARCH = "se_resnet10_cifar_tiny"
# The checkpoint's output order: not the alphabetical order an ImageFolder lists its classes in.
HEAD = ["owl", "cat", "dog"]


def _folder(root: Path, classes, per_class: int = 6) -> Path:
    rng = np.random.default_rng(0)
    for label in classes:
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(root / label / f"{i}.png")
    return root


def _invoke(*argv) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `seedge ARGV` as the console script runs it (seedge.cli.main
    turns a SeedgeError into one line and exit 2), in click's CliRunner isolation."""
    with CliRunner().isolation() as (out, err, _):
        try:
            main([str(a) for a in argv])
        except SystemExit as e:
            code = e.code
    return code, out.getvalue().decode(), err.getvalue().decode()


@pytest.fixture(scope="module")
def bare(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("bare") / "bare.pth"
    torch.save(create_model(ARCH, num_classes=3).state_dict(), path)
    return path


def test_evaluate_matches_labels_to_the_class_names_given(bare, tmp_path):
    data = _folder(tmp_path / "data", ["cat", "dog", "owl"])
    args = ["evaluate", bare, "--model", ARCH, "--data", data, "--split", "train", "--json", "--out", tmp_path / "e"]
    code, out, err = _invoke(*args, "--class-names", ",".join(HEAD))
    assert code == 0, err
    doc = json.loads(out)
    assert doc["class_names"] == HEAD and [c["class"] for c in doc["per_class"]] == HEAD
    # The same model named in another order: each image keeps its label by name (row sums per
    # name agree) while the outputs are the same (column sums per output index agree).
    code, out, err = _invoke(*args, "--class-names", "cat,dog,owl")
    assert code == 0, err
    alpha = json.loads(out)
    support = {c["class"]: c["support"] for c in doc["per_class"]}
    assert support == {c["class"]: c["support"] for c in alpha["per_class"]}
    assert np.array(doc["confusion_matrix"]).sum(0).tolist() == np.array(alpha["confusion_matrix"]).sum(0).tolist()
    code, _, err = _invoke(*args, "--class-names", "owl,cat,eel")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"{data / 'dog'}" in err and "label 'dog'" in err
    code, _, err = _invoke(*args, "--class-names", "owl,cat")
    assert code == 2 and "gives 2 names but" in err and "3 outputs" in err


def test_train_init_matches_labels_to_the_checkpoints_classes_by_name(bare, tmp_path):
    data = _folder(tmp_path / "data", ["cat", "dog", "owl"])
    common = ["train", "--model", ARCH, "--data", data, "--epochs", "1", "--patience", "0", "--batch-size", "8",
              "--lr", "1e-9", "--json", "--exist-ok"]
    code, out, err = _invoke(*common, "--init", bare, "--class-names", ",".join(HEAD), "--out", tmp_path / "run")
    assert code == 0, err
    assert json.loads(out)["class_names"] == HEAD  # the checkpoint's order, not the folder's cat,dog,owl
    meta = json.loads((tmp_path / "run" / "model.json").read_text())
    assert meta["class_names"] == HEAD and meta["training"]["init"]["head_replaced"] is False

    # A label the checkpoint does not have: one line naming its folder.
    code, _, err = _invoke(*common, "--init", bare, "--class-names", "owl,cat,eel", "--out", tmp_path / "bad")
    assert code == 2 and f"{data / 'dog'}" in err and "label 'dog'" in err, err
    # --class-names names --init's classes; it means nothing without it.
    code, _, err = _invoke(*common, "--class-names", ",".join(HEAD), "--out", tmp_path / "bad")
    assert code == 2 and "--class-names names the classes of the --init checkpoint" in err

    # A seedge checkpoint records its names: a subset of them keeps the head and the order ...
    two = _folder(tmp_path / "two", ["dog", "owl"])
    code, out, err = _invoke(*common[:4], two, *common[5:], "--init", tmp_path / "run", "--out", tmp_path / "sub")
    assert code == 0, err
    assert json.loads(out)["class_names"] == HEAD
    # ... and other classes of the same count get a new head, not the old one by position.
    other = _folder(tmp_path / "other", ["ant", "bee", "fox"])
    code, out, err = _invoke(*common[:4], other, *common[5:], "--init", tmp_path / "run", "--out", tmp_path / "new")
    assert code == 0, err
    assert json.loads(out)["class_names"] == ["ant", "bee", "fox"]
    assert json.loads((tmp_path / "new" / "model.json").read_text())["training"]["init"]["head_replaced"] is True
