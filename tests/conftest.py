"""Shared test set-up: hardware markers skip with a reason where the hardware is absent."""

from __future__ import annotations

import os

import pytest

# Keep tests within the 2-core CI machine; numerics don't depend on it.
os.environ.setdefault("OMP_NUM_THREADS", "2")


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
