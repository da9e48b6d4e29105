"""Issue 22, cases 8 and 11 (checkpoints): each message says what is actually wrong. A classifier
of the wrong input width is no class-count problem, a protocol-0 pickle is no text file, a refused
global is named, --unsafe-pickle is never suggested once it was given, and integer weights are not
silently cast to float."""

from __future__ import annotations

import argparse
import os
import pickle

import pytest
from _hostile import one_line

ARCH = ["--model", "se_resnet10_cifar_tiny"]


@pytest.fixture(scope="module")
def state_dict():
    import torch

    from seedge.models import create_model

    torch.manual_seed(0)
    return create_model("se_resnet10_cifar_tiny", num_classes=10).state_dict()


def test_a_classifier_of_another_input_width_is_not_called_a_class_count(state_dict, tmp_path, cli):
    import torch

    path = tmp_path / "fc107.pt"
    torch.save({**state_dict, "fc.weight": torch.zeros(10, 7)}, path)
    code, _, err = cli("inspect", path, *ARCH)
    assert code == 2
    line = one_line(err, str(path), "fc.weight", "(10, 7)", "is --model right?")
    assert "--num-classes" not in line


def test_a_classifier_of_another_class_count_still_names_the_count(state_dict, tmp_path, cli):
    import torch

    path = tmp_path / "fc5.pt"
    torch.save({**state_dict, "fc.weight": torch.zeros(5, state_dict["fc.weight"].shape[1]),
                "fc.bias": torch.zeros(5)}, path)
    code, _, err = cli("inspect", path, *ARCH, "--num-classes", "10")
    assert code == 2
    one_line(err, str(path), "5 outputs", "built for 10 classes", "--num-classes 5")


def test_a_protocol_0_pickle_is_called_a_pickle_not_a_text_file(tmp_path, cli):
    path = tmp_path / "p0.pt"
    path.write_bytes(pickle.dumps({"fc.weight": [[1.0, 2.0]], "fc.bias": [0.5]}, protocol=0))
    code, _, err = cli("inspect", path, *ARCH)
    assert code == 2
    line = one_line(err, str(path), "pickle")
    assert "text file" not in line


def test_plain_text_is_still_called_a_text_file(tmp_path, cli):
    path = tmp_path / "notes.pt"
    path.write_text("these are my notes.\n")
    code, _, err = cli("inspect", path, *ARCH)
    assert code == 2
    one_line(err, str(path), "text file")


class _Harmless:
    def __reduce__(self):
        return (os.getcwd, ())


def test_a_refused_global_is_named_not_torchs_paragraph(tmp_path, cli):
    import torch

    path = tmp_path / "global.pt"
    torch.save({"x": _Harmless()}, path)
    code, _, err = cli("inspect", path, *ARCH)
    assert code == 2
    line = one_line(err, str(path), "getcwd", "--unsafe-pickle")
    assert "Weights only load failed" not in line and "PyTorch 2.6" not in line


def test_after_unsafe_pickle_ran_a_non_module_pickle_it_is_not_suggested_again(state_dict, tmp_path, cli):
    import torch

    path = tmp_path / "with_args.pt"
    torch.save({"state_dict": state_dict, "args": argparse.Namespace(lr=0.1)}, path)
    code, _, err = cli("inspect", path, "--unsafe-pickle")
    assert code == 2
    line = one_line(err, str(path), "--model")
    assert "pass --unsafe-pickle" not in line
    code, out, err = cli("inspect", path, "--unsafe-pickle", *ARCH)  # with the architecture, it loads
    assert code == 0, err


def test_integer_weights_are_refused_not_cast_to_float(state_dict, tmp_path, cli):
    import torch
    from safetensors.torch import save_file

    path = tmp_path / "int32.safetensors"
    save_file({k: (v.to(torch.int32) if k == "fc.weight" else v) for k, v in state_dict.items()}, str(path))
    code, _, err = cli("inspect", path, *ARCH)
    assert code == 2
    one_line(err, str(path), "fc.weight", "int32")


_NET = '''import torch


class Net(torch.nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3)
        self.se = torch.nn.Sequential(torch.nn.Linear(8, 2), torch.nn.ReLU(), torch.nn.Linear(2, 8))
        self.fc = torch.nn.Linear(8, num_classes)

    def forward(self, x):
        y = self.conv(x).mean((2, 3))
        return self.fc(y * torch.sigmoid(self.se(y)))
'''


def test_a_missing_classifier_weight_is_named_not_a_class_count(tmp_path, cli):
    import torch

    (tmp_path / "net.py").write_text(_NET)
    weights = {"conv.weight": torch.zeros(8, 3, 3, 3), "conv.bias": torch.zeros(8),
               "se.0.weight": torch.zeros(2, 8), "se.0.bias": torch.zeros(2),
               "se.2.weight": torch.zeros(8, 2), "se.2.bias": torch.zeros(8), "fc.bias": torch.zeros(10)}
    path = tmp_path / "nofc.pt"
    torch.save(weights, path)
    code, _, err = cli("inspect", path, "--model-file", f"{tmp_path / 'net.py'}:Net")
    assert code == 2
    line = one_line(err, str(path), "fc.weight", "missing")
    assert "--num-classes" not in line


@pytest.mark.parametrize("n", ["0", "-3"])
@pytest.mark.parametrize("command", ["inspect", "export"])
def test_num_classes_below_1_is_refused_not_ignored(command, n, tiny_checkpoint, tmp_path, cli):
    extra = ["--formats", "onnx", "--out", tmp_path / "out"] if command == "export" else []
    code, out, err = cli(command, tiny_checkpoint, "--num-classes", n, *extra)
    assert code == 2 and out == ""
    one_line(err, f"--num-classes {n}", "at least 1")
    assert not (tmp_path / "out").exists()


def test_num_classes_below_1_is_refused_by_the_python_api(tiny_checkpoint):
    from seedge.checkpoint import load_model
    from seedge.errors import SeedgeError

    with pytest.raises(SeedgeError, match="--num-classes 0: .*at least 1"):
        load_model(tiny_checkpoint, num_classes=0)
