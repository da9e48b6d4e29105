"""Image -> network input, as the manifest's preprocessing spec says; numpy + Pillow, no torch.

The spec (seedge.preprocess.PreprocessSpec, stored in manifest["preprocessing"]) is applied in
this order, the order torchvision's PIL pipeline uses (Resize -> CenterCrop -> ToTensor ->
Normalize):

  1. decode (a path, a PIL image, or a uint8 HxW / HxWxC array in RGB order) to RGB  (decode.py)
  2. resize with bilinear filtering to `resize` (H, W) or straight to the input H, W, then "L"
     if C=1, then center-crop (floor offsets) to the input H, W                       (geometry.py)
  3. float32 * scale, RGB -> BGR if `color_order` says so, (x - mean) / std, HWC -> CHW (normalize.py)

This is the only implementation: training's evaluation transform and its augmented path
(seedge.data), export's reference and calibration data, verify, Grad-CAM's inverse and the
device runtime all call these functions. Pillow is needed only to decode files or resize: a
uint8 array already at the input size skips it (same numbers; tests check it).
"""

from __future__ import annotations

import os

import numpy as np

from seedge.errors import SeedgeError
from seedge.preprocess.decode import check_uint8_array, decode
from seedge.preprocess.geometry import array_at_input_size, base_size, center_crop, input_size, resize_to_base
from seedge.preprocess.normalize import to_array
from seedge.preprocess.spec import spec_dict

__all__ = ["is_image_like", "preprocess_batch", "preprocess_image", "spec_dict", "to_input_pixels"]


def is_image_like(x) -> bool:
    """A path, a PIL image or a uint8 array (HxW or HxWxC) is an image; float arrays are tensors."""
    if isinstance(x, (str, os.PathLike)):
        return True
    if isinstance(x, np.ndarray):
        return x.dtype == np.uint8 and x.ndim in (2, 3)
    return hasattr(x, "convert") and hasattr(x, "size")  # PIL.Image.Image, without importing PIL


def preprocess_image(image, spec, origin: str = "") -> np.ndarray:
    """One image (path, PIL image, or uint8 HxW / HxWxC array in RGB order) -> float32 (C, H, W).
    `origin` names where a path was listed (a CSV row, a folder), for error messages."""
    d = spec_dict(spec)
    return to_array(to_input_pixels(image, d, origin), d)


def preprocess_batch(images, spec) -> np.ndarray:
    """A list of images -> float32 (N, C, H, W)."""
    images = list(images)
    if not images:
        raise SeedgeError("preprocessing: no images given")
    d = spec_dict(spec)
    return np.stack([preprocess_image(im, d) for im in images])


def to_input_pixels(image, spec, origin: str = ""):
    """Steps 1-2: decode -> RGB -> resize to the base size -> ("L" for C=1) -> center crop.
    Returns a PIL image, or a uint8 HxWxC array when the input was an array already at the
    input size (no Pillow needed then)."""
    c, h, w = input_size(spec)
    if isinstance(image, np.ndarray) and check_uint8_array(image).shape[:2] == base_size(spec) == (h, w):
        return array_at_input_size(image, c)
    return center_crop(resize_to_base(decode(image, origin), spec), spec)
