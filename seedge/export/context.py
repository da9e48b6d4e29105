"""What every builder of one export run shares: the stage folder, the model, options, caches.

Builders are independent functions `fn(ctx) -> Built`; whatever two of them need
(the FP32 ONNX graph that OpenVINO, FP16 and INT8 all start from, the Q/DQ graph that
ONNX Runtime, OpenVINO and TensorRT INT8 share) is computed once through
`ctx.shared(key, fn)`. Calibration arrays are loaded by the pipeline before the run
starts, so bad data stops the export before anything is written. Files made only as
inputs for another artifact are marked intermediate and removed before publishing
unless an artifact lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from seedge.errors import SeedgeError

if TYPE_CHECKING:  # seedge.export.options reads the builder table, which reads this module
    from seedge.export.options import ExportOptions
    from seedge.preprocess import PreprocessSpec


class Built(NamedTuple):
    """What a builder returns: the artifact's path relative to the stage, and its build facts."""

    file: str
    build: dict


@dataclass
class ExportContext:
    stage: Path
    model: object  # the eval-mode model after passes (what exporters trace)
    info: dict  # from seedge.checkpoint.load_model (+ "name")
    preprocess: PreprocessSpec
    options: ExportOptions
    metadata: dict[str, str]  # seedge model info for ONNX metadata_props / OpenVINO rt_info
    calib_source: str | None = None  # resolved calibration data source (may come from the checkpoint)
    calib: object = None  # calibration inputs, float32 NCHW numpy (INT8 only)
    eval_data: tuple | None = None  # held-out (x, labels) from the data source, when there is one
    _cache: dict = field(default_factory=dict)
    intermediates: set[str] = field(default_factory=set)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        c, h, w = self.preprocess.input_size
        return c, h, w

    def path(self, rel: str) -> Path:
        p = self.stage / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def shared(self, key: str, fn: Callable[[ExportContext], object]):
        """Compute `fn(ctx)` once per export run."""
        if key not in self._cache:
            self._cache[key] = fn(self)
        return self._cache[key]

    def intermediate(self, rel: str) -> Path:
        """A stage path made as an input for other artifacts; dropped unless an artifact lists it."""
        self.intermediates.add(rel)
        return self.path(rel)

    def calibration(self):
        """Calibration inputs (float32 NCHW), loaded by the pipeline before any work started."""
        if self.calib is None:
            raise SeedgeError("INT8 needs calibration data: pass --calib SRC (digits, an ImageFolder or a CSV)")
        return self.calib


def specific_class_names(info: dict) -> list[str] | None:
    """The checkpoint's class names when they say something ("cat", "dog"), not just "0".."N-1"."""
    names = info.get("class_names")
    if not names or list(names) == [str(i) for i in range(len(names))]:
        return None
    return list(names)
