"""ONNX Runtime: the CPU execution provider, or CUDA (TensorRT on request) for device "cuda".

Session options are explicit: all graph optimizations on, intra-op threads pinned when
`threads` is given. ONNX Runtime silently falls back to the CPU when a GPU provider fails
to load; this runner checks which providers the session really got and refuses the
fallback, so a "cuda" result is never a CPU result in disguise.

The GPU providers come with the `onnxruntime-gpu` package (`pip install 'seedge[onnxruntime-gpu]'`),
which installs the same `onnxruntime` module as the CPU package: only one of the two may be
installed (pyproject.toml, README "ONNX Runtime on a GPU").
"""

from __future__ import annotations

import numpy as np

from seedge.backends.base import Runner, as_input
from seedge.errors import SeedgeError, Unavailable, message_line, unknown

_GPU_PROVIDERS = ("CUDAExecutionProvider",)
_TENSORRT_PROVIDER = "TensorrtExecutionProvider"


def check_providers(path, asked: list[str], got: list[str]) -> None:
    """Refuse a session that is not running the providers it was asked for.

    ONNX Runtime drops a provider whose libraries fail to load (CUDA, cuDNN, TensorRT) and
    carries on with the rest, down to the CPU, printing at most a warning. Every asked-for GPU
    provider must be in the session's list; the CPU provider is always asked last, for the few
    ops a GPU provider does not take."""
    missing = [p for p in asked if p != "CPUExecutionProvider" and p not in got]
    if missing:
        raise Unavailable(
            f"{path}: ONNX Runtime was asked for {', '.join(missing)} but the session runs on "
            f"{', '.join(got) or 'nothing'} (GPU libraries missing or not loadable: CUDA, cuDNN"
            f"{', TensorRT' if _TENSORRT_PROVIDER in missing else ''}); fix the install or use "
            f"--device cpu"
        )


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
            raise unknown("device", self.device, self.devices)
        wanted = ([_TENSORRT_PROVIDER] if self.options.get("tensorrt_ep") else []) + list(_GPU_PROVIDERS)
        absent = [p for p in wanted if p not in available]
        if absent:
            raise Unavailable(
                f"device '{self.device}' requested but this onnxruntime ({self._package()}) has no "
                f"{', '.join(absent)} (has: {', '.join(available)}); install it with `pip install "
                f"'seedge[onnxruntime-gpu]'` in place of onnxruntime, or use --device cpu"
            )
        return wanted + ["CPUExecutionProvider"]

    def _provider_options(self, providers: list[str]) -> list[dict]:
        """cuda:N runs on GPU N; everything else keeps ONNX Runtime's defaults."""
        index = self.device.partition(":")[2]
        return [{"device_id": int(index)} if index.isdigit() and p != "CPUExecutionProvider" else {} for p in providers]

    @staticmethod
    def _package() -> str:
        """Which distribution provides `onnxruntime` here (the CPU and GPU packages share the module)."""
        from importlib import metadata

        for dist in ("onnxruntime-gpu", "onnxruntime"):
            try:
                return f"{dist} {metadata.version(dist)}"
            except metadata.PackageNotFoundError:
                continue
        return "unknown package"

    @property
    def allow_spinning(self) -> bool:
        return bool(self.options.get("allow_spinning", True))

    def _load(self) -> None:
        try:
            import onnxruntime as ort
        except ModuleNotFoundError:  # a device install may hold only openvino: the runtime moves on
            raise Unavailable("onnxruntime is not installed here: pip install onnxruntime") from None
        except ImportError as e:  # installed but broken
            raise SeedgeError(
                f"onnxruntime is not importable ({e}); pip install --force-reinstall onnxruntime"
            ) from None

        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.threads:
            so.intra_op_num_threads = int(self.threads)
        so.log_severity_level = 3  # errors only: keep stdout/stderr clean for --json
        if not self.allow_spinning:
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = self._providers(ort.get_available_providers())
        try:
            self.session = ort.InferenceSession(
                str(self.path), sess_options=so, providers=providers, provider_options=self._provider_options(providers)
            )
        except Exception as e:  # noqa: BLE001 - ORT raises its own exception types
            msg = message_line(e)
            raise SeedgeError(
                f"{self.path}: ONNX Runtime cannot load this model ({msg[:200]}); re-run `seedge export`"
            ) from None
        check_providers(self.path, providers, self.session.get_providers())
        self._inputs = [i.name for i in self.session.get_inputs()]
        self._outputs = [o.name for o in self.session.get_outputs()]

    def infer(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        x = as_input(feed[self.input_name])
        # The runner's input name is the manifest's; the graph's first input is the image.
        return self.session.run(self._outputs, {self._inputs[0]: x})

    def close(self) -> None:
        self.session = None

    def declared_input_shape(self) -> list | None:
        return self._declared(self.session.get_inputs() if self.session is not None else [])

    def declared_output_shape(self) -> list | None:
        return self._declared(self.session.get_outputs() if self.session is not None else [])

    @staticmethod
    def _declared(args) -> list | None:
        shape = args[0].shape if args else None
        return [d if isinstance(d, int) else None for d in shape] if shape is not None else None

    def describe(self) -> dict:
        d = super().describe()
        session = getattr(self, "session", None)
        d["providers"] = session.get_providers() if session is not None else None
        # the provider that runs the graph (the CPU one only takes what the first one cannot)
        d["execution_provider"] = d["providers"][0] if d["providers"] else None
        d["allow_spinning"] = self.allow_spinning
        return d
