"""OpenVINO IR (`openvino/*.xml` + `.bin`) on the CPU plugin.

The CPU plugin chooses its own inference precision: on CPUs with AVX512-BF16 or AMX it
runs FP32 models in bf16 unless told otherwise, which is not FP32 parity. The runner
passes the precision the artifact was built for (`inference_precision`, e.g. "f32"),
then reads back what the compiled model really uses and reports it in `describe()`, so
verify and bench show the precision that ran instead of the one the file name suggests.
"""

from __future__ import annotations

import numpy as np

from seedge.backends.base import Runner
from seedge.errors import MissingBackend, SeedgeError


class OpenVINORunner(Runner):
    """Options: `inference_precision` ("f32", "bf16", "f16"; None: the plugin's default)."""

    name = "openvino"
    devices = ("cpu",)

    def _load(self) -> None:
        try:
            import openvino as ov
        except ImportError as e:
            raise MissingBackend("openvino", "openvino", str(e)) from None
        if self.device != "cpu":
            raise SeedgeError(f"the openvino backend runs on the CPU here, not on '{self.device}'; use --device cpu")
        self.requested_precision = self.options.get("inference_precision")
        config = {"PERFORMANCE_HINT": "LATENCY"}
        if self.threads:
            config["INFERENCE_NUM_THREADS"] = int(self.threads)
        if self.requested_precision:
            config["INFERENCE_PRECISION_HINT"] = str(self.requested_precision)
        core = ov.Core()
        try:
            self.compiled = core.compile_model(core.read_model(str(self.path)), "CPU", config)
        except Exception as e:  # noqa: BLE001 - OpenVINO raises RuntimeError with long messages
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise SeedgeError(f"{self.path}: OpenVINO cannot compile this model ({msg[:200]}); "
                              f"re-run `seedge export`") from None
        self.inference_precision = self.compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        self.num_threads = int(self.compiled.get_property("INFERENCE_NUM_THREADS"))
        # One request, reused: creating a request per call costs more than a small model's inference.
        self.request = self.compiled.create_infer_request()

    def infer(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        x = np.ascontiguousarray(feed[self.input_name], dtype=np.float32)
        self.request.infer({0: x})
        # The request owns its output buffers and reuses them on the next call: copy.
        return [np.array(self.request.get_output_tensor(i).data, copy=True)
                for i in range(len(self.compiled.outputs))]

    def close(self) -> None:
        self.request = None
        self.compiled = None

    def describe(self) -> dict:
        d = super().describe()
        d["inference_precision"] = getattr(self, "inference_precision", None)
        d["requested_precision"] = getattr(self, "requested_precision", None)
        d["threads_used"] = getattr(self, "num_threads", None)
        return d
