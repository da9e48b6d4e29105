"""Step 1 of the preprocessing: anything that holds an image -> an RGB PIL image.

Accepted: a path, a PIL image, or a uint8 HxW / HxWxC array (C in 1, 3, 4; RGB order).
Grayscale, palette, RGBA and CMYK images become RGB (alpha dropped, as torchvision's
ImageFolder does, so models trained elsewhere see the same pixels); 16/32-bit and float
images (common in medical imaging) are rescaled to 0..255 instead of clipped.
Pillow is imported on first use: a device that only feeds ready uint8 arrays needs none.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np

from seedge.errors import SeedgeError
from seedge.fileio import path_kind

# PIL modes whose pixels are not 0..255 integers
_WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "F")


def decode(image, origin: str = ""):
    """Path / PIL image / uint8 array -> RGB PIL image. `origin` (e.g. "data.csv row 7") names
    where a path was listed, for the error message."""
    if isinstance(image, np.ndarray):
        arr = check_uint8_array(image)
        return to_rgb(pil().fromarray(arr[..., 0] if arr.ndim == 3 and arr.shape[2] == 1 else arr))
    if isinstance(image, (str, os.PathLike)):
        if not os.fspath(image):  # Path("") is ".", the current folder: not what the user meant
            raise SeedgeError(f"preprocessing: image file not found: the path is empty{_listed(origin)}")
        return open_image(Path(image), origin)
    if not (hasattr(image, "convert") and hasattr(image, "mode")):
        raise SeedgeError(
            f"preprocessing: cannot read an image from a value of type {type(image).__name__}; "
            f"give a file path, a PIL image or a uint8 HxW / HxWxC array"
        )
    if 0 in tuple(image.size):
        raise SeedgeError(f"preprocessing: the PIL image is empty ({image.size[0]}x{image.size[1]} pixels)")
    return to_rgb(image)


def _listed(origin: str, path: Path | None = None) -> str:
    return f" (listed in {origin})" if origin and origin != str(path) else ""


def open_image(path: Path, origin: str = ""):
    """Read an image file -> RGB PIL image; a missing or unreadable file is a SeedgeError naming it."""
    where = _listed(origin, path)
    kind = path_kind(path)
    if kind == "not found":
        raise SeedgeError(f"{path}: image file not found{where}; fix the path or remove it")
    if kind != "a regular file":  # a FIFO or device is never opened: reading one blocks or never ends
        raise SeedgeError(f"{path}: is {kind}, not an image file{where}; fix the path or remove it")
    Image = pil()
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; a file claiming that many
            # pixels is refused like the bigger ones (a few KB of PNG can claim gigabytes).
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()
                return to_rgb(img, str(path))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise SeedgeError(
            f"{path}: image too large to decode safely (a decompression bomb? {_bomb_size(e)}, "
            f"limit {Image.MAX_IMAGE_PIXELS} pixels){where}; replace or remove it"
        ) from None
    except (OSError, ValueError, SyntaxError) as e:  # PIL.UnidentifiedImageError is an OSError
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SeedgeError(
            f"{path}: cannot read image (not a readable image file: {msg}){where}; replace or remove it"
        ) from None


def _bomb_size(e: Exception) -> str:
    m = re.search(r"\((\d+) pixels\)", str(e))
    return f"{m.group(1)} pixels" if m else "too many pixels"


def to_rgb(img, where: str = "preprocessing"):
    """Any PIL mode -> RGB; 16/32-bit and float images are rescaled to 0..255 first. A float image
    with NaN/Inf pixels has no such scale (and numpy would warn casting them): refused, naming `where`."""
    if img.mode in _WIDE_MODES:
        a = np.asarray(img, dtype=np.float64)
        bad = int(a.size - np.count_nonzero(np.isfinite(a)))
        if bad:
            raise SeedgeError(
                f"{where}: float image holds {bad} NaN/Inf pixels of {a.size}; no brightness "
                f"scale fits them: replace them (e.g. with 0) or remove the image"
            )
        hi = 65535.0 if img.mode.startswith("I;16") or a.max(initial=0) > 255 else 255.0
        if img.mode == "F":  # [min(0, lo), max(1, hi)] -> 0..255: a [0, 1] image keeps its scale
            lo, hi = float(a.min(initial=0)), float(a.max(initial=1))
            a = (a - lo) / max(hi - lo, 1e-12) * 255.0
        else:
            a = a / hi * 255.0
        img = pil().fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8))
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")  # dropping palette transparency directly makes PIL warn
    return img if img.mode == "RGB" else img.convert("RGB")


def check_uint8_array(arr: np.ndarray) -> np.ndarray:
    """An image array must be uint8 HxW or HxWxC with C in 1, 3, 4; anything else is refused here
    rather than misread (a float array is most likely an already preprocessed tensor)."""
    if arr.dtype != np.uint8:
        raise SeedgeError(
            f"preprocessing: image arrays must be uint8 HxW or HxWxC, got {arr.dtype}; "
            f"pass preprocessed float32 tensors as one NCHW array"
        )
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 3, 4))):
        raise SeedgeError(f"preprocessing: image array of shape {arr.shape} is not HxW or HxWxC (C in 1, 3, 4)")
    if 0 in arr.shape[:2]:  # resizing nothing gives no pixels a model's answer could be about
        raise SeedgeError(f"preprocessing: image array of shape {arr.shape} is empty (no pixels)")
    return arr


def pil():
    """PIL.Image, imported on first use."""
    try:
        from PIL import Image
    except ImportError:
        raise SeedgeError(
            "decoding or resizing images needs Pillow (`pip install pillow`); or pass uint8 "
            "arrays already at the model's input size"
        ) from None
    return Image
