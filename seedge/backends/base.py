"""Runners (Polygraphy's habit): one per backend, a context manager with `infer(feed)`.

`feed` maps input names to float32 NCHW numpy arrays; `infer` returns a list of numpy
outputs (logits first). Backends are looked up by name in the backend table
(`seedge.backends.table.BACKENDS`) and imported only when used, so a missing optional backend
never breaks `seedge --help` or the runtime. verify, bench, the export's candidate timing and
the device runtime all run artifacts through these runners: one set of settings per artifact.
"""

from __future__ import annotations

import abc
import importlib
from pathlib import Path

import numpy as np

from seedge.backends.table import backend
from seedge.hostcpu import default_threads


class Runner(abc.ABC):
    """Base class. Subclasses implement `_load()` and `infer()`; `close()` frees resources."""

    name = "base"

    def __init__(self, path: str | Path, device: str = "cpu", threads: int | None = None, **options):
        self.path = Path(path)
        self.device = device
        # Always an explicit count (default: the CPUs this process may use), never the library's
        # own choice, so the same artifact runs alike in verify, bench and the runtime.
        self.threads = int(threads) if threads else default_threads()
        self.options = options
        self.input_name = options.pop("input_name", "input")

    def __enter__(self) -> Runner:
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

    def close(self) -> None:  # noqa: B027 - an optional hook: a runner holding nothing to free keeps it
        pass

    def declared_input_shape(self) -> list | None:
        """The opened artifact's own input shape as its file states it ([batch, ...], None for a
        dynamic dimension), for seedge.verify.shapes to hold against the manifest; None where the
        format states none."""
        return None

    def declared_output_shape(self) -> list | None:
        """The same for its first output (the logits): [batch, classes] where the file states it."""
        return None

    def describe(self) -> dict:
        """Facts for reports (execution provider, inference precision, threads...)."""
        return {"backend": self.name, "device": self.device, "threads": self.threads}


def as_input(x) -> np.ndarray:
    """A feed array as runners pass it on: contiguous float32, except uint8 pixels, which an
    artifact with the preprocessing inside takes as they are (seedge.preprocess.pixels)."""
    x = np.asarray(x)
    return np.ascontiguousarray(x, dtype=np.uint8 if x.dtype == np.uint8 else np.float32)


def runner_class(name: str) -> type[Runner]:
    module, cls = backend(name).runner.split(":")
    return getattr(importlib.import_module(module), cls)
