"""BatchNorm recalibration before validation, and the train/val accuracy-gap warning (issue 14)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from seedge.train.accuracy_gap import accuracy_gap_warning
from seedge.train.bn_recalibration import has_batchnorm, recalibrate_batchnorm


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4, momentum=0.01), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 2))


def _images(n=40, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 8, 8, generator=g) * 2.0 + 3.0  # far from BN's initial mean 0 / var 1
    return torch.utils.data.TensorDataset(x, torch.zeros(n, dtype=torch.long)), x


def test_running_stats_become_the_exact_statistics_of_the_sample():
    net, (ds, x) = _net(), _images()
    net.eval()
    used = recalibrate_batchnorm(net, ds, batch_size=40, device="cpu")
    assert used == 40
    with torch.no_grad():
        z = net[0](x)  # the BN input
    bn = net[1]
    assert torch.allclose(bn.running_mean, z.mean(dim=(0, 2, 3)), atol=1e-5)
    assert torch.allclose(bn.running_var, z.var(dim=(0, 2, 3), unbiased=True), rtol=1e-4)
    assert bn.momentum == 0.01 and not net.training  # momentum and eval mode restored


def test_many_batches_average_and_a_last_batch_of_one_is_left_out():
    net, (ds, x) = _net(), _images(n=41)
    used = recalibrate_batchnorm(net, ds, batch_size=8, device="cpu", max_images=41)
    assert used == 40  # 5 batches of 8; the 41st image alone would have no variance
    with torch.no_grad():
        z = net[0](x)
    # every image is in the sample, so the mean of per-batch means is close to the overall mean
    assert torch.allclose(net[1].running_mean, z.mean(dim=(0, 2, 3)), atol=0.05)


def test_training_random_stream_is_untouched():
    net, (ds, _) = _net(), _images()
    torch.manual_seed(123)
    recalibrate_batchnorm(net, ds, batch_size=8, device="cpu", seed=5)
    after = torch.rand(3)
    torch.manual_seed(123)
    assert torch.equal(after, torch.rand(3))


def test_subset_is_spread_over_a_class_sorted_dataset():
    # 3 "classes" of 100 images each, sorted; the sample must not come from the first class only
    x = torch.cat([torch.full((100, 3, 4, 4), float(v)) for v in (0.0, 10.0, 20.0)])
    ds = torch.utils.data.TensorDataset(x, torch.zeros(300, dtype=torch.long))
    net = torch.nn.Sequential(torch.nn.BatchNorm2d(3, momentum=0.01))
    recalibrate_batchnorm(net, ds, batch_size=30, device="cpu", max_images=90)
    assert 5.0 < float(net[0].running_mean.mean()) < 15.0


def test_a_model_without_batchnorm_is_left_alone():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 1))
    assert not has_batchnorm(net)
    assert recalibrate_batchnorm(net, _images()[0], batch_size=8, device="cpu") == 0


def test_gap_warning_rule():
    assert accuracy_gap_warning(0.915, 0.095, 10).startswith("warning: training accuracy 91.5% but validation 9.5%")
    assert "chance is 10.0 %" in accuracy_gap_warning(0.915, 0.095, 10)
    assert accuracy_gap_warning(0.95, 0.80, 10) is None          # 15 points: ordinary
    assert accuracy_gap_warning(0.60, 0.90, 10) is None          # validation ahead: healthy
    assert "chance" not in accuracy_gap_warning(0.99, 0.60, 10)  # parted, but not at chance


@pytest.mark.slow
def test_mobilenet_v3_validates_well_above_chance_after_a_short_run(tmp_path):
    """The issue's trap on a small scale: torchvision MobileNetV3 (BN momentum 0.01) after a
    short run on digits. Without recalibration its running statistics stay near (0, 1) and
    validation sits near chance; with it, validation follows training."""
    from seedge.train.loop import TrainOptions, train

    summary = train(TrainOptions(data="digits", model="mobilenet_v3_small", out=str(tmp_path / "r"), epochs=2,
                                 img_size=(32, 32), limit=384, lr=3e-3, augment="none", threads=2,
                                 progress=False, patience=0))
    history = json.loads((tmp_path / "r" / "history.json").read_text())
    for row in history["epochs"]:
        assert row["bn_recalibration_images"] > 0
    best = summary["best"]
    assert best["val_acc"] > 0.4, best
    assert np.isfinite(best["val_loss"])
