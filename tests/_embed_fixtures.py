"""The demo export with embedded preprocessing, built once per test process (it trains the demo
model into the session's cache on first use, so the tests that use it are marked slow).

ONNX and OpenVINO at FP32 and INT8, each with its `-raw` sibling taking uint8 NHWC BGR pixels;
tests that change the folder take a copy.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

EMBED_ORDER = "bgr"


@functools.lru_cache(maxsize=None)
def demo_embedded_export() -> Path:
    from seedge.export.options import ExportOptions
    from seedge.export.pipeline import export_model

    root = Path(tempfile.mkdtemp(prefix="seedge-embed-"))
    atexit.register(shutil.rmtree, root, True)
    return export_model(None, ExportOptions(formats=("onnx", "openvino"), precisions=("fp32", "int8"), out=root,
                                            calib_samples=64, verify_samples=96, pt2=False,
                                            embed_preprocess=EMBED_ORDER))
