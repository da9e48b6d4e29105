"""The shared hand-built export plus an explicit Q/DQ INT8 ONNX file (`onnx-int8`, ONNX Runtime's).

Made with the real quantizer (seedge.quantize.int8, 7-bit "portable" weights, so it runs right on
any CPU), once per test process, in its own temporary folder: the bench and verify tests of a
second reader (OpenVINO running the ONNX files) need an INT8 ONNX artifact that no builder made
for OpenVINO.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np
from _export_fixtures import INPUT_SHAPE, add_artifact, fresh_copy


@functools.cache
def int8_export_folder() -> Path:
    from seedge.quantize.int8 import quantize_onnx_int8

    root = Path(tempfile.mkdtemp(prefix="seedge-test-int8-"))
    atexit.register(shutil.rmtree, root, True)
    folder = fresh_copy(root, "tiny-int8")
    calib = np.random.default_rng(1).standard_normal((16, *INPUT_SHAPE)).astype(np.float32)
    facts = quantize_onnx_int8(folder / "model.onnx", folder / "model.int8.onnx", calib, int8_cpu="portable",
                               use_cache=False)
    add_artifact(folder, "onnx-int8", "onnx", "int8", "model.int8.onnx", "onnxruntime", facts)
    return folder
