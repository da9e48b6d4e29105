"""`seedge export --calib CSV` and `seedge verify --data CSV` say first, on stderr, which CSV
columns (and splits) they read, in the line `seedge train` prints (Source.notes_line)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from seedge.cli import main
from seedge.data import open_source
from seedge.models import create_model

ARCH = "se_resnet10_cifar_tiny"


def _run(capsys, *argv) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_export_and_verify_print_the_csv_columns_line_first(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = ["Patient;Image_path;Label"]  # not path,label: the columns are found by name, and said
    for i in range(30):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
        rows.append(f"p{i % 5};{i}.png;{i % 3}")
    csv = tmp_path / "data.csv"
    csv.write_text("\n".join(rows) + "\n")
    line = open_source(str(csv)).notes_line(str(csv))
    assert "columns: path 'Image_path', label 'Label'" in line

    torch.manual_seed(0)
    weights = tmp_path / "w.pth"
    torch.save(create_model(ARCH, num_classes=3).state_dict(), weights)
    code, out, err = _run(capsys, "export", weights, "--model", ARCH, "--formats", "onnx", "--precisions", "fp32",
                          "--calib", csv, "--no-count-nodes", "--out", tmp_path / "out", "--json")
    assert code == 0, err
    assert err.splitlines()[0] == line and json.loads(out)["folder"]
    code, out, err = _run(capsys, "verify", tmp_path / "out" / ARCH, "--data", csv, "--json")
    assert code == 0, err
    assert err.splitlines()[0] == line and json.loads(out)["samples"]["data"] > 0
