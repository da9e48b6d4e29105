"""Step 2: an RGB PIL image -> the network's input size.

Resize with bilinear filtering to the spec's `resize` (H, W) -- the base size -- or straight
to the input size, convert to "L" for a 1-channel model, then center-crop (floor offsets)
to the input size. Training augments at the base size instead of center-cropping.
"""

from __future__ import annotations

import numpy as np

from seedge.errors import SeedgeError
from seedge.preprocess.decode import pil
from seedge.preprocess.spec import spec_dict


def input_size(spec) -> tuple[int, int, int]:
    """(C, H, W) the network takes."""
    c, h, w = (int(v) for v in spec_dict(spec)["input_size"])
    return c, h, w


def base_size(spec) -> tuple[int, int]:
    """(H, W) every image is resized to before cropping (or augmenting)."""
    d = spec_dict(spec)
    resize = d.get("resize") or d["input_size"][1:]
    return int(resize[0]), int(resize[1])


def resize_to_base(img, spec):
    """RGB PIL image of any size -> the base size (bilinear), "L" for a 1-channel model."""
    c, h, w = input_size(spec)
    bh, bw = base_size(spec)
    if bh < h or bw < w:
        raise SeedgeError(f"preprocessing: resize {bh}x{bw} is smaller than the input {h}x{w}")
    if img.size != (bw, bh):
        img = img.resize((bw, bh), pil().BILINEAR)
    if c == 1:
        img = img.convert("L")
    return img


def center_crop(img, spec):
    """PIL image at the base size -> the input size, offsets rounded down (as torchvision's
    CenterCrop does for PIL images)."""
    _, h, w = input_size(spec)
    iw, ih = img.size
    if (ih, iw) == (h, w):
        return img
    top, left = (ih - h) // 2, (iw - w) // 2
    return img.crop((left, top, left + w, top + h))


def array_at_input_size(arr: np.ndarray, c: int) -> np.ndarray:
    """A checked uint8 HxW / HxWx{1,3,4} array already at the input size -> HxWxC, exactly as
    decode -> RGB -> ("L" for C=1) through Pillow would give it, without Pillow."""
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.shape[2] == 4:
        arr = arr[..., :3]  # drop alpha, as PIL's RGBA -> RGB does
    if c == 3 and arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if c == 1 and arr.shape[2] == 3:
        # PIL's RGB -> L: ITU-R 601-2 luma in 16.16 fixed point with rounding
        r, g, b = (arr[..., i].astype(np.uint32) for i in range(3))
        arr = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)[..., None]
    return np.ascontiguousarray(arr)
