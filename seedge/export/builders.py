"""The artifact builders: (format, precision) -> a function that writes one artifact.

Adding a format or precision is one decorated function here; the pipeline looks builders
up in `BUILDERS` and never branches on names. A builder receives the `ExportContext`,
writes its file(s) into the stage and returns `Built(file, build_facts)`. Modules that
back a builder (quantizers, TensorRT) are imported inside it, so a missing one fails
only that builder, with a SeedgeError that names it; `preflight` checks this before any
work starts.
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass

from seedge.backends.table import backend as backend_facts
from seedge.backends.table import hardware_needs
from seedge.errors import MissingBackend, SeedgeError
from seedge.export.context import Built, ExportContext

# What `--formats` / `--precisions` accept; a (format, precision) pair is built when a builder
# below is registered for it, and reported as skipped otherwise.
FORMATS = (
    "torchscript",  # model.ts (+ model.pt2, a torch.export program)
    "onnx",  # model.onnx, model.fp16.onnx, model.int8.onnx (explicit Q/DQ)
    "openvino",  # OpenVINO IR: openvino/*.xml + .bin
    "tensorrt",  # TensorRT engines: tensorrt/*.plan, built on the GPU they will run on
    "inductor",  # AOTInductor package: model.inductor.pt2, compiled for the export's --device
)
PRECISIONS = ("fp32", "fp16", "int8")  # fp16/int8 live in the graph: FP16 tensors, explicit Q/DQ


@dataclass(frozen=True)
class Builder:
    format: str
    precision: str
    backend: str  # a key of the backend table: who runs (and verifies) the artifact
    fn: Callable[[ExportContext], Built]
    modules: tuple[str, ...] = ()  # seedge modules that back it (may be missing in a checkout)
    packages: tuple[tuple[str, str], ...] = ()  # (import name, pip extra) it needs beyond its backend's

    @property
    def id(self) -> str:
        return f"{self.format}-{self.precision}"

    def preflight(self) -> None:
        """Raise now, before any export work, if this builder cannot run here."""
        for mod in self.modules:
            if importlib.util.find_spec(mod) is None:
                raise SeedgeError(
                    f"{self.id}: this seedge has no {mod} module to build it; choose other --formats/--precisions"
                )
        facts = backend_facts(self.backend)
        needs = ((facts.package, facts.extra),) if facts.extra else ()
        for package, extra in needs + self.packages:
            if importlib.util.find_spec(package) is None:
                raise MissingBackend(
                    self.format,
                    extra,
                    f"`import {package}` fails; needed for {self.id}",
                    needs=hardware_needs(self.backend),
                )

    def build(self, ctx: ExportContext) -> Built:
        self.preflight()
        start = time.perf_counter()
        built = self.fn(ctx)
        return Built(built.file, {**built.build, "seconds": round(time.perf_counter() - start, 3)})


BUILDERS: dict[tuple[str, str], Builder] = {}


def register_builder(
    fmt: str, precision: str, backend: str, modules: tuple[str, ...] = (), packages: tuple[tuple[str, str], ...] = ()
):
    """Decorator: register `fn(ctx) -> Built` for (fmt, precision). Duplicates raise."""

    def wrap(fn: Callable[[ExportContext], Built]) -> Callable[[ExportContext], Built]:
        if (fmt, precision) in BUILDERS:
            raise ValueError(f"builder {fmt}-{precision} is already registered")
        if fmt not in backend_facts(backend).reads:
            raise ValueError(f"builder {fmt}-{precision}: backend '{backend}' does not read {fmt} artifacts")
        BUILDERS[(fmt, precision)] = Builder(fmt, precision, backend, fn, modules, packages)
        return fn

    return wrap


def get_builder(fmt: str, precision: str) -> Builder | None:
    return BUILDERS.get((fmt, precision))


def _backing(module: str, attr: str):
    """`module.attr`, imported now; a missing module is a SeedgeError naming it."""
    try:
        return getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as e:
        if e.name and module.startswith(e.name):
            raise SeedgeError(f"this seedge has no {module} module; the artifact needs it") from None
        raise


# --- shared products (computed once per run through ctx.shared) ---------------------------------


def onnx_fp32(ctx: ExportContext) -> Built:
    """The FP32 ONNX graph every other ONNX-derived artifact starts from (model.onnx)."""
    return ctx.shared("onnx-fp32", _make_onnx_fp32)


def _make_onnx_fp32(ctx: ExportContext) -> Built:
    from seedge.onnx.convert import export_onnx, node_counts

    path = ctx.intermediate("model.onnx")
    export_onnx(ctx.model, path, ctx.input_shape, opset=ctx.options.opset, metadata=ctx.metadata)
    facts = {"exporter": "torch.onnx.export(dynamo=True)", "opset": ctx.options.opset}
    if ctx.options.simplify:
        from seedge.onnx.simplify import simplify_onnx

        facts["simplify"] = simplify_onnx(path)
    else:
        facts["simplify"] = {"applied": False, "reason": "disabled"}
    from seedge.onnx.rewrites import reducemean_to_global_pool

    facts["rewrites"] = reducemean_to_global_pool(path)
    facts["nodes"] = node_counts(path)
    return Built("model.onnx", facts)


def onnx_fp16(ctx: ExportContext) -> Built:
    return ctx.shared("onnx-fp16", _make_onnx_fp16)


def _make_onnx_fp16(ctx: ExportContext) -> Built:
    convert = _backing("seedge.quantize.fp16", "convert_onnx_fp16")
    src = ctx.stage / onnx_fp32(ctx).file
    dst = ctx.intermediate("model.fp16.onnx")
    facts = convert(src, dst)
    _ensure_metadata(dst, ctx.metadata)
    return Built("model.fp16.onnx", dict(facts or {}))


def onnx_int8(ctx: ExportContext) -> Built:
    return ctx.shared("onnx-int8", lambda c: _make_onnx_int8(c, "cpu", "model.int8.onnx"))


def onnx_int8_tensorrt(ctx: ExportContext) -> Built:
    """TensorRT accepts only signed, symmetric (zero point 0) Q/DQ, which runs 3-4x slower than
    unsigned activations in ONNX Runtime on a CPU; so TensorRT gets a Q/DQ graph of its own."""
    return ctx.shared("onnx-int8-tensorrt", lambda c: _make_onnx_int8(c, "tensorrt", "model.int8.trt.onnx"))


def _make_onnx_int8(ctx: ExportContext, target: str, name: str) -> Built:
    quantize = _backing("seedge.quantize.int8", "quantize_onnx_int8")
    src = ctx.stage / onnx_fp32(ctx).file
    dst = ctx.intermediate(name)
    o = ctx.options
    facts = quantize(
        src,
        dst,
        ctx.calibration(),
        method=o.calib_method,
        policy=o.int8_policy,
        exclude=tuple(o.exclude),
        source=ctx.calib_source or "calibration data",
        target=target,
        int8_cpu=o.int8_cpu,
    )
    _ensure_metadata(dst, ctx.metadata)
    return Built(name, {"calibration": _calib_facts(ctx), **dict(facts or {})})


def _calib_facts(ctx: ExportContext) -> dict:
    o = ctx.options
    return {
        "source": ctx.calib_source,
        "samples": int(len(ctx.calibration())),
        "method": o.calib_method,
        "policy": o.int8_policy,
        "exclude": list(o.exclude),
    }


def _ensure_metadata(path, metadata: dict) -> None:
    """Derived graphs (FP16, Q/DQ) carry the same seedge metadata as model.onnx."""
    import onnx

    from seedge.onnx.convert import set_metadata

    proto = onnx.load(str(path))
    have = {p.key: p.value for p in proto.metadata_props}
    if all(have.get(k) == str(v) for k, v in metadata.items()):
        return
    set_metadata(proto, metadata)
    onnx.save(proto, str(path))


# --- TorchScript ---------------------------------------------------------------------------------


@register_builder("torchscript", "fp32", backend="torchscript")
def build_torchscript_fp32(ctx: ExportContext) -> Built:
    from seedge.export.torchscript_export import PT2_FILE, TORCHSCRIPT_FILE, export_torchscript

    facts = export_torchscript(
        ctx.model, ctx.path(TORCHSCRIPT_FILE), ctx.input_shape, pt2=ctx.options.pt2, pt2_path=ctx.path(PT2_FILE)
    )
    return Built(TORCHSCRIPT_FILE, facts)


# --- ONNX (run by ONNX Runtime) ------------------------------------------------------------------


@register_builder("onnx", "fp32", backend="onnxruntime")
def build_onnx_fp32(ctx: ExportContext) -> Built:
    return onnx_fp32(ctx)


@register_builder("onnx", "fp16", backend="onnxruntime", modules=("seedge.quantize.fp16",))
def build_onnx_fp16(ctx: ExportContext) -> Built:
    return onnx_fp16(ctx)


@register_builder("onnx", "int8", backend="onnxruntime", modules=("seedge.quantize.int8",))
def build_onnx_int8(ctx: ExportContext) -> Built:
    return onnx_int8(ctx)


# --- OpenVINO IR ---------------------------------------------------------------------------------


@register_builder("openvino", "fp32", backend="openvino")
def build_openvino_fp32(ctx: ExportContext) -> Built:
    return _openvino_ir(ctx, "fp32", "openvino/model.xml")


@register_builder("openvino", "fp16", backend="openvino")
def build_openvino_fp16(ctx: ExportContext) -> Built:
    from seedge.export.openvino_precision import choose_fp16_execution

    built = _openvino_ir(ctx, "fp16", "openvino/model.fp16.xml")
    # Compute in bf16/f16 where the CPU has it and the labelled verification images prove parity.
    x = _verify_inputs(ctx)
    chosen = choose_fp16_execution(ctx.stage / built.file, _eager_logits(ctx, x) if x is not None else None, x)
    # timed_threads: the thread count the candidates were timed at (only when they were timed).
    timed = {"timed_threads": chosen["timed_threads"]} if "timed_threads" in chosen else {}
    return Built(
        built.file,
        {**built.build, "inference_precision": chosen["inference_precision"], **timed, "execution_choice": chosen},
    )


def _verify_inputs(ctx: ExportContext):
    """The images the export's verify step will check (reference.npz inputs + labelled data),
    or None when there is no labelled data."""
    if not ctx.eval_data:
        return None
    import numpy as np

    from seedge.artifacts import REFERENCE

    with np.load(ctx.stage / REFERENCE) as ref:
        return np.concatenate([ref["input"], np.asarray(ctx.eval_data[0], dtype=np.float32)])


def _eager_logits(ctx: ExportContext, x):
    """The passed eager model's logits on `x`: what verify holds every artifact to."""
    from seedge.export.reference import eager_logits

    return ctx.shared("eager-logits-verify", lambda c: eager_logits(c.model, x))


def _openvino_ir(ctx: ExportContext, precision: str, rel: str) -> Built:
    from seedge.export.openvino_export import export_openvino

    src = ctx.stage / onnx_fp32(ctx).file
    return Built(rel, export_openvino(src, ctx.path(rel), precision, rt_info=ctx.metadata))


@register_builder(
    "openvino", "int8", backend="openvino", modules=("seedge.quantize.openvino_int8",), packages=(("nncf", "openvino"),)
)
def build_openvino_int8(ctx: ExportContext) -> Built:
    build = _backing("seedge.quantize.openvino_int8", "build_openvino_int8")
    rel = "openvino/model.int8.xml"
    src = ctx.stage / onnx_fp32(ctx).file
    qdq = ctx.stage / onnx_int8(ctx).file
    o = ctx.options
    # Held-out labelled images (when the export has them) judge the candidate routes better
    # than the calibration images do.
    facts = dict(
        build(
            src,
            qdq,
            ctx.path(rel),
            ctx.calibration(),
            method=o.calib_method,
            policy=o.int8_policy,
            exclude=tuple(o.exclude),
            rt_info=ctx.metadata,
            eval_data=ctx.eval_data,
            source=ctx.calib_source or "calibration data",
            int8_cpu=o.int8_cpu,
        )
        or {}
    )
    # The float parts around the INT8 kernels run in an explicitly chosen precision (the
    # builder measures and records it), never silently in the CPU's bf16 default.
    facts.setdefault("inference_precision", "f32")
    return Built(rel, {"calibration": _calib_facts(ctx), **facts})


# --- TensorRT (precision expressed in the ONNX graph it is built from) ---------------------------

_TRT = ("seedge.export.tensorrt_export",)
_TRT_SOURCE = {"fp32": onnx_fp32, "fp16": onnx_fp16, "int8": onnx_int8_tensorrt}


def _tensorrt(ctx: ExportContext, precision: str) -> Built:
    build_engine = _backing("seedge.export.tensorrt_export", "build_engine")
    src = ctx.stage / _TRT_SOURCE[precision](ctx).file
    rel = f"tensorrt/model.{precision}.plan"
    facts = dict(build_engine(src, ctx.path(rel), precision, batch=ctx.options.tensorrt_batch) or {})
    return Built(rel, {"onnx_source": src.name, **facts})


@register_builder("tensorrt", "fp32", backend="tensorrt", modules=_TRT)
def build_tensorrt_fp32(ctx: ExportContext) -> Built:
    return _tensorrt(ctx, "fp32")


@register_builder("tensorrt", "fp16", backend="tensorrt", modules=_TRT + ("seedge.quantize.fp16",))
def build_tensorrt_fp16(ctx: ExportContext) -> Built:
    return _tensorrt(ctx, "fp16")


@register_builder("tensorrt", "int8", backend="tensorrt", modules=_TRT + ("seedge.quantize.int8",))
def build_tensorrt_int8(ctx: ExportContext) -> Built:
    return _tensorrt(ctx, "int8")


# --- AOTInductor (torch's own ahead-of-time compiler; FP32 only) ---------------------------------
# No fp16/int8 builders: an FP16 package would be the model cast to half, which CPUs run emulated
# and slower, and INT8 in inductor needs PT2E quantization, a second quantizer beside the Q/DQ one.
# `--formats inductor --precisions fp16` is reported as skipped ("no fp16 builder for inductor").


@register_builder("inductor", "fp32", backend="inductor", modules=("seedge.export.inductor_export",))
def build_inductor_fp32(ctx: ExportContext) -> Built:
    from seedge.export.inductor_export import INDUCTOR_FILE, export_inductor

    return Built(
        INDUCTOR_FILE, export_inductor(ctx.model, ctx.path(INDUCTOR_FILE), ctx.input_shape, device=ctx.options.device)
    )
