"""Step 3: uint8 pixels at the input size -> the float32 CHW tensor the network takes, and back.

float32 * scale (1/255: [0, 1]), reorder RGB -> BGR if `color_order` says so,
(x - mean) / std per channel, HWC -> CHW. `denormalize` undoes it for display.
"""

from __future__ import annotations

import numpy as np

from seedge.errors import SeedgeError
from seedge.preprocess.spec import spec_dict


def to_array(img, spec) -> np.ndarray:
    """PIL image or uint8 HxW / HxWxC array at the input size -> normalized float32 (C, H, W)."""
    d = spec_dict(spec)
    c = int(d["input_size"][0])
    x = np.asarray(img, dtype=np.float32)
    if x.ndim == 2:
        x = x[..., None]
    if x.shape[2] != c:
        raise SeedgeError(f"preprocessing: image has {x.shape[2]} channels, the model takes {c}")
    x = x * np.float32(d.get("scale", 1.0 / 255.0))
    if _bgr(d):
        x = x[..., ::-1]
    mean = np.asarray(d["mean"], dtype=np.float32)[:c]
    std = np.asarray(d["std"], dtype=np.float32)[:c]
    return np.ascontiguousarray(((x - mean) / std).transpose(2, 0, 1), dtype=np.float32)


def denormalize(x: np.ndarray, spec) -> np.ndarray:
    """One preprocessed (C, H, W) input -> HxWx3 float image in [0, 1], RGB order, for display."""
    d = spec_dict(spec)
    c = x.shape[0]
    mean = np.asarray(d["mean"], np.float32)[:c, None, None]
    std = np.asarray(d["std"], np.float32)[:c, None, None]
    img = ((x * std + mean) / float(d.get("scale", 1.0 / 255.0)) / 255.0).transpose(1, 2, 0)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    elif _bgr(d):
        img = img[..., ::-1]
    return np.clip(img, 0, 1)


def _bgr(d: dict) -> bool:
    return int(d["input_size"][0]) == 3 and str(d.get("color_order", "RGB")).upper() == "BGR"
