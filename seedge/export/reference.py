"""reference.npz: fixed inputs and the eager FP32 model's logits on them.

The device self-test and `seedge verify` replay these. Real images (from the data
source the export was given, or the one the checkpoint was trained on) make the
comparison meaningful: a trained model's top-1 on real images has margins that random
noise inputs do not. Without data, inputs are seeded normal noise in the preprocessed
space (what the network sees after (x - mean) / std), so every export is reproducible.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DEFAULT_SAMPLES = 16


def reference_inputs(input_shape: tuple[int, int, int], n: int = DEFAULT_SAMPLES, seed: int = 0,
                     data: np.ndarray | None = None, labels: np.ndarray | None = None):
    """(x float32 NCHW, labels or None, origin) -- the first `n` rows of `data` if given, else noise."""
    if data is not None and len(data):
        x = np.ascontiguousarray(data[:n], dtype=np.float32)
        y = None if labels is None else np.asarray(labels[:n], dtype=np.int64)
        return x, y, "data"
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, *input_shape), dtype=np.float32), None, "random-normal"


def eager_logits(model, x: np.ndarray, batch: int = 64) -> np.ndarray:
    """The eager FP32 model's logits, on the CPU, in batches."""
    import torch

    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            outs.append(model(torch.from_numpy(x[i:i + batch])).float().numpy())
    return np.concatenate(outs).astype(np.float32)


def write_reference(path: str | Path, model, input_shape: tuple[int, int, int], n: int = DEFAULT_SAMPLES,
                    seed: int = 0, data: np.ndarray | None = None, labels: np.ndarray | None = None) -> dict:
    """Write reference.npz ("input", "logits", and "labels" when known); returns facts for the manifest."""
    x, y, origin = reference_inputs(input_shape, n, seed, data, labels)
    logits = eager_logits(model, x)
    arrays = {"input": x, "logits": logits}
    if y is not None:
        arrays["labels"] = y
    np.savez(path, **arrays)
    return {"file": Path(path).name, "samples": int(len(x)), "inputs": origin, "seed": seed,
            "labelled": y is not None}
