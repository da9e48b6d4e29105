"""Hostile checkpoints: no pickled code runs without --unsafe-pickle, and every file that is not
a checkpoint is one line saying what it is and what to do, with no torch warning before it."""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import pytest
from _hostile import no_hang, one_line

from seedge.checkpoint import read_state_dict
from seedge.errors import SeedgeError

ARCH = ["--model", "se_resnet10_cifar_tiny"]


class _RunsCode:
    """Unpickling this calls Path.touch(marker): proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


class UserClass:  # a class a pickle names by module path: needs code to rebuild
    def __init__(self):
        self.w = [1.0, 2.0]


def _export(cli, path: Path, out: Path):
    return cli("export", path, *ARCH, "--formats", "onnx", "--out", out, "--name", "x")


@pytest.fixture
def out(tmp_path) -> Path:
    return tmp_path / "out"


def test_a_pickle_that_runs_code_is_refused_and_the_code_never_runs(tmp_path, out, cli):
    import torch

    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "payload": _RunsCode(marker)}, path)

    code, stdout, err = _export(cli, path, out)

    assert code == 2 and stdout == ""
    one_line(err, str(path), "needs arbitrary code", "--unsafe-pickle")
    assert not marker.exists() and not out.exists()


def test_a_pickle_that_needs_a_class_names_unsafe_pickle(tmp_path, out, cli):
    import torch

    path = tmp_path / "needs_class.pt"
    torch.save({"model": UserClass()}, path)
    code, _, err = _export(cli, path, out)
    assert code == 2
    one_line(err, str(path), "--unsafe-pickle")
    assert not out.exists()


def test_a_plain_pickle_the_safe_loader_cannot_read_names_unsafe_pickle(tmp_path, out, cli):
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps({"w": [1, 2, 3]}, protocol=4))
    code, _, err = _export(cli, path, out)
    assert code == 2
    one_line(err, str(path), "--unsafe-pickle")


def test_a_text_file_says_it_is_not_a_checkpoint(tmp_path, out, cli):
    path = tmp_path / "notes.pt"
    path.write_text("these are my notes, not weights\n")
    code, _, err = _export(cli, path, out)
    assert code == 2
    line = one_line(err, str(path), "is a text file, not a checkpoint")
    assert "pop from empty list" not in line


@pytest.mark.slow  # a fresh Python importing torch: ~25 s on the shared machine
def test_a_torchscript_archive_is_one_line_without_torch_warnings(tmp_path, out):
    """Run as users run it: torch's warnings go to the process's stderr, so that is what is read."""
    import subprocess
    import sys
    import warnings

    import torch

    from seedge.models import create_model

    path = tmp_path / "model_ts.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(create_model("se_resnet10_cifar_tiny", num_classes=10).eval(),
                        torch.zeros(1, 3, 32, 32)).save(str(path))

    r = subprocess.run([sys.executable, "-m", "seedge", "export", str(path), *ARCH, "--formats", "onnx",
                        "--out", str(out), "--name", "x"], capture_output=True, text=True, timeout=300)

    assert r.returncode == 2 and r.stdout == ""
    one_line(r.stderr, str(path), "TorchScript archive", "--unsafe-pickle")
    assert "Warning" not in r.stderr


@pytest.mark.parametrize("case, words", [
    ("empty", "cannot read checkpoint"),
    ("random bytes", "cannot read checkpoint"),
    ("truncated zip", "cannot read checkpoint"),
    ("zip of text", "--unsafe-pickle"),
    ("broken safetensors", "not a readable safetensors file"),
    ("safetensors without extension", "give it the .safetensors extension"),
    ("a folder", "holds no model.safetensors"),
])
def test_files_that_are_not_checkpoints_are_one_line(case, words, tmp_path, out, cli):
    import torch
    from safetensors.torch import save_file

    path = tmp_path / "ckpt.pt"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "random bytes":
        path.write_bytes(os.urandom(4096).replace(b"\x80", b"\x00"))
    elif case == "truncated zip":
        torch.save({"w": torch.zeros(100)}, path)
        path.write_bytes(path.read_bytes()[:300])
    elif case == "zip of text":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("archive/data.pkl", "hello")
    elif case == "broken safetensors":
        path = tmp_path / "ckpt.safetensors"
        path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    elif case == "safetensors without extension":
        save_file({"w": torch.zeros(2)}, str(path))
    else:
        path = tmp_path / "run"
        path.mkdir()

    code, stdout, err = _export(cli, path, out)

    assert code == 2 and stdout == ""
    one_line(err, str(path), words)
    assert not out.exists()


def test_a_fifo_as_checkpoint_is_refused_without_blocking(tmp_path):
    path = tmp_path / "pipe.pt"
    os.mkfifo(path)
    with no_hang(30), pytest.raises(SeedgeError, match="not a regular file"):
        read_state_dict(path)


def test_unsafe_pickle_still_loads_a_trusted_pickle(tmp_path):
    """--unsafe-pickle is the one way a pickle that needs code is read (the user trusts it)."""
    import torch

    path = tmp_path / "trusted.pt"
    torch.save({"state_dict": {"w": torch.ones(3)}, "extra": UserClass()}, path)
    with pytest.raises(SeedgeError, match="--unsafe-pickle"):
        read_state_dict(path)
    sd = read_state_dict(path, allow_pickle=True)
    assert torch.equal(sd["w"], torch.ones(3))
