"""Every zoo model exports untrained (issue 23, item 5): `seedge export --model ARCH --random-weights
--formats onnx` passes its checks for each name `seedge models` lists. Untrained deep residual nets once
had logits near 1e4 (BatchNorm running statistics (0, 1) make every BN the identity), so FP32 rounding
failed the BN-folding check (se_resnet152) and the FP32 parity gate (se_resnet101); random weights now
get BN statistics from noise (seedge.export.random_weights.settle_batchnorm), which keeps logits O(1).

Exported at 64x64 (five stride-2 stages leave 2x2; res_se_net's six pooling stages need 128x128) to
keep the export itself small on two cores; the weights and the BN settling are the model's own, at its
full input size. Measured on the shared 2-core machine (load ~6): 38-154 s per EfficientNet B0-B7,
449 s for efficientnet_v2_l, ~10 min for regnet_y_128gf: the whole zoo is far beyond a few minutes
there, hence `slow`; `-k` picks one family.
"""

from __future__ import annotations

import gc
import os
import shutil

import numpy as np
import pytest
from _workflow_fixtures import read_json, seedge

from seedge.models.registry import list_models

IMG_SIZE = 64
MIN_SIZE = {"res_se_net": 128}


@pytest.fixture(autouse=True)
def private_cache(monkeypatch, tmp_path):
    # The random weights and the export are written per test and removed after it (pytest keeps old
    # tmp_path folders; regnet_y_128gf's weights alone are 0.6 GB).
    monkeypatch.setenv("SEEDGE_CACHE", str(tmp_path / "cache"))
    yield
    shutil.rmtree(tmp_path, ignore_errors=True)


# Open (issue 23 item 5): the export exits 1 at "building onnx-fp32" for this one (twice here, ~10 min
# each; the reason line was not captured yet). strict: the mark must go when it passes.
_OPEN = {"regnet_y_128gf": "export exits 1 at 'building onnx-fp32' (not yet diagnosed)"}
# The full sweep (~31 min at load ~6 on two cores) does not fit CI's budget: by default one model per
# family, the deep residual nets the issue named first (se_resnet101 / se_resnet152 failed before);
# SEEDGE_ZOO_SWEEP=1 runs every name `seedge models` lists.
CI_SUBSET = ("se_resnet152", "se_resnet101", "se_resnext50_32x4d", "se_resnet18", "se_resnet18_cifar",
             "res_se_net", "mobilenet_v3_small", "efficientnet_b0", "regnet_y_400mf", "resnet18")
_NAMES = list_models() if os.environ.get("SEEDGE_ZOO_SWEEP", "") not in ("", "0") else CI_SUBSET
_ARCHS = [pytest.param(a, marks=pytest.mark.xfail(strict=True, reason=_OPEN[a])) if a in _OPEN else a
          for a in _NAMES]


def test_the_ci_subset_names_zoo_models():
    assert set(CI_SUBSET) <= set(list_models())


@pytest.mark.slow
@pytest.mark.parametrize("arch", _ARCHS)
def test_every_zoo_model_exports_with_random_weights(arch, tmp_path, capsys):
    seedge(capsys, "export", "--model", arch, "--random-weights", "--formats", "onnx", "--precisions", "fp32",
           "--img-size", MIN_SIZE.get(arch, IMG_SIZE), "--no-pt2", "--no-count-nodes", "--verify-samples", "0",
           "--reference-samples", "4", "--out", tmp_path / "out")
    manifest = read_json(tmp_path / "out" / arch / "manifest.json")
    fp32 = next(a for a in manifest["artifacts"] if a["id"] == "onnx-fp32")
    assert fp32["parity"]["passed"], fp32["parity"]
    logits = np.load(tmp_path / "out" / arch / "reference.npz")["logits"]
    assert 1e-3 < float(np.abs(logits).max()) < 100.0   # sane scale: neither exploding nor vanishing
    gc.collect()
