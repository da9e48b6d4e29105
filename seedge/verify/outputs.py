"""What a runner's outputs must be before anyone reads a label from them.

The manifest's class list is the only map from an output column to a name; an artifact giving
more (or fewer) columns than that list is a folder whose parts disagree, so every reader (verify,
bench, the device runtime) refuses it here, as the C++ runtime refuses it at each inference,
instead of labelling column 0 with the first name and later columns past the list.
"""

from __future__ import annotations

import numpy as np

from seedge.errors import SeedgeError


def check_width(logits, classes: int, where: str) -> np.ndarray:
    """`logits` as an array of (rows, `classes`); anything else is a SeedgeError naming `where`
    (the artifact) and both counts."""
    out = np.asarray(logits)
    if out.ndim != 2 or out.shape[1] != classes:
        width = out.shape[1] if out.ndim == 2 else f"shape {list(out.shape)} of"
        raise SeedgeError(f"{where}: gives {width} outputs per image but the manifest names {classes} classes "
                          f"(model.num_classes / class_names); the folder's parts disagree: re-run `seedge export`")
    return out
