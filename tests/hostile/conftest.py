"""Fixtures of the hostile-input tests (helpers they share are in _hostile.py beside them)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _hostile.py, imported by the test modules


@pytest.fixture
def cli(capsys):
    """cli(*argv) -> (exit code, stdout, stderr) of `seedge ARGV` run in this process."""
    from seedge.cli import main

    def run(*argv) -> tuple[int, str, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as e:
            main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return e.value.code, out, err

    return run


@pytest.fixture
def tiny_checkpoint(tmp_path) -> Path:
    """A seedge checkpoint of the tiny SE-ResNet with random weights."""
    import torch

    from seedge.checkpoint import save_checkpoint
    from seedge.models import create_model

    torch.manual_seed(0)
    return save_checkpoint(create_model("se_resnet10_cifar_tiny", num_classes=10).eval(),
                           tmp_path / "ckpt" / "tiny")
