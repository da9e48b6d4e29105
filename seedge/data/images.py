"""Reading one image from disk (or memory) as an RGB PIL image, with errors users can act on.

Grayscale, palette, RGBA and CMYK images become RGB (alpha dropped, as torchvision's
ImageFolder does, so models trained elsewhere see the same pixels). 16-bit grayscale
(common in medical imaging) is scaled to 8 bits instead of clipped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seedge.errors import SeedgeError
from seedge.preprocess.pipeline import to_rgb  # one conversion for training and the torch-free runtime

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                              ".ppm", ".pgm", ".pbm"})


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


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
