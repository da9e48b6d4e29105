"""What an artifact takes and gives must be what the manifest says, before anyone reads a label.

The manifest's class list is the only map from an output column to a name, and its input size is
what images are resized to. An artifact giving more (or fewer) columns than that list, or built
for another input size, is a folder whose parts disagree: every reader (verify, bench, the
device runtime) refuses it here, as the C++ runtime does, instead of labelling column 0 with the
first name and later columns past the list, or resizing images to a size the model never saw
(OpenVINO and a global-pooling CNN would run 64x64 images on a 32x32 model and answer).
"""

from __future__ import annotations

import numpy as np

from seedge.errors import SeedgeError
from seedge.preprocess.pixels import takes_pixels

_FIX = "the folder's parts disagree: re-run `seedge export`"


def check_width(logits, classes: int, where: str) -> np.ndarray:
    """`logits` as an array of (rows, `classes`); anything else is a SeedgeError naming `where`
    (the artifact) and both counts."""
    out = np.asarray(logits)
    if out.ndim != 2 or out.shape[1] != classes:
        width = out.shape[1] if out.ndim == 2 else f"shape {list(out.shape)} of"
        raise SeedgeError(
            f"{where}: gives {width} outputs per image but the manifest names {classes} classes "
            f"(model.num_classes / class_names); {_FIX}"
        )
    return out


def check_declared_shapes(runner, manifest: dict, artifact: dict, classes: int) -> None:
    """The opened artifact's own shapes (Runner.declared_input_shape / declared_output_shape: static
    dimensions of the file; None where the format or a dynamic dimension does not say) against the
    manifest's: the input size (C, H, W, or H, W, C for an artifact that takes uint8 pixels) and
    `classes` outputs, so a folder whose parts disagree is refused when it is opened."""
    out = runner.declared_output_shape()
    if out and len(out) == 2 and out[1] is not None and out[1] != classes:
        raise SeedgeError(
            f"artifact '{artifact['id']}': gives {out[1]} outputs per image but the manifest names "
            f"{classes} classes (model.num_classes / class_names); {_FIX}"
        )
    declared = runner.declared_input_shape()
    if not declared or len(declared) != 4:
        return
    c, h, w = (int(v) for v in (manifest.get("input") or {}).get("shape", [None, 0, 0, 0])[1:])
    want = [h, w, c] if takes_pixels(artifact) else [c, h, w]
    if any(d is not None and d != v for d, v in zip(declared[1:], want, strict=True)):
        shown = ["?" if d is None else d for d in declared[1:]]
        raise SeedgeError(
            f"artifact '{artifact['id']}': takes input {shown} but the manifest says {want} "
            f"(input.shape / preprocessing.input_size); {_FIX}"
        )
