"""Runners (Polygraphy's habit): one per backend, a context manager with `infer(feed)`.

`feed` maps input names to float32 NCHW numpy arrays; `infer` returns a list of numpy
outputs (logits first). Backends are looked up by name in `BACKENDS` and imported only
when used, so a missing optional backend never breaks `seedge --help` or the runtime.
"""

from __future__ import annotations

import abc
import importlib
from pathlib import Path

import numpy as np

from seedge.errors import SeedgeError

# backend name -> "module:Class"; the module is imported on first use.
BACKENDS: dict[str, str] = {
    "torch": "seedge.backends.torch_eager:TorchEagerRunner",
    "torchscript": "seedge.backends.torchscript:TorchScriptRunner",
    "onnxruntime": "seedge.backends.onnxruntime:OnnxRuntimeRunner",
    "openvino": "seedge.backends.openvino:OpenVINORunner",
    "tensorrt": "seedge.backends.tensorrt:TensorRTRunner",
}


class Runner(abc.ABC):
    """Base class. Subclasses implement `_load()` and `infer()`; `close()` frees resources."""

    name = "base"

    def __init__(self, path: str | Path, device: str = "cpu", threads: int | None = None, **options):
        self.path = Path(path)
        self.device = device
        self.threads = threads
        self.options = options
        self.input_name = options.pop("input_name", "input")

    def __enter__(self) -> "Runner":
        self._load()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @abc.abstractmethod
    def _load(self) -> None:
        """Open the artifact (session, compiled model, engine)."""

    @abc.abstractmethod
    def infer(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Run one batch; return the outputs as numpy arrays, logits first."""

    def close(self) -> None:
        pass

    def describe(self) -> dict:
        """Facts for reports (execution provider, inference precision, threads...)."""
        return {"backend": self.name, "device": self.device, "threads": self.threads}


def runner_class(backend: str) -> type[Runner]:
    if backend not in BACKENDS:
        raise SeedgeError(f"unknown backend '{backend}'; choose from {', '.join(BACKENDS)}")
    module, cls = BACKENDS[backend].split(":")
    return getattr(importlib.import_module(module), cls)
