"""ONNX Runtime: the CPU execution provider, or CUDA (TensorRT on request) for device "cuda".

Session options are explicit: all graph optimizations on, intra-op threads pinned when
`threads` is given. ONNX Runtime silently falls back to the CPU when a GPU provider fails
to load; this runner checks which providers the session really got and refuses the
fallback, so a "cuda" result is never a CPU result in disguise.
"""

from __future__ import annotations

import numpy as np

from seedge.backends.base import Runner
from seedge.errors import SeedgeError, Unavailable, message_line

_GPU_PROVIDERS = ("CUDAExecutionProvider",)


class OnnxRuntimeRunner(Runner):
    """Options: `tensorrt_ep` (default False): put ONNX Runtime's TensorRT provider first on
    device "cuda" when this build has it. It is opt-in because that provider builds an
    engine every time a session opens (minutes on large models), and seedge's own
    TensorRT backend already covers TensorRT engines.
    `allow_spinning` (default True): idle intra-op workers busy-wait for the next op instead
    of sleeping; 11% faster for ONNX Runtime alone (benchmarks/README.md, settings sweep).
    Callers that time several runtimes in turn in one process pass False: spinning workers
    would take the cores the next runtime is being timed on."""

    name = "onnxruntime"
    devices = ("cpu", "cuda")

    def _providers(self, available: list[str]) -> list[str]:
        if self.device == "cpu":
            return ["CPUExecutionProvider"]
        if not self.device.startswith("cuda"):
            raise SeedgeError(f"unknown device '{self.device}'; use cpu or cuda")
        wanted = (["TensorrtExecutionProvider"] if self.options.get("tensorrt_ep") else []) + list(_GPU_PROVIDERS)
        gpu = [p for p in wanted if p in available]
        if not gpu:
            raise Unavailable(f"device '{self.device}' requested but this onnxruntime has no GPU execution "
                              f"provider (has: {', '.join(available)}); install onnxruntime-gpu or use --device cpu")
        return gpu + ["CPUExecutionProvider"]

    @property
    def allow_spinning(self) -> bool:
        return bool(self.options.get("allow_spinning", True))

    def _load(self) -> None:
        try:
            import onnxruntime as ort
        except ImportError as e:  # a core dependency: a broken install, not a missing extra
            raise SeedgeError(f"onnxruntime is not importable ({e}); reinstall seedge") from None

        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.threads:
            so.intra_op_num_threads = int(self.threads)
        so.log_severity_level = 3  # errors only: keep stdout/stderr clean for --json
        if not self.allow_spinning:
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = self._providers(ort.get_available_providers())
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=so, providers=providers)
        except Exception as e:  # noqa: BLE001 - ORT raises its own exception types
            msg = message_line(e)
            raise SeedgeError(f"{self.path}: ONNX Runtime cannot load this model ({msg[:200]}); "
                              f"re-run `seedge export`") from None
        got = self.session.get_providers()
        if self.device != "cpu" and not any(p in got for p in providers[:-1]):
            raise Unavailable(f"{self.path}: ONNX Runtime fell back to {', '.join(got)} instead of "
                              f"{providers[0]} (GPU libraries missing?); use --device cpu")
        self._inputs = [i.name for i in self.session.get_inputs()]
        self._outputs = [o.name for o in self.session.get_outputs()]

    def infer(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        x = np.ascontiguousarray(feed[self.input_name], dtype=np.float32)
        # The runner's input name is the manifest's; the graph's first input is the image.
        return self.session.run(self._outputs, {self._inputs[0]: x})

    def close(self) -> None:
        self.session = None

    def describe(self) -> dict:
        d = super().describe()
        session = getattr(self, "session", None)
        d["providers"] = session.get_providers() if session is not None else None
        d["allow_spinning"] = self.allow_spinning
        return d
