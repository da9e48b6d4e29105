"""Siblings with the preprocessing inside (`seedge export --embed-preprocess rgb|bgr`).

For every ONNX, OpenVINO or TensorRT artifact an export builds, one more artifact whose input
is the raw image as a device holds it (uint8 NHWC at the network's input size, RGB or BGR)
and whose graph does the rest of seedge.preprocess (scale, channel order, mean/std, layout)
and optionally a softmax:

- ONNX: seedge.onnx.preprocess_graph composes a preprocessing prefix in front of the built
  graph (FP32, FP16 or INT8 Q/DQ): model.raw.onnx, model.fp16.raw.onnx, model.int8.raw.onnx;
- OpenVINO: openvino.preprocess.PrePostProcessor on the built IR (any precision):
  openvino/model.raw.xml, ...;
- TensorRT: the engine built from the embedded ONNX of the graph its plain engine came from:
  tensorrt/model.fp32.raw.plan, ...

Each sibling is an artifact like the others (id `<format>-<precision>-raw`, same backend and
precision), verified against the eager model on the same images, with its manifest entry's
`input` (and `output` for the softmax) saying what it takes (seedge.preprocess.pixels).
TorchScript has no sibling: it is the Python-side artifact, fed by seedge.preprocess.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seedge.export.context import Built, ExportContext
from seedge.export.options import ExportOptions

SUFFIX = "raw"  # in ids (onnx-fp32-raw) and file names (model.raw.onnx)


@dataclass(frozen=True)
class Embedding:
    """What the user asked for: the device image's channel order, and a softmax inside or not."""

    color_order: str  # "RGB" or "BGR"
    softmax: bool = False


def embedded_id(base_id: str) -> str:
    return f"{base_id}-{SUFFIX}"


def can_embed(fmt: str) -> bool:
    return fmt in _EMBEDDERS


def build_embedded(fmt: str, precision: str, built: Built, ctx: ExportContext, how: Embedding) -> Built:
    """The sibling of the artifact `built` (format `fmt`) with the preprocessing inside."""
    return _EMBEDDERS[fmt](precision, built, ctx, how)


def check_embedding(opts: ExportOptions, builders) -> ExportOptions:
    """The options with --embed-preprocess checked and its order normalized ("RGB"/"BGR"); bad
    use is a SeedgeError before any work."""
    from dataclasses import replace

    from seedge.errors import SeedgeError
    from seedge.preprocess.pixels import check_color_order

    if opts.embed_preprocess is None:
        if opts.embed_softmax:
            raise SeedgeError(
                "--embed-softmax goes with --embed-preprocess rgb|bgr (the softmax is added to the "
                "artifacts with the preprocessing inside)"
            )
        return opts
    order = check_color_order(opts.embed_preprocess)
    if not any(can_embed(b.format) for b in builders):
        built = ", ".join(sorted({b.format for b in builders}))
        raise SeedgeError(
            f"--embed-preprocess: none of the formats built ({built}) can take the preprocessing "
            f"inside; add onnx, openvino or tensorrt to --formats"
        )
    return replace(opts, embed_preprocess=order)


def embedded_entry(builder, built: Built, ctx: ExportContext) -> dict:
    """Build the sibling of `built` (made by `builder`) and return its manifest entry: the
    artifact's usual fields plus `input` (what it takes) and, with a softmax, `output`."""
    import time

    from seedge import artifacts as art

    assert ctx.options.embed_preprocess is not None  # only called for --embed-preprocess
    how = Embedding(ctx.options.embed_preprocess, ctx.options.embed_softmax)
    start = time.perf_counter()
    sibling = build_embedded(builder.format, builder.precision, built, ctx, how)
    facts = dict(sibling.build)
    facts["seconds"] = round(time.perf_counter() - start, 3)
    entry = art.artifact_entry(
        embedded_id(builder.id),
        builder.format,
        builder.precision,
        sibling.file,
        ctx.stage,
        builder.backend,
        {k: v for k, v in facts.items() if k not in ("input", "softmax")},
    )
    entry["input"] = facts["input"]
    if how.softmax:
        entry["output"] = {"name": "probabilities", "softmax": True}
    return entry


def _raw_name(rel: str) -> str:
    """model.int8.onnx -> model.int8.raw.onnx; openvino/model.xml -> openvino/model.raw.xml."""
    p = Path(rel)
    return p.with_name(f"{p.stem}.{SUFFIX}{p.suffix}").as_posix()


def _onnx(precision: str, built: Built, ctx: ExportContext, how: Embedding) -> Built:
    from seedge.onnx.preprocess_graph import embed_preprocess

    rel = _raw_name(built.file)
    facts = embed_preprocess(ctx.stage / built.file, ctx.path(rel), ctx.preprocess, how.color_order, how.softmax)
    return Built(rel, {**_same_weights(built), **facts})


def _openvino(precision: str, built: Built, ctx: ExportContext, how: Embedding) -> Built:
    rel = _raw_name(built.file)
    facts = embed_openvino(ctx.stage / built.file, ctx.path(rel), ctx.preprocess, how)
    # The runner compiles it as its plain sibling was measured and chosen (inference precision).
    keep = {k: built.build[k] for k in ("inference_precision",) if k in built.build}
    return Built(rel, {**keep, **_same_weights(built), **facts})


def _same_weights(built: Built) -> dict:
    """The INT8 CPU target of the plain sibling: the same weights, refused on the same CPUs."""
    return {k: built.build[k] for k in ("int8_cpu", "weight_bits") if k in built.build}


def _tensorrt(precision: str, built: Built, ctx: ExportContext, how: Embedding) -> Built:
    from seedge.export.builders import _backing
    from seedge.onnx.preprocess_graph import embed_preprocess

    build_engine = _backing("seedge.export.tensorrt_export", "build_engine")
    source = built.build["onnx_source"]  # the ONNX graph the plain engine was built from
    src_rel = _raw_name(source)
    facts = embed_preprocess(
        ctx.stage / source, ctx.intermediate(src_rel), ctx.preprocess, how.color_order, how.softmax
    )
    rel = _raw_name(built.file)
    # the plain engine's batch profile (--batch), so the two run the same batch sizes
    engine = dict(build_engine(ctx.stage / src_rel, ctx.path(rel), precision, batch=ctx.options.tensorrt_batch) or {})
    return Built(rel, {"onnx_source": src_rel, **engine, **facts})


_EMBEDDERS = {"onnx": _onnx, "openvino": _openvino, "tensorrt": _tensorrt}


def embed_openvino(xml: str | Path, dst: str | Path, spec, how: Embedding) -> dict:
    """Write IR `dst`: IR `xml` behind OpenVINO's PrePostProcessor, taking uint8 NHWC pixels in
    `how.color_order`. Returns build facts (as seedge.export.openvino_export's)."""
    import openvino as ov
    from openvino.preprocess import ColorFormat, PrePostProcessor

    from seedge.fileio import sha256_file
    from seedge.preprocess.pixels import embedded_input, network_order
    from seedge.preprocess.spec import spec_dict

    d = spec_dict(spec)
    c = int(d["input_size"][0])
    facts = embedded_input(d, how.color_order)
    model = ov.Core().read_model(str(xml))
    ppp = PrePostProcessor(model)
    tensor = ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC"))
    steps = ppp.input().preprocess()
    # seedge.preprocess.normalize's order: float, * scale, channel order, (x - mean) / std.
    steps.convert_element_type(ov.Type.f32)
    steps.scale(1.0 / float(d.get("scale", 1.0 / 255.0)))
    if c == 3:
        color = {"RGB": ColorFormat.RGB, "BGR": ColorFormat.BGR}
        tensor.set_color_format(color[facts["color_order"]])
        steps.convert_color(color[network_order(d)])
    steps.mean([float(v) for v in d["mean"][:c]])
    steps.scale([float(v) for v in d["std"][:c]])
    ppp.input().model().set_layout(ov.Layout("NCHW"))
    if how.softmax:  # probabilities out: a softmax over the classes after the logits
        from openvino import opset13 as ops

        ppp.output().postprocess().custom(lambda logits: ops.softmax(logits, 1).output(0))
    model = ppp.build()
    model.inputs[0].get_tensor().set_names({facts["name"]})
    if how.softmax:
        model.outputs[0].get_tensor().set_names({"probabilities"})
    dst = Path(dst)
    ov.save_model(model, str(dst), compress_to_fp16=False)  # weights stay as the built IR stored them
    bin_path = dst.with_suffix(".bin")
    return {
        "embedded_from": Path(xml).name,
        "openvino": ov.get_version(),
        "weights_file": bin_path.name,
        "weights_sha256": sha256_file(bin_path),
        "weights_bytes": bin_path.stat().st_size,
        "input_shape": str(model.inputs[0].get_partial_shape()),
        "input": facts,
        "softmax": how.softmax,
    }
