"""Which files are images, and reading one data item as an RGB PIL image.

Decoding and the RGB conversion are seedge.preprocess.decode's (the same the device runtime
uses); this module adds what only a data source has: items that draw themselves (`.load()`,
the synthetic shapes) and error messages that name the CSV row or folder a file was listed in.
"""

from __future__ import annotations

from pathlib import Path

from seedge.preprocess import decode, is_image_like

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
)


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def read_image(item, origin: str = ""):
    """A path, a uint8 array (HxW or HxWxC), a PIL image, or an object whose `.load()` returns a
    PIL image -> RGB PIL image. `origin` ("data.csv row 7", a folder) goes into error messages."""
    if not is_image_like(item) and hasattr(item, "load"):
        item = item.load()
    return decode(item, origin)
