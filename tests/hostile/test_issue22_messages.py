"""Issue 22, case 8 (the rest): messages that said the wrong thing. A symlink loop, a device or a
FIFO given as an image is named for what it is, not "not found"; pack's full disk names where it
writes, not the file it reads; a control character a user typed is shown escaped; a model
constructor that calls exit(0) is an error, not a silent success."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from _export_fixtures import export_folder
from _hostile import no_hang, one_line

from seedge.errors import SeedgeError
from seedge.preprocess import decode


def _loop(tmp_path: Path) -> Path:
    path = tmp_path / "loop.png"
    path.symlink_to(path.name)
    return path


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.png"
    os.mkfifo(path)
    return path


def _dangling(tmp_path: Path) -> Path:
    path = tmp_path / "gone.png"
    path.symlink_to(tmp_path / "nowhere.png")
    return path


@pytest.mark.parametrize("make, words", [
    (_loop, "symlink loop"),
    (_fifo, "a FIFO"),
    (lambda _: Path("/dev/zero"), "a character device"),
    (lambda tmp: tmp, "a folder"),
    (_dangling, "points to nothing"),
])
def test_a_path_that_is_no_image_file_says_what_it_is(make, words, tmp_path):
    path = make(tmp_path)
    with no_hang(30), pytest.raises(SeedgeError) as e:
        decode(path)
    text = str(e.value)
    assert words in text and "not found" not in text and "\n" not in text, text


def test_a_missing_image_is_still_not_found(tmp_path):
    with pytest.raises(SeedgeError, match="image file not found"):
        decode(tmp_path / "missing.png")


def test_predict_on_dev_zero_says_character_device(cli):
    with no_hang(30):
        code, out, err = cli("predict", export_folder(), "/dev/zero")
    assert code == 2 and out == ""
    one_line(err, "/dev/zero", "a character device")


def test_a_csv_listing_a_fifo_names_it_and_its_row(tmp_path):
    from seedge.data import load_arrays
    from seedge.preprocess import PreprocessSpec

    _fifo(tmp_path)
    csv = tmp_path / "data.csv"
    csv.write_text("path,label\npipe.png,0\n")
    spec = PreprocessSpec(input_size=(3, 8, 8))
    with no_hang(30), pytest.raises(SeedgeError) as e:
        load_arrays(str(csv), spec)
    assert "pipe.png" in str(e.value) and "a FIFO" in str(e.value) and "not found" not in str(e.value)


def test_pack_on_a_full_disk_names_where_it_writes_not_the_source(tmp_path, monkeypatch, cli):
    from seedge.runtime import pack

    def full(src, dst, *a, **k):  # what shutil.copyfile raises on ENOSPC: the source as filename
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(src), None, str(dst))

    monkeypatch.setattr(pack.shutil, "copyfile", full)
    out = tmp_path / "device"
    code, stdout, err = cli("pack", export_folder(), "onnx-fp32", "--out", out)
    assert code == 2 and stdout == ""
    line = one_line(err, str(out), os.strerror(errno.ENOSPC))
    assert str(export_folder()) not in line
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_control_character_in_name_is_shown_escaped(tiny_checkpoint, tmp_path, cli):
    code, _, err = cli("export", tiny_checkpoint, "--formats", "onnx", "--out", tmp_path / "o", "--name", "a\x1b[2Jb")
    assert code == 2
    line = one_line(err, "--name", "\\x1b")
    assert "\x1b" not in line


def test_any_seedge_error_line_escapes_control_characters():
    from seedge.cli import describe_error

    code, line = describe_error(SeedgeError("file a\x1b]0;title\x07b: bad\nnext"))
    assert code == 2 and "\x1b" not in line and "\x07" not in line and "\n" not in line
    assert "\\x1b" in line and "é" in describe_error(SeedgeError("café"))[1]


def test_a_model_constructor_calling_exit_0_is_an_error(tmp_path, cli):
    path = tmp_path / "net.py"
    path.write_text("import torch\n\nclass Net(torch.nn.Module):\n    def __init__(self):\n"
                    "        super().__init__()\n        raise SystemExit(0)\n")
    import torch

    weights = tmp_path / "w.pt"
    torch.save({"w": torch.zeros(1)}, weights)
    code, out, err = cli("inspect", weights, "--model-file", f"{path}:Net")
    assert code == 2 and out == ""
    one_line(err, "Net", "SystemExit")
