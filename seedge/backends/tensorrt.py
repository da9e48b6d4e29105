"""TensorRT runner: deserialize a `.plan` and run it with `execute_async_v3`.

This module is torch-free on purpose, so the device runtime (`seedge.runtime`) reuses it:
device memory and streams come from cuda-python (`cuda.bindings.runtime`), and only where
that is missing from torch's CUDA allocator. Every TensorRT call used here exists in both
TensorRT 10 and 11 (named I/O tensors, `set_input_shape`, `set_tensor_address`,
`execute_async_v3`); TensorRT objects are not used as context managers (deprecated in 11).

An engine is tied to the GPU architecture and the TensorRT version that built it. The builder
writes its build facts (TensorRT version, GPU, compute capability, precision, batch profile,
the engine's sha256) into the manifest and into a facts file beside the engine
(`model.fp32.facts.json` for `model.fp32.plan`); the runner checks them against this machine
before deserializing (`check_build_facts`) and says "rebuild" in one line on a mismatch, instead
of TensorRT's deserialization error or, worse, an engine that runs on facts that are not true.

`cuda_graph=True` captures each input shape's execute_async_v3 in a CUDA graph on first use and
replays it after (less launch overhead at small batches); the copies stay outside the graph.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from seedge.backends.base import Runner
from seedge.errors import MissingBackend, SeedgeError, message_line

if TYPE_CHECKING:  # annotations only: this module stays torch-free at run time
    import torch

MIN_TENSORRT_MAJOR = 10
# Build facts (manifest artifact["build"]) the runner checks against this machine; pass them as
# `build={...}` or as individual options of these names.
BUILD_FACT_KEYS = ("tensorrt_version", "compute_capability", "gpu")
FACTS_SUFFIX = ".facts.json"


def facts_path(plan: str | Path) -> Path:
    """The build-facts file beside an engine: tensorrt/model.fp32.plan -> tensorrt/model.fp32.facts.json."""
    plan = Path(plan)
    return plan.with_name(plan.stem + FACTS_SUFFIX)


def read_facts_file(plan: str | Path) -> dict | None:
    """The facts file beside `plan`, or None where there is none (an engine built before facts files)."""
    path = facts_path(plan)
    if not path.is_file():
        return None
    try:
        facts = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SeedgeError(
            f"{path}: unreadable build facts ({message_line(e)[:200]}); rebuild the engine with "
            f"`seedge export --formats tensorrt`"
        ) from None
    if not isinstance(facts, dict):
        raise SeedgeError(
            f"{path}: build facts must be a JSON object; rebuild the engine with `seedge export --formats tensorrt`"
        )
    return facts


def _same_release(a, b) -> bool:
    """TensorRT engines load only in the release that built them (major.minor.patch)."""
    return str(a).split(".")[:3] == str(b).split(".")[:3]


def check_build_facts(plan: str | Path, facts: dict, here: dict, engine: bytes | None = None) -> None:
    """Raise one SeedgeError line saying "rebuild" when the engine at `plan`, built as `facts` say,
    cannot run as built on this machine (`here`: tensorrt_version, gpu, compute_capability):
    another compute capability or TensorRT release, or engine bytes that are not the ones the
    facts were written for (`engine`, checked against facts["engine_sha256"] where both exist).
    Facts that are absent are not checked."""
    rebuild = "rebuild it here with `seedge export --formats tensorrt`"
    built_cc, built_v = facts.get("compute_capability"), facts.get("tensorrt_version")
    if built_cc and str(built_cc) != str(here.get("compute_capability")):
        raise SeedgeError(
            f"{plan}: engine was built for compute capability {built_cc} ({facts.get('gpu', '?')}) "
            f"but this GPU is {here.get('compute_capability')} ({here.get('gpu', '?')}); {rebuild}"
        )
    if built_v and not _same_release(built_v, here.get("tensorrt_version")):
        raise SeedgeError(
            f"{plan}: engine was built with TensorRT {built_v} but this machine has "
            f"{here.get('tensorrt_version')}; {rebuild}"
        )
    want = facts.get("engine_sha256")
    if want and engine is not None and hashlib.sha256(engine).hexdigest() != want:
        raise SeedgeError(
            f"{plan}: engine bytes are not the ones its build facts describe (sha256 differs from "
            f"{facts_path(plan).name}); {rebuild}"
        )


def merged_facts(plan: str | Path, build: dict | None) -> dict:
    """The build facts to check: the manifest's (`build`) and the facts file's, which must agree
    about the engine itself (a facts file left over from another build means a stale engine); where
    they differ on the machine it was built for, the manifest's word is checked against this machine."""
    build = dict(build or {})
    on_disk = read_facts_file(plan) or {}
    for key in ("precision", "profile", "engine_sha256"):
        if key in build and key in on_disk and build[key] != on_disk[key]:
            raise SeedgeError(
                f"{plan}: the manifest says {key} {build[key]!r} but {facts_path(plan).name} says "
                f"{on_disk[key]!r}; rebuild it with `seedge export --formats tensorrt`"
            )
    return {**on_disk, **build}


def import_tensorrt():
    """`import tensorrt`, or MissingBackend naming why (package missing, or its libraries missing).

    The PyPI bindings import fine only when libnvinfer & co. are found; without them the import
    raises ImportError/OSError mentioning the missing .so, which is what the user needs to see.
    """
    try:
        import tensorrt as trt
    except (ImportError, OSError) as e:
        raise MissingBackend(
            "tensorrt", "tensorrt", f"import tensorrt failed: {message_line(e)}", needs="an NVIDIA GPU with its driver"
        ) from None
    major = _major(getattr(trt, "__version__", "0"))
    if major < MIN_TENSORRT_MAJOR:
        raise MissingBackend(
            "tensorrt",
            "tensorrt",
            f"TensorRT {trt.__version__} is older than {MIN_TENSORRT_MAJOR}; seedge needs "
            f"named I/O tensors and execute_async_v3",
        )
    return trt


def _major(version: str) -> int:
    m = re.match(r"(\d+)", str(version))
    return int(m.group(1)) if m else 0


def device_index(device: str) -> int:
    """'cuda' -> 0, 'cuda:1' -> 1; anything else is not a TensorRT device."""
    m = re.fullmatch(r"cuda(?::(\d+))?", str(device).strip().lower())
    if not m:
        raise SeedgeError(
            f"TensorRT runs on a CUDA GPU, not on '{device}'; pass device='cuda' "
            f"(or choose an ONNX Runtime / OpenVINO artifact for the CPU)"
        )
    return int(m.group(1) or 0)


# --------------------------------------------------------------------------- CUDA memory


@dataclass
class DeviceBuffer:
    ptr: int
    nbytes: int
    keep: Any = None  # the owning object where the allocator needs one kept alive (torch)


class CudaDevice(ABC):
    """The handful of CUDA runtime calls TensorRT needs: device facts, a stream, malloc, copies."""

    provider = "none"

    @staticmethod
    def open(index: int = 0) -> CudaDevice:
        """cuda-python if importable (torch-free), else torch; SeedgeError if no GPU is usable."""
        try:
            return _CudaPythonDevice(index)
        except ImportError:
            pass
        try:
            return _TorchCudaDevice(index)
        except ImportError:
            raise MissingBackend(
                "tensorrt", "tensorrt", "device memory needs cuda-python (`pip install cuda-python`) or torch with CUDA"
            ) from None

    # Subclasses implement these.
    @abstractmethod
    def info(self) -> dict: ...
    @abstractmethod
    def alloc(self, nbytes: int) -> DeviceBuffer: ...
    @abstractmethod
    def free(self, buf: DeviceBuffer) -> None: ...
    @abstractmethod
    def h2d(self, buf: DeviceBuffer, host: np.ndarray) -> None: ...
    @abstractmethod
    def d2h(self, host: np.ndarray, buf: DeviceBuffer) -> None: ...
    @abstractmethod
    def synchronize(self) -> None: ...
    @abstractmethod
    def close(self) -> None: ...

    @property
    @abstractmethod
    def stream_handle(self) -> int: ...

    # CUDA graphs: capture the work queued on the stream between begin and end, replay it.
    @abstractmethod
    def begin_capture(self) -> None: ...
    @abstractmethod
    def end_capture(self) -> Any: ...
    @abstractmethod
    def launch(self, graph: Any) -> None: ...
    @abstractmethod
    def destroy_graph(self, graph: Any) -> None: ...


class _CudaPythonDevice(CudaDevice):
    provider = "cuda-python"

    def __init__(self, index: int):
        try:
            from cuda.bindings import runtime as cudart  # cuda-python >= 12.8 / 13
        except ImportError:
            from cuda import cudart  # older cuda-python 12.x layout
        self._rt = cudart
        self.index = index
        count = self._call(cudart.cudaGetDeviceCount(), "cudaGetDeviceCount", user_error=True)
        if index >= count:
            raise SeedgeError(f"no CUDA device cuda:{index} (this machine has {count})")
        self._call(cudart.cudaSetDevice(index), "cudaSetDevice")
        self._stream = self._call(cudart.cudaStreamCreate(), "cudaStreamCreate")

    def _call(self, result, what: str, user_error: bool = False):
        err, rest = result[0], result[1:]
        if err != self._rt.cudaError_t.cudaSuccess:
            name = getattr(err, "name", str(err))
            try:
                text = self._rt.cudaGetErrorString(err)[1].decode()
            except Exception:  # noqa: BLE001 - the name alone is enough
                text = ""
            msg = f"{what} failed: {name} ({text})" if text else f"{what} failed: {name}"
            if user_error:
                raise SeedgeError(f"no usable CUDA device: {msg}; TensorRT needs an NVIDIA GPU and driver")
            raise RuntimeError(msg)
        return rest[0] if len(rest) == 1 else rest

    def info(self) -> dict:
        prop = self._call(self._rt.cudaGetDeviceProperties(self.index), "cudaGetDeviceProperties")
        name = prop.name.decode(errors="replace") if isinstance(prop.name, bytes) else str(prop.name)
        return {
            "gpu": name.rstrip("\x00").strip(),
            "compute_capability": f"{prop.major}.{prop.minor}",
            "gpu_memory_bytes": int(prop.totalGlobalMem),
            "cuda_memory": self.provider,
        }

    def alloc(self, nbytes: int) -> DeviceBuffer:
        ptr = self._call(self._rt.cudaMalloc(max(int(nbytes), 1)), "cudaMalloc")
        return DeviceBuffer(int(ptr), int(nbytes))

    def free(self, buf: DeviceBuffer) -> None:
        self._call(self._rt.cudaFree(buf.ptr), "cudaFree")

    def h2d(self, buf: DeviceBuffer, host: np.ndarray) -> None:
        kind = self._rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._call(
            self._rt.cudaMemcpyAsync(buf.ptr, host.ctypes.data, host.nbytes, kind, self._stream), "cudaMemcpyAsync(H2D)"
        )

    def d2h(self, host: np.ndarray, buf: DeviceBuffer) -> None:
        kind = self._rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        self._call(
            self._rt.cudaMemcpyAsync(host.ctypes.data, buf.ptr, host.nbytes, kind, self._stream), "cudaMemcpyAsync(D2H)"
        )

    def synchronize(self) -> None:
        self._call(self._rt.cudaStreamSynchronize(self._stream), "cudaStreamSynchronize")

    @property
    def stream_handle(self) -> int:
        return int(self._stream)

    def begin_capture(self) -> None:
        # thread-local: another thread's unrelated CUDA calls cannot break this capture
        mode = self._rt.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal
        self._call(self._rt.cudaStreamBeginCapture(self._stream, mode), "cudaStreamBeginCapture")

    def end_capture(self):
        graph = self._call(self._rt.cudaStreamEndCapture(self._stream), "cudaStreamEndCapture")
        try:
            exe = self._call(self._rt.cudaGraphInstantiate(graph, 0), "cudaGraphInstantiate")
        finally:
            self._rt.cudaGraphDestroy(graph)  # the instantiated graph no longer needs its template
        return exe

    def launch(self, graph) -> None:
        self._call(self._rt.cudaGraphLaunch(graph, self._stream), "cudaGraphLaunch")

    def destroy_graph(self, graph) -> None:
        self._rt.cudaGraphExecDestroy(graph)

    def close(self) -> None:
        if self._stream is not None:
            self._rt.cudaStreamDestroy(self._stream)
            self._stream = None


class _TorchCudaDevice(CudaDevice):
    """Fallback where cuda-python is missing; only reached when torch is importable."""

    provider = "torch"

    def __init__(self, index: int):
        import torch

        if not torch.cuda.is_available():
            raise SeedgeError(
                "no usable CUDA device: torch.cuda.is_available() is False; TensorRT needs an NVIDIA GPU and driver"
            )
        if index >= torch.cuda.device_count():
            raise SeedgeError(f"no CUDA device cuda:{index} (this machine has {torch.cuda.device_count()})")
        self._torch = torch
        self.index = index
        self._device = torch.device("cuda", index)
        torch.cuda.set_device(self._device)
        self._stream: torch.cuda.Stream | None = torch.cuda.Stream(device=self._device)

    @property
    def stream(self) -> torch.cuda.Stream:
        """The device's stream; close() drops it, and nothing calls in after close."""
        assert self._stream is not None, "CUDA device used after close()"
        return self._stream

    def info(self) -> dict:
        p = self._torch.cuda.get_device_properties(self._device)
        return {
            "gpu": p.name,
            "compute_capability": f"{p.major}.{p.minor}",
            "gpu_memory_bytes": int(p.total_memory),
            "cuda_memory": self.provider,
        }

    def alloc(self, nbytes: int) -> DeviceBuffer:
        t = self._torch.empty(max(int(nbytes), 1), dtype=self._torch.uint8, device=self._device)
        return DeviceBuffer(int(t.data_ptr()), int(nbytes), keep=t)

    def free(self, buf: DeviceBuffer) -> None:
        buf.keep = None

    def h2d(self, buf: DeviceBuffer, host: np.ndarray) -> None:
        src = self._torch.from_numpy(host.reshape(-1).view(np.uint8))
        with self._torch.cuda.stream(self.stream):
            buf.keep[: host.nbytes].copy_(src)

    def d2h(self, host: np.ndarray, buf: DeviceBuffer) -> None:
        dst = self._torch.from_numpy(host.reshape(-1).view(np.uint8))
        with self._torch.cuda.stream(self.stream):
            dst.copy_(buf.keep[: host.nbytes])

    def synchronize(self) -> None:
        self.stream.synchronize()

    @property
    def stream_handle(self) -> int:
        return int(self.stream.cuda_stream)

    def begin_capture(self) -> None:
        self._graph = self._torch.cuda.CUDAGraph()
        self._capture = self._torch.cuda.graph(self._graph, stream=self.stream)
        self._capture.__enter__()

    def end_capture(self):
        capture, graph = self._capture, self._graph
        self._capture = self._graph = None
        capture.__exit__(None, None, None)
        return graph

    def launch(self, graph) -> None:
        with self._torch.cuda.stream(self.stream):
            graph.replay()

    def destroy_graph(self, graph) -> None:
        graph.reset()

    def close(self) -> None:
        self._stream = None


def availability(device: str = "cuda") -> tuple[bool, str]:
    """(True, "") where TensorRT imports with its libraries and a CUDA GPU is usable, else (False, why)."""
    try:
        index = device_index(device)
        import_tensorrt()
        CudaDevice.open(index).close()
    except SeedgeError as e:
        return False, str(e)
    return True, ""


# --------------------------------------------------------------------------- runner


class TensorRTRunner(Runner):
    """Runs a serialized engine. Options: `build` (the manifest's build facts) or the keys of
    BUILD_FACT_KEYS, checked with the facts file beside the engine against this machine before
    deserializing; `cuda_graph` (default False): replay each input shape's inference as a CUDA
    graph. Batches larger than the engine's profile maximum are run in chunks; inputs are cast to
    the engine's input dtype, outputs returned as float32."""

    name = "tensorrt"
    devices = ("cuda",)  # verify/bench run TensorRT artifacts on the GPU even in a CPU-default run

    def __init__(self, path, device: str = "cuda", threads: int | None = None, **options):
        super().__init__(path, device=device, threads=threads, **options)
        self._cuda: CudaDevice | None = None
        self._buffers: dict[str, DeviceBuffer] = {}
        # TensorRT objects (typed Any: tensorrt ships no stubs), set by _open, released by close.
        self._engine: Any = None
        self._context: Any = None
        self._runtime: Any = None
        self._graphs: dict[tuple, Any] = {}  # input shape -> instantiated CUDA graph (cuda_graph=True)

    @property
    def cuda_graph(self) -> bool:
        return bool(self.options.get("cuda_graph", False))

    def _load(self) -> None:
        try:
            self._open()
        except BaseException:
            self.close()  # `with` does not call __exit__ when __enter__ raises: free what was taken
            raise

    def _open(self) -> None:
        index = device_index(self.device)
        if not self.path.is_file():
            raise SeedgeError(f"{self.path}: engine file not found; build it with `seedge export --formats tensorrt`")
        trt = import_tensorrt()
        self._trt = trt
        self._cuda = CudaDevice.open(index)
        self._here = {"tensorrt_version": trt.__version__, **self._cuda.info()}
        build = self.options.get("build") or {k: self.options[k] for k in BUILD_FACT_KEYS if k in self.options}
        self._facts = merged_facts(self.path, build)
        data = self.path.read_bytes()
        check_build_facts(self.path, self._facts, self._here, data)
        self._logger = CollectingLogger.create(trt)
        self._runtime = trt.Runtime(self._logger)
        # Whether the plan may run at all is seedge.trust's (open_artifact); even a trusted one never
        # runs host code embedded in it (plugin libraries, a lean runtime): seedge builds none.
        if hasattr(self._runtime, "engine_host_code_allowed"):
            self._runtime.engine_host_code_allowed = False
        engine = self._runtime.deserialize_cuda_engine(data)
        if engine is None:
            raise SeedgeError(
                f"{self.path}: TensorRT {trt.__version__} could not deserialize this engine "
                f"({self._logger.last_error() or 'no detail'}); rebuild it on this machine with "
                f"`seedge export --formats tensorrt`"
            )
        self._engine = engine
        self._context = engine.create_execution_context()
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        is_input = {n: engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names}
        self._inputs = [n for n in names if is_input[n]]
        self._outputs = [n for n in names if not is_input[n]]
        if len(self._inputs) != 1:
            raise SeedgeError(
                f"{self.path}: engine has {len(self._inputs)} inputs; seedge engines have one (the image batch)"
            )
        self._dtypes = {n: np.dtype(trt.nptype(engine.get_tensor_dtype(n))) for n in names}
        inp = self._inputs[0]
        lo, opt, hi = (
            (tuple(int(d) for d in s) for s in engine.get_tensor_profile_shape(inp, 0))
            if -1 in tuple(engine.get_tensor_shape(inp))
            else (tuple(engine.get_tensor_shape(inp)),) * 3
        )
        self._profile = {"min": list(lo), "opt": list(opt), "max": list(hi)}
        built = self._facts.get("profile") or {}
        if built.get("max") and list(built["max"]) != self._profile["max"]:
            raise SeedgeError(
                f"{self.path}: the engine's batch profile (max {self._profile['max']}) is not the one "
                f"its build facts record (max {built['max']}); rebuild it with "
                f"`seedge export --formats tensorrt`"
            )

    def infer(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        if self._context is None:
            raise RuntimeError("TensorRTRunner used outside its `with` block")
        x = feed[self.input_name] if self.input_name in feed else next(iter(feed.values()))
        x = np.ascontiguousarray(x, dtype=self._dtypes[self._inputs[0]])
        lo, hi = self._profile["min"], self._profile["max"]
        if x.ndim != len(hi) or list(x.shape[1:]) != hi[1:] or x.shape[0] < 1:
            raise SeedgeError(f"{self.path}: input shape {list(x.shape)} does not fit the engine (min {lo}, max {hi})")
        step = hi[0]
        if x.shape[0] < lo[0]:
            raise SeedgeError(f"{self.path}: batch {x.shape[0]} is below the engine's minimum {lo[0]}")
        chunks = [self._run(x[i : i + step]) for i in range(0, x.shape[0], step)]
        if len(chunks) == 1:
            return chunks[0]
        return [np.concatenate([c[k] for c in chunks]) for k in range(len(self._outputs))]

    @property
    def _gpu(self) -> CudaDevice:
        """The device _open opened; infer (which checks the `with` block) is its only way in."""
        assert self._cuda is not None, "TensorRTRunner used outside its `with` block"
        return self._cuda

    def _run(self, x: np.ndarray) -> list[np.ndarray]:
        ctx, cuda = self._context, self._gpu
        inp = self._inputs[0]
        if ctx.set_input_shape(inp, tuple(x.shape)) is False:
            raise SeedgeError(
                f"{self.path}: TensorRT rejected input shape {list(x.shape)} "
                f"(profile min {self._profile['min']}, max {self._profile['max']})"
            )
        ctx.set_tensor_address(inp, self._buffer(inp, x.nbytes).ptr)
        cuda.h2d(self._buffers[inp], x)
        hosts = []
        for name in self._outputs:
            host = np.empty(tuple(ctx.get_tensor_shape(name)), dtype=self._dtypes[name])
            ctx.set_tensor_address(name, self._buffer(name, host.nbytes).ptr)
            hosts.append(host)
        self._execute(tuple(x.shape))
        for name, host in zip(self._outputs, hosts, strict=True):
            cuda.d2h(host, self._buffers[name])
        cuda.synchronize()
        return [h.astype(np.float32, copy=False) for h in hosts]

    def _execute(self, shape: tuple) -> None:
        """Queue the inference on the stream: directly, or as this shape's CUDA graph."""
        ctx, cuda = self._context, self._gpu
        if not self.cuda_graph:
            if not ctx.execute_async_v3(cuda.stream_handle):
                raise RuntimeError(f"{self.path}: execute_async_v3 failed: {self._logger.last_error()}")
            return
        graph = self._graphs.get(shape)
        if graph is None:
            # One plain run first: TensorRT finishes shape-dependent setup outside the capture
            # (NVIDIA's CUDA-graph recipe for enqueueV3), then the capture records the kernels.
            if not ctx.execute_async_v3(cuda.stream_handle):
                raise RuntimeError(f"{self.path}: execute_async_v3 failed: {self._logger.last_error()}")
            cuda.begin_capture()
            ok = ctx.execute_async_v3(cuda.stream_handle)
            graph = cuda.end_capture()
            if not ok:
                cuda.destroy_graph(graph)
                raise RuntimeError(
                    f"{self.path}: execute_async_v3 failed while capturing a CUDA graph: {self._logger.last_error()}"
                )
            self._graphs[shape] = graph
        cuda.launch(graph)

    def _buffer(self, name: str, nbytes: int) -> DeviceBuffer:
        """Grow-only device buffer per tensor: steady-state calls allocate nothing."""
        buf = self._buffers.get(name)
        if buf is None or buf.nbytes < nbytes:
            if buf is not None:
                self._gpu.free(buf)
            buf = self._buffers[name] = self._gpu.alloc(nbytes)
            self._drop_graphs()  # captured graphs hold the old addresses
        return buf

    def _drop_graphs(self) -> None:
        for graph in self._graphs.values():
            self._gpu.destroy_graph(graph)
        self._graphs.clear()

    def close(self) -> None:
        if self._cuda is not None:
            if self._context is not None:
                self._cuda.synchronize()
            self._drop_graphs()
            for buf in self._buffers.values():
                self._cuda.free(buf)
            self._buffers.clear()
        # Release order matters: context before engine before runtime.
        self._context = None
        self._engine = None
        self._runtime = None
        if self._cuda is not None:
            self._cuda.close()
            self._cuda = None

    def describe(self) -> dict:
        d = super().describe()
        d["cuda_graph"] = self.cuda_graph
        if self._engine is not None:
            d.update(self._here)
            d["profile"] = self._profile
            d["io_dtypes"] = {n: str(t) for n, t in self._dtypes.items()}
            d["built_with"] = {
                k: self._facts.get(k)
                for k in ("tensorrt_version", "gpu", "compute_capability", "precision")
                if self._facts.get(k) is not None
            }
        return d


class CollectingLogger:
    """A trt.ILogger that keeps errors (for one-line messages) and drops info chatter."""

    @staticmethod
    def create(trt):
        class Logger(trt.ILogger):
            def __init__(self) -> None:
                trt.ILogger.__init__(self)
                self.errors: list[str] = []
                self.warnings: list[str] = []

            def log(self, severity, msg) -> None:
                if severity in (trt.ILogger.Severity.ERROR, trt.ILogger.Severity.INTERNAL_ERROR):
                    self.errors.append(str(msg).strip())
                elif severity == trt.ILogger.Severity.WARNING:
                    self.warnings.append(str(msg).strip())

            def last_error(self) -> str:
                return self.errors[-1].splitlines()[0][:300] if self.errors else ""

        return Logger()
