"""The tiny SE-ResNet the quantization tests share (built once per process).

It has random convolution weights with BatchNorm statistics taken from digits images and a
least-squares classifier head on its features, so its logits carry real class evidence
(about 80% test accuracy) without minutes of training.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ARCH = "se_resnet10_cifar_tiny"
N_CALIB = 32
N_EVAL = 128


@functools.lru_cache(maxsize=1)
def tiny() -> SimpleNamespace:
    """model.onnx of the tiny SE-ResNet with a fitted head (and the module, `model`), plus calibration
    and test arrays."""
    import torch

    from seedge.data import load_arrays
    from seedge.onnx.convert import export_onnx
    from seedge.models import create_model
    from seedge.preprocess import PreprocessSpec

    folder = Path(tempfile.mkdtemp(prefix="seedge-qtest-"))
    atexit.register(shutil.rmtree, folder, True)
    torch.manual_seed(0)
    model = create_model(ARCH)
    spec = PreprocessSpec.from_model_cfg(model.seedge_cfg)
    xtr, ytr, _ = load_arrays("digits", spec, "train", limit=320, seed=0)
    xte, yte, _ = load_arrays("digits", spec, "test", limit=N_EVAL, seed=0)
    with torch.no_grad():
        model.train()  # BatchNorm statistics from real images: realistic activation ranges
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = None
        model(torch.from_numpy(xtr[:128]))
        model.eval()
        feats = torch.flatten(model.avgpool(model.forward_features(torch.from_numpy(xtr))), 1).double().numpy()
        # Ridge regression of one-hot targets on standardized features: a head with real margins.
        mu, sd = feats.mean(0), feats.std(0) + 1e-6
        a = np.c_[(feats - mu) / sd, np.ones(len(feats))]
        w = np.linalg.solve(a.T @ a + np.eye(a.shape[1]), a.T @ (np.eye(10)[ytr] * 2 - 1))
        model.fc.weight.copy_(torch.from_numpy((w[:-1] / sd[:, None]).T).float())
        model.fc.bias.copy_(torch.from_numpy(w[-1] - (mu / sd) @ w[:-1]).float())
    onnx_path = export_onnx(model, folder / "model.onnx", spec.input_size)
    module_names = {name for name, _ in model.named_modules() if name}
    return SimpleNamespace(folder=folder, onnx=onnx_path, calib=xtr[:N_CALIB], x=xte, y=yte, spec=spec,
                           module_names=module_names, model=model)
