"""A zoo model before any checkpoint: the no-SOURCE error, --random-weights exports (recorded, gated on
cosine, re-verified the same way), and third-party noise kept off stderr unless -v."""

from __future__ import annotations

import io
import logging

import pytest
import torch
from _workflow_fixtures import read_json, seedge, seedge_json
from torch import nn


def test_export_model_without_source_says_what_to_pass(tmp_path, capsys):
    _, err = seedge(capsys, "export", "--model", "se_resnet50", "--out", tmp_path, code=2)
    assert err.strip() == ("seedge: error: --model se_resnet50 without SOURCE: pass the checkpoint to export "
                           "(a file or a training run), or --random-weights to export the zoo model untrained")
    _, err = seedge(capsys, "export", "some.pth", "--model", "se_resnet50", "--random-weights", "--out", tmp_path,
                    code=2)
    assert "--random-weights exports zoo model --model ARCH untrained" in err


@pytest.mark.slow  # an export
def test_random_weights_export_is_recorded_and_verified_on_cosine(tmp_path, capsys):
    doc, err = seedge_json(capsys, "export", "--model", "se_resnet10_cifar_tiny", "--random-weights", "--formats",
                           "onnx", "--precisions", "fp32,fp16", "--no-pt2", "--no-count-nodes", "--out", tmp_path)
    assert "random weights: fp16/int8 parity is gated on logit cosine" in err
    folder = tmp_path / "se_resnet10_cifar_tiny"
    manifest = read_json(folder / "manifest.json")
    assert "random weights" in manifest["model"]["random_weights"]["note"]
    fp16 = next(a for a in manifest["artifacts"] if a["id"] == "onnx-fp16")["parity"]["thresholds"]
    assert fp16["min_agreement"] is None and fp16["min_cosine"] == 0.99
    assert manifest["model"]["source"].endswith("se_resnet10_cifar_tiny-10classes-seed0-bn-settled/model.safetensors")
    verified, _ = seedge_json(capsys, "verify", folder)
    assert all(a["passed"] for a in verified["artifacts"])


def test_cuda_runtime_notice_is_hidden_unless_verbose():
    from seedge.cli.quiet import quiet_third_party

    logger = logging.getLogger("torch.utils.cpp_extension")
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    logger.addHandler(handler)
    try:
        quiet_third_party("models")
        logger.warning("No CUDA runtime is found, using CUDA_HOME='%s'", "/usr/local")
        logger.warning("a warning that matters")
    finally:
        logger.removeHandler(handler)
    assert buf.getvalue() == "a warning that matters\n"


class _CancellingConvBN(nn.Module):
    """A 1x1 conv + BN whose outputs are small differences of large numbers (inputs near `level`, BN
    means equal to the conv of `level`), read by a classifier with logits near 1e3: FP32 rounding
    reaches a few 1e-5 of the logit scale, and folding the BN (exact in float64) lands it elsewhere."""

    def __init__(self, level: float):
        super().__init__()
        self.conv = nn.Conv2d(8, 16, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16, 10)
        with torch.no_grad():
            w = torch.randint(-3, 4, self.conv.weight.shape).float()
            self.conv.weight.copy_(w)
            self.bn.running_mean.copy_(w.sum((1, 2, 3)) * level)
            self.bn.running_var.uniform_(0.5, 2.0)
            self.fc.weight.mul_(600)

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).mean((2, 3)))


def test_exact_pass_on_large_logits_is_accepted():
    """Issue 23 item 5: an exact pass (BN folding) on a model with logits ~1e3 is accepted, though FP32
    rounding moves the logits by more than 1e-5 of their scale; it was refused when the folded model's
    FP32 error exceeded twice the original's by chance (seeds 1 and 3 here)."""
    from seedge.passes.registry import apply_passes

    rechecked = 0
    for seed in range(4):
        torch.manual_seed(seed)
        model = _CancellingConvBN(300.0).eval()
        x = 300.0 + torch.randint(-2, 3, (4, 8, 6, 6)).float()
        with torch.no_grad():
            assert 300 < float(model(x).abs().max()) < 3000
        _, (report,) = apply_passes(model, ["fold_bn"], example=x)
        if report["fp64"] is not None:  # the FP32 bound was missed; float64 showed the pass exact
            rechecked += 1
            assert report["fp64"]["rel_diff_fp64"] < 1e-9
    assert rechecked  # the case this test is about arose (3 of the 4 seeds on the machine it was written on)
