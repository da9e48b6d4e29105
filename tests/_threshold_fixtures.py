"""Two real exports whose gates differ from the defaults, shared by the recorded-thresholds tests
(Python and C++), each built once per test process.

- `random_weights_export()`: `export --model se_resnet10_cifar_tiny --random-weights`, ONNX and
  OpenVINO in FP32 and FP16: fp16 is gated on logit cosine with no agreement gate
  (seedge.export.random_weights.RANDOM_WEIGHT_THRESHOLDS).
- `max_drop_export()`: `export --max-drop 5` of the quantization tests' tiny SE-ResNet with a
  fitted head (_quantize_fixtures.tiny), ONNX FP32 and INT8: int8 is gated on that accuracy drop
  and on the agreement the caller set.

Both are kept small (a tiny model, few samples, no node counts, no .pt2); tests that change a
folder take a copy (`copy_of`).
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

MAX_DROP = 5.0
MAX_DROP_AGREEMENT = 0.8  # what the tiny model's INT8 reaches with itself (see tests/quantize/test_max_drop.py)


def _root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="seedge-thresholds-"))
    atexit.register(shutil.rmtree, root, True)
    return root


@functools.lru_cache(maxsize=1)
def random_weights_export() -> Path:
    import seedge

    return seedge.export(arch="se_resnet10_cifar_tiny", random_weights=True, formats="onnx,openvino",
                         precisions="fp32,fp16", out=_root(), count_nodes=False, pt2=False,
                         reference_samples=8, verify_samples=0)


@functools.lru_cache(maxsize=1)
def max_drop_export() -> Path:
    from _quantize_fixtures import tiny

    import seedge

    t = tiny()
    return seedge.export(t.model, input_size=t.spec.input_size, preprocessing=t.spec, formats="onnx",
                         precisions="fp32,int8", calib="digits", calib_samples=32, verify_samples=64,
                         reference_samples=64, out=_root(), name="max-drop", count_nodes=False, pt2=False,
                         max_drop=MAX_DROP, thresholds={"int8": {"min_agreement": MAX_DROP_AGREEMENT}})


def copy_of(folder: Path, dst: Path) -> Path:
    shutil.copytree(folder, dst)
    return dst
