"""reference.npz: fixed inputs and the eager FP32 model's logits on them.

The device self-test and `seedge verify` replay these. Real images (from the data
source the export was given, or the one the checkpoint was trained on) make the
comparison meaningful: a trained model's top-1 on real images has margins that random
noise inputs do not. Without data, inputs are seeded normal noise in the preprocessed
space (what the network sees after (x - mean) / std), so every export is reproducible.

The same arrays are also written raw (`reference/input.f32`, `logits.f32`, `labels.i64`:
little-endian, C order, shape and sha256 in the manifest's `reference.raw`), so a device
runtime without numpy, such as seedge's C++ runtime, runs the same self-test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DEFAULT_SAMPLES = 16


def reference_inputs(
    input_shape: tuple[int, int, int],
    n: int = DEFAULT_SAMPLES,
    seed: int = 0,
    data: np.ndarray | None = None,
    labels: np.ndarray | None = None,
):
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
            outs.append(model(torch.from_numpy(x[i : i + batch])).float().numpy())
    return np.concatenate(outs).astype(np.float32)


def write_reference(
    path: str | Path,
    model,
    input_shape: tuple[int, int, int],
    n: int = DEFAULT_SAMPLES,
    seed: int = 0,
    data: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    pixels_spec=None,
) -> dict:
    """Write reference.npz ("input", "logits", and "labels" when known); returns facts for the manifest.

    pixels_spec: the preprocessing spec when the export has artifacts with the preprocessing
    inside; then "pixels" (uint8 NHWC, RGB) holds the images "input" was made from, so those
    artifacts are checked on the same pictures (noise inputs are then uniform noise pixels)."""
    x, y, origin = reference_inputs(input_shape, n, seed, data, labels)
    pixels = None
    if pixels_spec is not None:
        from seedge.preprocess.pixels import pixels_from_tensor, random_pixels, tensor_from_pixels

        if origin == "data":
            pixels = pixels_from_tensor(x, pixels_spec, "reference inputs")
        else:
            pixels, origin = random_pixels(len(x), pixels_spec, seed), "random-pixels"
            x = tensor_from_pixels(pixels, pixels_spec)
    logits = eager_logits(model, x)
    arrays = {"input": x, "logits": logits, **({"pixels": pixels} if pixels is not None else {})}
    if y is not None:
        arrays["labels"] = y
    np.savez(path, **arrays)
    return {
        "file": Path(path).name,
        "samples": int(len(x)),
        "inputs": origin,
        "seed": seed,
        "labelled": y is not None,
        "raw": write_raw_reference(Path(path).parent, arrays),
    }


# name -> (file under RAW_DIR, little-endian dtype, the manifest's dtype name)
RAW_DIR = "reference"
RAW_FILES = {
    "input": ("input.f32", "<f4", "float32"),
    "logits": ("logits.f32", "<f4", "float32"),
    "labels": ("labels.i64", "<i8", "int64"),
    "pixels": ("pixels.u8", "|u1", "uint8"),
}


def write_raw_reference(folder: str | Path, arrays: dict) -> dict:
    """Write `arrays` ("input", "logits", optional "labels") as raw little-endian files under
    `folder/reference/`; returns the manifest's `reference.raw` entry (file, dtype, shape, sha256)."""
    from seedge.fileio import sha256_file

    out = Path(folder) / RAW_DIR
    out.mkdir(exist_ok=True)
    raw = {}
    for name, (file, dtype, dtype_name) in RAW_FILES.items():
        if arrays.get(name) is None:
            continue
        a = np.ascontiguousarray(arrays[name], dtype=dtype)
        a.tofile(out / file)
        raw[name] = {
            "file": f"{RAW_DIR}/{file}",
            "dtype": dtype_name,
            "byte_order": "little",
            "shape": [int(d) for d in a.shape],
            "sha256": sha256_file(out / file),
        }
    return raw
