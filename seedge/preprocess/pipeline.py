"""Image -> network input, as the manifest's preprocessing spec says; numpy + Pillow, no torch.

The spec (seedge.preprocess.PreprocessSpec, stored in manifest["preprocessing"]) is applied in
this order, the order torchvision's PIL pipeline uses (Resize -> CenterCrop -> ToTensor ->
Normalize):

  1. decode (a path, a PIL image, or a uint8 HxW / HxWxC array in RGB order),
  2. convert to RGB (16-bit/float images rescaled to 0..255), resize with bilinear filtering
     to `resize` (H, W) or straight to the input H, W, then "L" if C=1, then center-crop
     (floor offsets) to the input H, W,
  3. float32 * scale (1/255: [0, 1]), reorder RGB -> BGR if `color_order` says so,
  4. (x - mean) / std per channel, HWC -> CHW.

It mirrors training's evaluation path (seedge.data) step for step without importing it, so a
device embeds only this file; tests check both give identical arrays. Pillow is needed only to
decode files or resize: a uint8 array already at the input size skips it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from seedge.errors import SeedgeError


def spec_dict(spec) -> dict:
    """Accept a PreprocessSpec or its dict form; check the fields this module relies on."""
    d = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec)
    c = int(d["input_size"][0])
    if c not in (1, 3):
        raise SeedgeError(f"preprocessing: {c} input channels; images have 1 (L) or 3 (RGB/BGR)")
    if len(d["mean"]) < c or len(d["std"]) < c:
        raise SeedgeError(f"preprocessing: mean/std have {len(d['mean'])}/{len(d['std'])} values for {c} channels")
    if str(d.get("layout", "NCHW")).upper() != "NCHW":
        raise SeedgeError(f"preprocessing: layout {d.get('layout')} is not supported (NCHW only)")
    if str(d.get("color_order", "RGB")).upper() not in ("RGB", "BGR"):
        raise SeedgeError(f"preprocessing: color order {d.get('color_order')} is not RGB or BGR")
    return d


def is_image_like(x) -> bool:
    """A path, a PIL image or a uint8 array (HxW or HxWxC) is an image; float arrays are tensors."""
    if isinstance(x, (str, os.PathLike)):
        return True
    if isinstance(x, np.ndarray):
        return x.dtype == np.uint8 and x.ndim in (2, 3)
    return hasattr(x, "convert") and hasattr(x, "size")  # PIL.Image.Image, without importing PIL


def preprocess_image(image, spec) -> np.ndarray:
    """One image (path, PIL image, or uint8 HxW / HxWxC array in RGB order) -> float32 (C, H, W)."""
    d = spec_dict(spec)
    c, h, w = (int(v) for v in d["input_size"])
    arr = _to_uint8(image, c, h, w, d.get("resize"))
    x = arr.astype(np.float32) * np.float32(d.get("scale", 1.0 / 255.0))
    if c == 3 and str(d.get("color_order", "RGB")).upper() == "BGR":
        x = x[..., ::-1]
    mean = np.asarray(d["mean"], dtype=np.float32)[:c]
    std = np.asarray(d["std"], dtype=np.float32)[:c]
    x = (x - mean) / std
    return np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32)


def preprocess_batch(images, spec) -> np.ndarray:
    """A list of images -> float32 (N, C, H, W)."""
    images = list(images)
    if not images:
        raise SeedgeError("preprocessing: no images given")
    return np.stack([preprocess_image(im, spec) for im in images])


def _to_uint8(image, c: int, h: int, w: int, resize) -> np.ndarray:
    """Decode -> RGB -> resize to the base size -> (L for C=1) -> center crop; uint8 HxWxC.

    Same steps, order and rounding as training's evaluation path (seedge.data.images.read_image +
    seedge.data.transforms.preprocess_image); tests/test_runtime.py checks they agree bit for bit.
    """
    bh, bw = (int(resize[0]), int(resize[1])) if resize else (h, w)
    if bh < h or bw < w:
        raise SeedgeError(f"preprocessing: resize {bh}x{bw} is smaller than the input {h}x{w}")
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise SeedgeError(f"preprocessing: image arrays must be uint8 HxW or HxWxC, got {image.dtype}; "
                              f"pass preprocessed float32 tensors as one NCHW array")
        arr = _array_channels(image, c)
        if arr.shape[:2] == (bh, bw) == (h, w):
            return arr  # already the input size: nothing for Pillow to do
        image = _pil().fromarray(image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image)
    elif isinstance(image, (str, os.PathLike)):
        image = _open(Path(image))
    pil = _pil()
    image = to_rgb(image)
    if image.size != (bw, bh):
        image = image.resize((bw, bh), pil.BILINEAR)
    if c == 1:
        image = image.convert("L")
    if (bh, bw) != (h, w):
        top, left = (bh - h) // 2, (bw - w) // 2
        image = image.crop((left, top, left + w, top + h))
    arr = np.asarray(image, dtype=np.uint8)
    return arr[..., None] if arr.ndim == 2 else arr


def to_rgb(img):
    """Any PIL mode -> RGB; 16/32-bit and float images are rescaled to 0..255 first (medical images)."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        a = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if img.mode.startswith("I;16") or a.max(initial=0) > 255 else 255.0
        if img.mode == "F":
            lo, hi = float(a.min(initial=0)), float(a.max(initial=1))
            a = (a - lo) / max(hi - lo, 1e-12) * 255.0
        else:
            a = a / hi * 255.0
        img = _pil().fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8))
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")  # dropping palette transparency directly makes PIL warn
    return img if img.mode == "RGB" else img.convert("RGB")


def _array_channels(arr: np.ndarray, c: int) -> np.ndarray:
    """uint8 HxW / HxWx{1,3,4} -> HxWxC the way RGB conversion (+ L for C=1) would give it."""
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise SeedgeError(f"preprocessing: image array of shape {arr.shape} is not HxW or HxWxC (C in 1, 3, 4)")
    if arr.shape[2] == 4:
        arr = arr[..., :3]  # drop alpha, as PIL's RGBA -> RGB does
    if c == 3 and arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if c == 1 and arr.shape[2] == 3:
        # PIL's RGB -> L: ITU-R 601-2 luma in 16.16 fixed point with rounding
        r, g, b = (arr[..., i].astype(np.uint32) for i in range(3))
        arr = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)[..., None]
    return np.ascontiguousarray(arr)


def _open(path: Path):
    if not path.is_file():
        raise SeedgeError(f"{path}: image file not found")
    pil = _pil()
    try:
        with pil.open(path) as im:
            im.load()
            return im.copy()
    except (OSError, pil.UnidentifiedImageError) as e:
        raise SeedgeError(f"{path}: not a readable image ({e})") from None


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise SeedgeError("decoding or resizing images needs Pillow (`pip install pillow`); or pass uint8 "
                          "arrays already at the model's input size") from None
    return Image
