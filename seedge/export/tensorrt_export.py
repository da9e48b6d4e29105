"""Build a TensorRT engine (`.plan`) from an ONNX file whose graph carries the precision.

TensorRT 11 removed the FP16/INT8 builder flags and the INT8 calibrator: precision comes
from the graph of a strongly typed network. So seedge hands TensorRT the graph of the
precision it wants:

    fp32 -> model.onnx          fp16 -> model.fp16.onnx          int8 -> model.int8.onnx (Q/DQ)

Route "strongly_typed" (the default, TensorRT 10 and 11): STRONGLY_TYPED network flag, no
precision flags (the flag is required on 10.x and accepted-but-ignored on 11.x). Route
"flags" (TensorRT 10 only, where BuilderFlag.FP16/INT8 still exist): weak typing, FP16 or
INT8 builder flags on the given graph; INT8 still needs a Q/DQ graph (no calibrator).
FP32 builds clear TF32 so FP32 parity (max abs diff <= 1e-3) holds.

The engine bytes are written as TensorRT serialized them (no header, nothing prepended);
metadata goes into the manifest via the returned build facts, and into a facts file beside the
engine (seedge.backends.tensorrt.facts_path) that the runner checks before deserializing.

Timing cache: TensorRT times candidate kernels ("tactics") for every layer, most of a build's
minutes. The measurements are kept in `tensorrt/timing-<key>.cache` beside the engines, where
the key names the TensorRT release, the compute capability and the GPU model: the builds of one
export (fp32, fp16, int8) and the next export into the same folder reuse it, and a cache from
another GPU or TensorRT release is never used (its file name differs; TensorRT's own check,
ignore_mismatch=False, backs that up).

Batch profile: `parse_batch_profile("1,8,64")` -> min 1, opt 8, max 64, the profile the engine
is built for (TensorRT tunes for opt and runs any batch from min to max).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
import time
from pathlib import Path

from seedge.backends.tensorrt import (
    CollectingLogger,
    CudaDevice,
    device_index,
    facts_path,
    import_tensorrt,
)
from seedge.errors import SeedgeError
from seedge.fileio import atomic_write, sha256_file

ROUTES = ("auto", "strongly_typed", "flags")
_QDQ_OPS = {"QuantizeLinear", "DequantizeLinear"}
_ONNX_FILE_FOR = {"fp32": "model.onnx", "fp16": "model.fp16.onnx", "int8": "model.int8.onnx"}
PRECISIONS = tuple(_ONNX_FILE_FOR)  # an engine is built from the ONNX graph of its precision
DEFAULT_PROFILE = (1, 8, 32)  # min, opt, max batch
# seedge.publishing.staging builds an export in OUT/.staging-NAME-xxxxxxxx beside OUT/NAME
_STAGING = re.compile(r"\.staging-(?P<name>.+)-[0-9a-f]{8}")


def parse_batch_profile(batches) -> tuple[int, int, int]:
    """The (min, opt, max) batch profile for the batch sizes asked for: "8" -> (8, 8, 8);
    "1,8,64" -> (1, 8, 64); any list -> its smallest, middle (upper middle of an even count) and
    largest, so "1,8,64,256" -> (1, 64, 256). A SeedgeError names anything else."""
    parts = str(batches).split(",") if isinstance(batches, str) else list(batches)
    try:
        sizes = sorted({int(str(p).strip()) for p in parts if str(p).strip()})
    except ValueError:
        sizes = []
    if not sizes or sizes[0] < 1:
        raise SeedgeError(f"TensorRT batch profile {batches!r}: give positive batch sizes, e.g. 1,8,64 (min, opt, max)")
    return sizes[0], sizes[len(sizes) // 2], sizes[-1]


def timing_cache_key(tensorrt_version: str, gpu: str, compute_capability: str) -> str:
    """What a timing cache is valid for: e.g. trt10.13.3.9-sm90-nvidia-h200."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(gpu).lower()).strip("-") or "gpu"
    version = re.sub(r"[^0-9A-Za-z.]+", "-", str(tensorrt_version))
    return f"trt{version}-sm{str(compute_capability).replace('.', '')}-{slug}"


def timing_cache_file(plan_path: str | Path, key: str) -> Path:
    """Where the builds of `plan_path`'s folder keep the timing cache for `key`."""
    return Path(plan_path).parent / f"timing-{key}.cache"


def timing_cache_sources(plan_path: str | Path, key: str) -> list[Path]:
    """Where an earlier cache for `key` may be, newest first: this build's folder (an earlier
    precision of the same export), then the published export this staging folder will replace."""
    here = timing_cache_file(plan_path, key)
    sources = [here]
    stage = here.parent.parent
    m = _STAGING.fullmatch(stage.name)
    if m:
        sources.append(stage.parent / m.group("name") / here.parent.name / here.name)
    return sources


def onnx_graph_facts(onnx_path: str | Path) -> dict:
    """Which precision an ONNX graph carries: 'int8' (Q/DQ nodes), 'fp16' (FLOAT16 tensors) or 'fp32';
    plus its input name and shape (dynamic dims as -1)."""
    import onnx

    path = Path(onnx_path)
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - protobuf raises several types
        raise SeedgeError(f"{path}: not a readable ONNX model ({str(e).splitlines()[0][:200]})") from None
    g = proto.graph
    f16 = onnx.TensorProto.FLOAT16
    qdq = sum(n.op_type in _QDQ_OPS for n in g.node)
    fp16_tensors = sum(t.data_type == f16 for t in g.initializer)
    fp16_tensors += sum(vi.type.tensor_type.elem_type == f16 for vi in list(g.value_info) + list(g.output))
    fp16_tensors += sum(n.op_type == "Cast" and any(a.name == "to" and a.i == f16 for a in n.attribute) for n in g.node)
    init_names = {t.name for t in g.initializer}
    inputs = [i for i in g.input if i.name not in init_names]
    shape = []
    if inputs:
        for d in inputs[0].type.tensor_type.shape.dim:
            shape.append(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else -1)
    precision = "int8" if qdq else ("fp16" if fp16_tensors else "fp32")
    return {
        "precision": precision,
        "qdq_nodes": qdq,
        "fp16_tensors": fp16_tensors,
        "input": inputs[0].name if inputs else None,
        "input_shape": shape,
        "num_inputs": len(inputs),
    }


def build_engine(
    onnx_path: str | Path,
    plan_path: str | Path,
    precision: str,
    min_batch: int | None = None,
    opt_batch: int | None = None,
    max_batch: int | None = None,
    workspace_gb: float = 4.0,
    route: str = "auto",
    device: str = "cuda",
    progress: bool = True,
    batch=None,
    timing_cache: bool = True,
) -> dict:
    """Build `plan_path` from `onnx_path`; returns the build facts for the manifest entry and
    writes them beside the engine (facts_path).

    The batch profile: `batch` (batch sizes as `parse_batch_profile` reads them, e.g. "1,8,64"),
    or min_batch/opt_batch/max_batch, else DEFAULT_PROFILE. timing_cache: read and write the
    timing cache beside the engine (module docstring).

    Raises SeedgeError for bad input (wrong precision/graph pairing, bad batch range, parser
    or builder failure) and MissingBackend where TensorRT or a GPU is missing.
    """
    onnx_path, plan_path = Path(onnx_path), Path(plan_path)
    min_batch, opt_batch, max_batch = _batch_range(batch, min_batch, opt_batch, max_batch)
    _check_args(onnx_path, precision, min_batch, opt_batch, max_batch, workspace_gb, route)
    graph = onnx_graph_facts(onnx_path)
    _check_graph(onnx_path, graph, precision, route)

    index = device_index(device)
    trt = import_tensorrt()
    gpu = _gpu_facts(index)
    use_flags = _flags_route(trt, route, precision)
    route_name = "flags" if use_flags else "strongly_typed"
    say = _stderr

    logger = CollectingLogger.create(trt)
    builder = trt.Builder(logger)
    # The parser stays referenced until the build: the network uses the weights it owns.
    network, parser = _parse_onnx(trt, builder, logger, onnx_path, use_flags)
    workspace = int(workspace_gb * (1 << 30))
    config, flags_set = _builder_config(trt, builder, precision, use_flags, workspace)
    profile_facts = _add_profile(builder, network, config, onnx_path, min_batch, opt_batch, max_batch)
    cache_key = timing_cache_key(trt.__version__, gpu["gpu"], gpu["compute_capability"])
    cache_facts = _use_timing_cache(config, plan_path, cache_key) if timing_cache else None
    if progress:
        _watch_phases(trt, config, say)
        say(
            f"tensorrt: building {precision} engine from {onnx_path.name} on {gpu['gpu']} "
            f"(sm {gpu['compute_capability']}, TensorRT {trt.__version__}, {route_name}, "
            f"batch {min_batch}..{max_batch})"
        )
    data, seconds = _serialize(builder, network, config, logger, onnx_path, precision)
    _write_atomic(plan_path, data)
    if cache_facts is not None:
        cache_facts["bytes"] = _save_timing_cache(config, timing_cache_file(plan_path, cache_key))
    if progress:
        reused_from = cache_facts["reused_from"] if cache_facts else None
        reused = f", timing cache from {reused_from}" if reused_from else ""
        say(f"tensorrt: wrote {plan_path} ({data.nbytes / 1e6:.1f} MB) in {seconds:.1f}s{reused}")
    facts = {
        "tensorrt_version": trt.__version__,
        "gpu": gpu["gpu"],
        "compute_capability": gpu["compute_capability"],
        "precision": precision,
        "precision_route": route_name,
        "builder_flags": flags_set,
        "tf32": _tf32(precision),
        "workspace_bytes": workspace,
        "profile": profile_facts,
        # The largest batch the engine takes: verify, the device runtime and the C++ runtime
        # split bigger inputs by it (seedge.verify.run.batching, runtime/cpp manifest_read.cpp).
        "max_batch": int(profile_facts["max"][0]),
        "onnx": onnx_path.name,
        "onnx_sha256": sha256_file(onnx_path),
        "graph_precision": graph["precision"],
        "build_seconds": round(seconds, 3),
        "engine_bytes": data.nbytes,
        "engine_sha256": hashlib.sha256(data).hexdigest(),
        "timing_cache": cache_facts,
        "warnings": len(logger.warnings),
    }
    _write_atomic(facts_path(plan_path), memoryview(json.dumps(facts, indent=2).encode()))
    return facts


def _batch_range(batch, min_batch: int | None, opt_batch: int | None, max_batch: int | None) -> tuple[int, int, int]:
    """(min, opt, max) from `batch` or from the three numbers, the missing ones from DEFAULT_PROFILE
    (kept inside the given range); build_engine's docstring says which wins."""
    if batch is not None:
        if (min_batch, opt_batch, max_batch) != (None, None, None):
            raise SeedgeError("TensorRT batch profile: give `batch` or min/opt/max_batch, not both")
        return parse_batch_profile(batch)
    min_batch = DEFAULT_PROFILE[0] if min_batch is None else min_batch
    max_batch = max(DEFAULT_PROFILE[2], min_batch) if max_batch is None else max_batch
    opt_batch = min(max(DEFAULT_PROFILE[1], min_batch), max_batch) if opt_batch is None else opt_batch
    return min_batch, opt_batch, max_batch


def _gpu_facts(index: int) -> dict:
    """The GPU's name and compute capability (CudaDevice.info), the device closed again."""
    cuda = CudaDevice.open(index)
    try:
        return cuda.info()
    finally:
        cuda.close()


def _flags_route(trt, route: str, precision: str) -> bool:
    """Whether precision comes from builder flags (route "flags") rather than from the graph;
    refuses "flags" on a TensorRT without them (11 and later)."""
    if route == "flags" and not hasattr(trt.BuilderFlag, "FP16"):
        raise SeedgeError(
            f"TensorRT {trt.__version__} has no FP16/INT8 builder flags (removed in TensorRT 11); "
            f"use route='strongly_typed' with {_ONNX_FILE_FOR[precision]}"
        )
    return route == "flags"


def _parse_onnx(trt, builder, logger, onnx_path: Path, use_flags: bool):
    """The network parsed from `onnx_path` (strongly typed unless built with precision flags), and
    its parser; a parser error is one SeedgeError line."""
    net_flags = 0 if use_flags else 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(net_flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        first = errors[0].strip().splitlines()[0][:300] if errors else logger.last_error() or "no detail"
        raise SeedgeError(f"{onnx_path}: TensorRT's ONNX parser rejected the model: {first}")
    return network, parser


def _tf32(precision: str) -> bool:
    """Whether TF32 stays allowed: not for FP32, whose parity (max abs diff <= 1e-3) it would break."""
    return precision != "fp32"


def _builder_config(trt, builder, precision: str, use_flags: bool, workspace: int) -> tuple[object, list[str]]:
    """The builder config (workspace limit, TF32, the precision flag of route "flags") and the
    names of the precision flags it sets."""
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace)
    flags_set = []
    if not _tf32(precision) and hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)  # TF32 is on by default
    if use_flags and precision in ("fp16", "int8"):
        flag = trt.BuilderFlag.FP16 if precision == "fp16" else trt.BuilderFlag.INT8
        config.set_flag(flag)
        flags_set.append(precision.upper())
    return config, flags_set


def _watch_phases(trt, config, say) -> None:
    """Report the builder's top-level phases through `say`, where this TensorRT has a progress monitor."""
    if hasattr(trt, "IProgressMonitor"):
        config.progress_monitor = _ProgressMonitor.create(trt, say)


def _serialize(builder, network, config, logger, onnx_path: Path, precision: str) -> tuple[memoryview, float]:
    """Build the engine: its serialized bytes and the seconds the build took."""
    t0 = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    seconds = time.perf_counter() - t0
    if serialized is None:
        raise SeedgeError(
            f"{onnx_path}: TensorRT could not build a {precision} engine: "
            f"{logger.last_error() or 'no detail (see TensorRT log)'}"
        )
    return memoryview(serialized), seconds


def _use_timing_cache(config, plan_path: Path, key: str) -> dict:
    """Give the builder the timing cache for `key` (an earlier one where there is one, else an
    empty one that this build fills); returns the facts for the manifest."""
    reused_from, data = None, b""
    for source in timing_cache_sources(plan_path, key):
        if source.is_file():
            data, reused_from = source.read_bytes(), source
            break
    cache = config.create_timing_cache(data)
    if not config.set_timing_cache(cache, False):  # ignore_mismatch=False: TensorRT refuses a foreign cache
        reused_from = None
        config.set_timing_cache(config.create_timing_cache(b""), False)
    where = None
    if reused_from is not None:
        where = "this export" if reused_from.parent == plan_path.parent else "the previous export"
    return {
        "file": f"{plan_path.parent.name}/{timing_cache_file(plan_path, key).name}",
        "key": key,
        "reused_from": where,
    }


def _save_timing_cache(config, path: Path) -> int:
    """Write the builder's timing cache (what it reused plus what this build timed) to `path`."""
    data = memoryview(config.get_timing_cache().serialize())
    _write_atomic(path, data)
    return data.nbytes


def _check_args(onnx_path: Path, precision, min_batch, opt_batch, max_batch, workspace_gb, route) -> None:
    if precision not in PRECISIONS:
        raise SeedgeError(f"TensorRT precision '{precision}' is not one of {', '.join(PRECISIONS)}")
    if route not in ROUTES:
        raise SeedgeError(f"TensorRT route '{route}' is not one of {', '.join(ROUTES)}")
    if (
        not all(isinstance(b, int) for b in (min_batch, opt_batch, max_batch))
        or not 1 <= min_batch <= opt_batch <= max_batch
    ):
        raise SeedgeError(
            f"TensorRT batch profile min {min_batch}, opt {opt_batch}, max {max_batch} is invalid; "
            f"need integers with 1 <= min <= opt <= max"
        )
    if not workspace_gb > 0:
        raise SeedgeError(f"TensorRT workspace {workspace_gb} GB must be positive")
    if not onnx_path.is_file():
        raise SeedgeError(f"{onnx_path}: ONNX file not found; export ONNX first (`seedge export --formats onnx`)")


def _check_graph(onnx_path: Path, graph: dict, precision: str, route: str) -> None:
    """A strongly typed build takes its precision from the graph: refuse a graph that says otherwise,
    since TensorRT would silently build e.g. an FP32 engine labelled fp16."""
    if graph["num_inputs"] != 1:
        raise SeedgeError(f"{onnx_path}: has {graph['num_inputs']} inputs; seedge engines take one image batch")
    have = graph["precision"]
    if have == precision or (route == "flags" and precision == "fp16" and have == "fp32"):
        return
    want = _ONNX_FILE_FOR[precision]
    if precision == "int8":
        hint = "INT8 needs explicit QuantizeLinear/DequantizeLinear nodes (seedge.quantize.int8)"
    elif precision == "fp16":
        hint = "FP16 needs an FP16 graph (seedge.quantize.fp16), or route='flags' on TensorRT 10"
    else:
        hint = "FP32 needs the FP32 graph"
    raise SeedgeError(f"{onnx_path}: graph is {have}, not {precision}; {hint}: pass {want}")


def _add_profile(builder, network, config, onnx_path: Path, min_batch, opt_batch, max_batch) -> dict:
    """One optimization profile over the batch dim; C/H/W must be fixed."""
    inp = network.get_input(0)
    shape = [int(d) for d in inp.shape]
    if any(d < 0 for d in shape[1:]):
        raise SeedgeError(
            f"{onnx_path}: input '{inp.name}' has dynamic non-batch dims {shape}; export with fixed C/H/W"
        )
    if shape[0] >= 0:  # static batch: the engine runs exactly that batch
        return {"input": inp.name, "min": shape, "opt": shape, "max": shape, "dynamic_batch": False}
    rest = shape[1:]
    lo, opt, hi = [min_batch] + rest, [opt_batch] + rest, [max_batch] + rest
    profile = builder.create_optimization_profile()
    profile.set_shape(inp.name, tuple(lo), tuple(opt), tuple(hi))
    config.add_optimization_profile(profile)
    return {"input": inp.name, "min": lo, "opt": opt, "max": hi, "dynamic_batch": True}


def _write_atomic(path: Path, data: memoryview) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, bytes(data))


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _ProgressMonitor:
    """trt.IProgressMonitor printing top-level builder phases with their time (called from
    TensorRT's threads, hence the lock; never cancels the build)."""

    @staticmethod
    def create(trt, say):
        class Monitor(trt.IProgressMonitor):
            def __init__(self) -> None:
                trt.IProgressMonitor.__init__(self)
                self._lock = threading.Lock()
                self._started: dict[str, tuple[float, bool]] = {}

            def phase_start(self, phase_name, parent_phase, num_steps):
                try:
                    with self._lock:
                        top = parent_phase is None
                        self._started[phase_name] = (time.perf_counter(), top)
                    if top:
                        say(f"tensorrt:   {phase_name} ({num_steps} steps)")
                except Exception:  # noqa: BLE001 - never let reporting break a build
                    pass

            def step_complete(self, phase_name, step):
                return True

            def phase_finish(self, phase_name):
                try:
                    with self._lock:
                        t0, top = self._started.pop(phase_name, (None, False))
                    if top and t0 is not None:
                        say(f"tensorrt:   {phase_name} done in {time.perf_counter() - t0:.1f}s")
                except Exception:  # noqa: BLE001
                    pass

        return Monitor()


def batch_profile_option(batch, formats) -> tuple[int, int, int] | None:
    """`seedge export --batch`: the TensorRT engines' batch profile, checked before any work.
    It only shapes TensorRT engines (the other formats take any batch), so without tensorrt in
    --formats it would be silently ignored: that is refused."""
    if batch is None:
        return None
    if "tensorrt" not in tuple(formats):
        raise SeedgeError(
            f"--batch {batch}: sets the batch profile of TensorRT engines, and --formats has no "
            f"tensorrt; add it or leave --batch out (the other formats run any batch size)"
        )
    return parse_batch_profile(batch)
