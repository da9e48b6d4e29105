"""Images without labels: what INT8 calibration needs (and reference inputs when labels do not fit).

SRC may be a flat folder of images (every image under it is used), an ImageFolder with class
folders of any names (their labels are read but not used, so they need not be the model's
classes), a CSV, or a built-in source. Calibration takes the train split where the source has
splits, so the images a later `verify --data SRC` scores stay out of calibration.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seedge.data.source import Samples


def unlabelled_samples(src: str, split: str, options=None) -> Samples:
    """The `split` of SRC as Samples whose labels mean nothing (all 0 for a flat folder)."""
    from seedge.data import open_source
    from seedge.data.imagefolder import image_pool, is_flat_image_folder

    path = Path(str(src))
    if is_flat_image_folder(path):
        files = image_pool(path)  # a flat pool has no splits: all of it serves every split
        return Samples(list(files), np.zeros(len(files), dtype=np.int64), [str(f) for f in files], split)
    # No class_names: a folder's own class names are fine, whatever the model calls its classes.
    return open_source(str(src), options=options).split(split)


def calibration_images(src: str, preprocess, limit: int | None, seed: int, *, split: str = "train", options=None):
    """float32 NCHW: `limit` images (chosen with `seed`) of SRC's `split`, preprocessed."""
    from seedge.data.arrays import load_split_arrays
    from seedge.errors import SeedgeError

    samples = unlabelled_samples(src, split, options).limit(limit, seed)
    if len(samples) == 0:
        raise SeedgeError(f"{src}: no images in its {split} split to calibrate on")
    return load_split_arrays(samples, preprocess)
