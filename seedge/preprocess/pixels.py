"""Artifacts with the preprocessing inside (`seedge export --embed-preprocess`): what they take.

Such an artifact's input is the image as a device holds it after geometry only (decode,
resize, crop: seedge.preprocess steps 1-2): uint8, NHWC, in the color order chosen at export.
Scale, channel order, (x - mean) / std, the layout change and optionally a softmax run
inside the graph. Its manifest entry says so in `input` (and `output` when a softmax is
inside); an entry without `input` takes the manifest's float32 NCHW input.

verify, bench and the runtime feed such artifacts from the same images as the others: the
float tensors seedge.preprocess made are turned back into the pixels they came from
(`pixels_from_tensor`, exact or refused), so the eager baseline and the embedded artifact see
the same picture and any skew of the embedded normalization fails parity.
"""

from __future__ import annotations

import numpy as np

from seedge.errors import SeedgeError
from seedge.preprocess.spec import spec_dict

COLOR_ORDERS = ("RGB", "BGR")  # the device buffer's channel order (--embed-preprocess rgb|bgr)
INPUT_NAME = "image"  # the graph input of an embedded artifact


def embedded_input(spec, color_order: str) -> dict:
    """The manifest entry's `input` for an artifact that takes raw pixels in `color_order`."""
    d = spec_dict(spec)
    c, h, w = (int(v) for v in d["input_size"])
    order = check_color_order(color_order) if c == 3 else "L"
    return {
        "name": INPUT_NAME,
        "dtype": "uint8",
        "layout": "NHWC",
        "color_order": order,
        "shape": ["batch", h, w, c],
        # what the graph does before the network, in this order (seedge.preprocess.normalize)
        "inside": [
            "cast float32",
            f"* {d.get('scale', 1.0 / 255.0)}",
            *(["reverse channels"] if c == 3 and order != network_order(d) else []),
            "(x - mean) / std",
            "NHWC -> NCHW",
        ],
    }


def check_color_order(value: str) -> str:
    order = str(value).upper()
    if order not in COLOR_ORDERS:
        raise SeedgeError(f"--embed-preprocess {value!r}: give the device image's channel order, rgb or bgr")
    return order


def network_order(spec) -> str:
    """The channel order the network itself was trained on (the spec's color_order)."""
    return str(spec_dict(spec).get("color_order", "RGB")).upper()


def takes_pixels(entry: dict) -> bool:
    """True for an artifact with the preprocessing inside (uint8 NHWC input)."""
    return (entry.get("input") or {}).get("dtype") == "uint8"


def gives_probabilities(entry: dict) -> bool:
    """True when a softmax inside the artifact turns its logits into probabilities."""
    return bool((entry.get("output") or {}).get("softmax"))


def pixels_for(entry: dict, rgb: np.ndarray) -> np.ndarray:
    """uint8 NHWC pixels in RGB order (seedge.preprocess's decode order) -> the artifact's order."""
    order = (entry.get("input") or {}).get("color_order", "RGB")
    x = rgb[..., ::-1] if order == "BGR" and rgb.shape[-1] == 3 else rgb
    return np.ascontiguousarray(x, dtype=np.uint8)


def pixels_from_tensor(x: np.ndarray, spec, where: str = "input") -> np.ndarray:
    """Preprocessed float32 NCHW -> the uint8 NHWC RGB pixels seedge.preprocess made it from.

    Exact: the pixels are re-normalized and must give `x` back (to float32 rounding), so a
    tensor that never was an image (noise, another normalization) is refused, not guessed.
    """
    d = spec_dict(spec)
    c = int(d["input_size"][0])
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 4 or x.shape[1] != c:
        raise SeedgeError(f"{where}: shape {list(x.shape)} is not (N, {c}, H, W)")
    mean = np.asarray(d["mean"], np.float64)[:c, None, None]
    std = np.asarray(d["std"], np.float64)[:c, None, None]
    scale = float(d.get("scale", 1.0 / 255.0))
    p = np.rint((x.astype(np.float64) * std + mean) / scale)
    if not np.isfinite(p).all() or p.min(initial=0) < 0 or p.max(initial=0) > 255:
        raise _not_pixels(where)
    pixels = p.astype(np.uint8).transpose(0, 2, 3, 1)  # NHWC, the network's channel order
    if c == 3 and network_order(d) == "BGR":
        pixels = pixels[..., ::-1]
    pixels = np.ascontiguousarray(pixels)
    if not np.allclose(tensor_from_pixels(pixels, d), x, rtol=0, atol=1e-5):
        raise _not_pixels(where)
    return pixels


def tensor_from_pixels(pixels: np.ndarray, spec) -> np.ndarray:
    """uint8 NHWC RGB pixels -> float32 NCHW, as seedge.preprocess.normalize.to_array does each image."""
    from seedge.preprocess.normalize import to_array

    return np.stack([to_array(p, spec) for p in pixels]) if len(pixels) else np.zeros((0,), np.float32)


def random_pixels(n: int, spec, seed: int = 0) -> np.ndarray:
    """Seeded uniform uint8 NHWC noise images at the input size (reference inputs without data)."""
    c, h, w = (int(v) for v in spec_dict(spec)["input_size"])
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, c), dtype=np.uint8)


def _not_pixels(where: str) -> SeedgeError:
    return SeedgeError(
        f"{where}: these float inputs are not images preprocessed by this model's spec, so the "
        f"artifact with the preprocessing inside cannot be fed the same pixels; pass images "
        f"(or data read by seedge), or choose an artifact without embedded preprocessing"
    )
