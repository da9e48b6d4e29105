"""The plain ResNet baselines the seeds compare SE models with, and `seedge models`' table."""

from __future__ import annotations

import json

import pytest
import torch

from seedge.cli import main
from seedge.models import create_model
from seedge.models.layers import count_params


def test_cifar_baseline_matches_se_resnet18_cifar_but_for_se():
    plain, se = create_model("resnet18_cifar"), create_model("se_resnet18_cifar")
    x = torch.zeros(2, 3, 32, 32)
    assert plain(x).shape == se(x).shape == (2, 10)
    assert plain.conv1.kernel_size == (3, 3) and plain.conv1.stride == (1, 1)
    assert isinstance(plain.maxpool, torch.nn.Identity)
    # the seed's table: ResNet-18 ~11M, SE-ResNet-18 ~11.3M; the difference is the SE blocks only
    assert count_params(plain) == 11_173_962 and count_params(se) - count_params(plain) == 89_080
    assert not any("SqueezeExcit" in type(m).__name__ for m in plain.modules())


def test_models_lists_se_and_parameters_within_80_columns(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as ex:
        main(["models"])
    out, _ = capsys.readouterr()
    assert ex.value.code == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip().startswith(("resnet", "se_"))}
    assert rows["resnet18"][1:3] == ["no", "11.7M"] and rows["se_resnet18"][1:3] == ["yes", "11.8M"]
    assert rows["resnet18_cifar"][1:4] == ["no", "11.2M", "32x32"]
    with pytest.raises(SystemExit):
        main(["models", "--json"])
    doc = json.loads(capsys.readouterr()[0])
    by_name = {m["name"]: m for m in doc["models"]}
    assert by_name["resnet50"]["se"] is False and by_name["resnet50"]["parameters"] == 25_557_032
    assert by_name["regnet_y_400mf"]["parameters"] > 0  # counted from torchvision's metadata
