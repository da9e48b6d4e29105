"""Shared test set-up: hardware markers skip with a reason where the hardware is absent."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

# Keep tests within the 2-core CI machine; numerics don't depend on it.
os.environ.setdefault("OMP_NUM_THREADS", "2")

# Test files live in folders that mirror seedge/ and are imported by path (importlib mode);
# the shared fixture modules (_export_fixtures, _data_fixtures) sit here.
sys.path.insert(0, str(Path(__file__).resolve().parent))

# The demo model and calibration caches of one test session live in a folder of their own:
# tests never read or write the user's ~/.cache/seedge (a stale or foreign cache there would
# make a test pass or fail for reasons outside the code under test).
_CACHE = tempfile.mkdtemp(prefix="seedge-test-cache-")
os.environ["SEEDGE_CACHE"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, True)


def _cuda_available() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


def _tensorrt_available() -> bool:
    try:
        import tensorrt  # noqa: F401

        return _cuda_available()
    except Exception:  # noqa: BLE001 - the bindings can import but fail to find their libraries
        return False


def pytest_collection_modifyitems(config, items):
    cuda = _cuda_available()
    trt = _tensorrt_available() if any("tensorrt" in i.keywords for i in items) else False
    for item in items:
        if "gpu" in item.keywords and not cuda:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU; none on this machine"))
        if "tensorrt" in item.keywords and not trt:
            item.add_marker(pytest.mark.skip(reason="needs TensorRT with its libraries and a CUDA GPU"))


@pytest.fixture(autouse=True)
def _shared_export_stays_as_built():
    """`seedge bench` records slow artifacts in the folder it benches (bench.json), and the
    runtime then passes them over. Tests bench the shared export folder with a handful of calls,
    so a noisy flag there would change which artifact later tests' runtime opens: the record
    is removed after each test (tests of the record itself use a private copy)."""
    yield
    import _export_fixtures

    if _export_fixtures.export_folder.cache_info().currsize:
        (_export_fixtures.export_folder() / "bench.json").unlink(missing_ok=True)
