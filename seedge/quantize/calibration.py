"""Calibration data for INT8: checks, a data reader for onnxruntime.quantization, a range cache.

The caller passes images already preprocessed with the model's own preprocessing (float32
NCHW, the same arrays the model sees at inference); this module only checks that they fit
the model and feeds them in batches.

Calibration (running the float model over the images and recording every tensor's range or
histogram) is the slow part of quantization. ONNX Runtime can save and reload those ranges
(`quantize_static(calibration_cache_path=...)`); seedge keys that file by the ONNX model's
sha256, the calibration set's sha256, the method and the ONNX Runtime version, so a second
build of the same model on the same data (another policy, an exclusion list, the
sensitivity report's per-block builds) skips calibration. Ranges do not depend on which
nodes are later quantized: ONNX Runtime calibrates every quantizable tensor.

Cache folder: seedge.fileio.cache_root()/calib ($SEEDGE_CACHE/calib, else ~/.cache/seedge/calib).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from seedge.errors import SeedgeError
from seedge.fileio import cache_root

MIN_SAMPLES = 8  # fewer images than this give ranges that are mostly noise
CALIB_BATCH = 16  # images per calibration inference (the exported models have a dynamic batch)
# How a tensor's range is read from the calibration images (ONNX Runtime's CalibrationMethod
# of the same name); the CLI's --calib-method choices come from here.
METHODS = (
    "minmax",  # smallest and largest value seen
    "entropy",  # the histogram clip that loses the least information (KL divergence)
    "percentile",  # the 99.999th percentile of |x|: rare outliers do not stretch the range
)
DEFAULT_METHOD = "minmax"  # every quantizer's and --calib-method's default


def cache_dir() -> Path:
    return cache_root("calib")


def dataset_sha256(x: np.ndarray) -> str:
    """Hash of the calibration set: shape, dtype and bytes (after validation, so float32 C order)."""
    h = hashlib.sha256()
    h.update(f"{x.shape}|{x.dtype.str}|".encode())
    h.update(np.ascontiguousarray(x).tobytes())
    return h.hexdigest()


def validate_calib(
    calib,
    input_shape: tuple[int, int, int],
    samples: int | None = None,
    min_samples: int = MIN_SAMPLES,
    source: str = "calibration data",
) -> np.ndarray:
    """Check that `calib` is a preprocessed float NCHW batch that fits the model; return the images used.

    `input_shape` is the model's (C, H, W). With `samples`, that many images are drawn (a fixed
    seed, so the same call gives the same set and the same cache key); asking for more images
    than there are is an error rather than a silent shortfall.
    """
    c, h, w = (int(v) for v in input_shape)
    if not isinstance(calib, np.ndarray):
        raise SeedgeError(
            f"{source}: expected a numpy array of preprocessed images (N, {c}, {h}, {w}), got {type(calib).__name__}"
        )
    if calib.ndim != 4:
        raise SeedgeError(
            f"{source}: expected preprocessed images shaped (N, {c}, {h}, {w}), got shape "
            f"{tuple(calib.shape)}; pass a batch in NCHW layout"
        )
    if not np.issubdtype(calib.dtype, np.floating):
        raise SeedgeError(
            f"{source}: images are {calib.dtype}, not float; apply the model's preprocessing "
            f"(scale, mean/std) before calibrating"
        )
    n, cc, hh, ww = calib.shape
    if cc != c:
        hint = "; is the layout NHWC?" if calib.shape[3] == c else "; convert to the model's color mode"
        raise SeedgeError(f"{source}: images have {cc} channels but the model expects {c}{hint}")
    if (hh, ww) != (h, w):
        raise SeedgeError(
            f"{source}: images are {hh}x{ww} but the model expects {h}x{w}; resize them with the model's preprocessing"
        )
    if samples is not None and samples < min_samples:
        raise SeedgeError(f"{source}: {samples} calibration samples requested; use at least {min_samples}")
    need = max(min_samples, samples or 0)
    if n < need:
        requested = samples and samples > min_samples
        what = f"{samples} were requested" if requested else f"at least {min_samples} are needed"
        raise SeedgeError(f"{source}: only {n} calibration images but {what}; pass more images")
    x = np.ascontiguousarray(calib, dtype=np.float32)
    if samples is not None and samples < n:
        idx = np.sort(np.random.default_rng(0).choice(n, size=samples, replace=False))
        x = np.ascontiguousarray(x[idx])
    if not np.isfinite(x).all():
        raise SeedgeError(f"{source}: calibration images contain NaN or Inf; check the preprocessing")
    return x


def model_input(proto) -> tuple[str, tuple[int, int, int]]:
    """Name and (C, H, W) of the model's single image input."""
    inits = {i.name for i in proto.graph.initializer}
    inputs = [i for i in proto.graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise SeedgeError(f"model has {len(inputs)} inputs; seedge quantizes single-input image classifiers")
    dims = inputs[0].type.tensor_type.shape.dim
    chw = tuple(d.dim_value for d in dims[1:])
    if len(chw) != 3 or not all(chw):
        raise SeedgeError(
            f"model input '{inputs[0].name}' has no fixed (C, H, W) shape; export with a fixed image size"
        )
    return inputs[0].name, chw


def make_reader(input_name: str, x: np.ndarray, batch: int = CALIB_BATCH):
    """A CalibrationDataReader over `x` (built lazily so importing this module stays light)."""
    from onnxruntime.quantization import CalibrationDataReader

    class _ArrayReader(CalibrationDataReader):
        def __init__(self):
            self._start, self._stop = 0, len(x)
            self._pos = 0

        def get_next(self):
            if self._pos >= self._stop:
                return None
            end = min(self._pos + batch, self._stop)
            feed = {input_name: x[self._pos : end]}
            self._pos = end
            return feed

        def __len__(self):
            return (len(x) + batch - 1) // batch

        def set_range(self, start_index: int, end_index: int):
            self._pos, self._stop = start_index * batch, min(end_index * batch, len(x))

        def rewind(self):
            self._pos, self._stop = 0, len(x)

    return _ArrayReader()


def cache_path(model_sha256: str, data_sha256: str, method: str, options: dict | None = None) -> Path:
    """Where the ranges for (model, data, method, options) live; ORT's version is part of the key."""
    import onnxruntime

    opts = "".join(f"-{k}{v}" for k, v in sorted((options or {}).items()))
    name = f"{model_sha256[:20]}-{data_sha256[:20]}-{method}{opts}-ort{onnxruntime.__version__}.json"
    return cache_dir() / name
