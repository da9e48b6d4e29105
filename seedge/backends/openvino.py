"""OpenVINO IR (`openvino/*.xml` + `.bin`) on the CPU plugin.

The CPU plugin chooses its own inference precision: on CPUs with AVX512-BF16 or AMX it
runs FP32 models in bf16 unless told otherwise, which is not FP32 parity. The runner
passes the precision the artifact was built for (`inference_precision`, e.g. "f32"),
then reads back what the compiled model really uses and reports it in `describe()`, so
verify and bench show the precision that ran instead of the one the file name suggests.

seedge's IRs keep a dynamic batch dimension, but the CPU plugin picks its kernels and
memory plan per shape: a dynamic-shape compile runs SE-ResNet-50 INT8 at batch 1 7-10%
slower than a static one (benchmarks/README.md, settings sweep). `ShapeCompiledModels`
therefore compiles a static copy for each input shape it is given (a few at most; beyond
that, the dynamic compile serves). The runtime (seedge.runtime) uses it too.

Threads: each shape has one infer request, reused (creating one per call costs more than a
small model's inference), so `OpenVINORunner.infer` runs one call at a time under a lock: two
threads on one request would overwrite each other's input and read each other's outputs.
With the LATENCY hint one request already runs on every inference thread, so serializing
costs little throughput (tests/runtime/test_threads.py).
"""

from __future__ import annotations

import threading

import numpy as np

from seedge.backends.base import Runner, as_input
from seedge.errors import MissingBackend, SeedgeError, Unavailable, message_line


def static_copy(model, shape):
    """A copy of an OpenVINO model with its (single) input fixed to `shape`."""
    model = model.clone()
    model.reshape(list(shape))
    return model


def _declared(shape) -> list | None:
    """An OpenVINO partial shape as a list, None for each dynamic dimension (None: dynamic rank)."""
    return None if shape.rank.is_dynamic else [d.get_length() if d.is_static else None for d in shape]


class ShapeCompiledModels:
    """One OpenVINO model compiled per static input shape, with the dynamic compile as fallback."""

    MAX_STATIC_SHAPES = 4  # each compile costs memory and ~a second for a ResNet-50

    def __init__(self, core, model, config: dict, static_shapes: bool = True):
        self.core, self.model, self.config = core, model, dict(config)
        self.static_shapes = static_shapes and len(model.inputs) == 1
        self.dynamic = core.compile_model(model, "CPU", self.config)  # raises here if it cannot compile
        self._dynamic_request = None
        self._by_shape: dict[tuple, tuple] = {}  # shape -> (compiled model, infer request)

    def request(self, shape: tuple):
        """An infer request for input `shape`; compiled for exactly that shape where possible."""
        hit = self._by_shape.get(shape)
        if hit is not None:
            return hit[1]
        if self.static_shapes and len(self._by_shape) < self.MAX_STATIC_SHAPES:
            compiled = self._compile_static(shape)
            if compiled is not None:
                self._by_shape[shape] = (compiled, compiled.create_infer_request())
                return self._by_shape[shape][1]
        if self._dynamic_request is None:
            # One request, reused: creating a request per call costs more than a small model's inference.
            self._dynamic_request = self.dynamic.create_infer_request()
        return self._dynamic_request

    def _compile_static(self, shape: tuple):
        try:
            return self.core.compile_model(static_copy(self.model, shape), "CPU", self.config)
        except Exception:  # noqa: BLE001 - a shape the IR cannot take: the dynamic compile answers (or says why)
            return None

    def infer(self, x: np.ndarray):
        """Run `x`; returns the request, whose output tensors hold the results until its next call."""
        request = self.request(tuple(x.shape))
        request.infer({0: x})
        return request

    def static_shapes_compiled(self) -> list[list[int]]:
        return [list(s) for s in self._by_shape]

    def close(self) -> None:
        self._by_shape.clear()
        self._dynamic_request = self.dynamic = self.model = None


class OpenVINORunner(Runner):
    """Options: `inference_precision` ("f32", "bf16", "f16"; None: the plugin's default),
    `static_shapes` (default True: compile per input shape, see ShapeCompiledModels)."""

    name = "openvino"
    devices = ("cpu",)
    models: ShapeCompiledModels | None = None  # compiled by _load, dropped by close

    def _load(self) -> None:
        try:
            import openvino as ov
        except ImportError as e:
            raise MissingBackend("openvino", "openvino", str(e)) from None
        if self.device != "cpu":
            raise Unavailable(f"the openvino backend runs on the CPU here, not on '{self.device}'; use --device cpu")
        self.requested_precision = self.options.get("inference_precision")
        config: dict[str, str | int] = {"PERFORMANCE_HINT": "LATENCY"}
        if self.threads:
            config["INFERENCE_NUM_THREADS"] = int(self.threads)
        if self.requested_precision:
            config["INFERENCE_PRECISION_HINT"] = str(self.requested_precision)
        core = ov.Core()
        self._lock = threading.Lock()  # one call at a time: see the module docstring
        # An IR is read with its weights named, so only the IR reader tries it: a broken .xml then
        # says what is wrong instead of every frontend (TensorFlow's too) printing its own failure.
        weights = self.path.with_suffix(".bin")
        read_args = (
            (str(self.path), str(weights)) if self.path.suffix == ".xml" and weights.is_file() else (str(self.path),)
        )
        try:
            self.models = ShapeCompiledModels(
                core, core.read_model(*read_args), config, static_shapes=bool(self.options.get("static_shapes", True))
            )
        except Exception as e:  # noqa: BLE001 - OpenVINO raises RuntimeError with long messages
            msg = message_line(e)
            raise SeedgeError(
                f"{self.path}: OpenVINO cannot compile this model ({msg[:200]}); re-run `seedge export`"
            ) from None
        compiled = self.models.dynamic
        self.inference_precision = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        self.num_threads = int(compiled.get_property("INFERENCE_NUM_THREADS"))
        self.num_outputs = len(compiled.outputs)

    def infer(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        if self.models is None:
            raise RuntimeError("OpenVINORunner used outside its `with` block")
        x = as_input(feed[self.input_name])
        with self._lock:  # the shape's request (and the first compile of a shape) is shared
            request = self.models.infer(x)
            # The request owns its output buffers and reuses them on the next call: copy.
            return [np.array(request.get_output_tensor(i).data, copy=True) for i in range(self.num_outputs)]

    def close(self) -> None:
        if self.models is not None:
            self.models.close()
        self.models = None

    def declared_input_shape(self) -> list | None:
        if self.models is None or len(self.models.model.inputs) != 1:
            return None
        return _declared(self.models.model.inputs[0].get_partial_shape())

    def declared_output_shape(self) -> list | None:
        if self.models is None or not self.models.model.outputs:
            return None
        return _declared(self.models.model.outputs[0].get_partial_shape())

    def describe(self) -> dict:
        d = super().describe()
        d["inference_precision"] = getattr(self, "inference_precision", None)
        d["requested_precision"] = getattr(self, "requested_precision", None)
        d["threads_used"] = getattr(self, "num_threads", None)
        d["static_shapes"] = self.models.static_shapes_compiled() if self.models is not None else None
        return d
