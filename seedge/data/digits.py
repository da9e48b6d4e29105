"""The built-in `digits` source: scikit-learn's bundled handwritten digits (no download).

1797 grayscale 8x8 images with values 0..16, classes "0".."9". They are scaled to
0..255 uint8 here and resized to the model input (and made 3-channel) by the same
preprocessing every other source goes through.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from seedge.data.source import Row, Source, build_source


@lru_cache(maxsize=1)
def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (1797, 8, 8), labels int64)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    images = np.clip(np.rint(d.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    images.setflags(write=False)
    return images, d.target.astype(np.int64)


def open_digits(name: str = "digits", class_names: list[str] | None = None, fractions=None) -> Source:
    images, labels = digits_arrays()
    rows = [Row(images[i], str(int(labels[i])), f"digits[{i}]") for i in range(len(labels))]
    return build_source(name, "digits", {"all": rows}, class_names, fractions=fractions)
