"""Reading one image from disk (or memory) as an RGB PIL image, with errors users can act on.

Grayscale, palette, RGBA and CMYK images become RGB (alpha dropped, as torchvision's
ImageFolder does, so models trained elsewhere see the same pixels). 16-bit grayscale
(common in medical imaging) is scaled to 8 bits instead of clipped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seedge.errors import SeedgeError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                              ".ppm", ".pgm", ".pbm"})


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def to_rgb(img):
    """Any PIL mode -> RGB. 16/32-bit integer and float images are rescaled to 0..255 first."""
    from PIL import Image

    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        a = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if img.mode.startswith("I;16") or a.max(initial=0) > 255 else 255.0
        if img.mode == "F":
            lo, hi = float(a.min(initial=0)), float(a.max(initial=1))
            a = (a - lo) / max(hi - lo, 1e-12) * 255.0
        else:
            a = a / hi * 255.0
        img = Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8), mode="L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")  # PIL warns when palette transparency is dropped directly
    return img if img.mode == "RGB" else img.convert("RGB")


def read_image(item, origin: str = ""):
    """Path, uint8 array (HxW or HxWx3) or an object with `.load()` -> RGB PIL image."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(item, np.ndarray):
        return to_rgb(Image.fromarray(item))
    if hasattr(item, "load") and not isinstance(item, (str, Path)):
        return to_rgb(item.load())
    path = Path(item)
    where = f" (listed in {origin})" if origin and origin != str(path) else ""
    try:
        with Image.open(path) as img:
            img.load()
            return to_rgb(img)
    except FileNotFoundError:
        raise SeedgeError(f"{path}: image not found{where}; fix the path or remove it") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SeedgeError(f"{path}: cannot read image ({msg}){where}; replace or remove the file") from None


def check_image_header(path: Path, origin: str = "") -> None:
    """Cheap check (header only) that a file is an image PIL can open."""
    from PIL import Image, UnidentifiedImageError

    where = f" (listed in {origin})" if origin and origin != str(path) else ""
    try:
        with Image.open(path):
            pass
    except FileNotFoundError:
        raise SeedgeError(f"{path}: image not found{where}; fix the path or remove it") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SeedgeError(f"{path}: cannot read image ({msg}){where}; replace or remove the file") from None
