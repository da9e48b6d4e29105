"""`export_model`: checkpoint -> passes -> artifacts -> verified, published `exported/<name>/`.

Order (ARCHITECTURE.md, "The flow"): validate every option and load everything that can be bad
input (checkpoint, data) before anything is written; then, in a staging folder: the eager
FP32 baseline (model.safetensors + model.json), reference.npz, one artifact per
(format, precision) through the builder registry, verification of every artifact against
the eager model, the manifest last, and an atomic publish. An artifact that fails
verification stops the publish: CheckFailed, and the folder published before stays as it was.
"""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from seedge.backends.cpu_features import resolve_int8_cpu
from seedge.errors import CheckFailed, SeedgeError
from seedge.export.builders import BUILDERS, Builder
from seedge.export.context import ExportContext, specific_class_names
from seedge.export.embedded import can_embed, check_embedding, embedded_entry, embedded_id
from seedge.export.options import ExportOptions
from seedge.export.source import Loaded, ModelSource, baseline_program, is_live, load_source, save_baseline
from seedge.quantize.accuracy_search import check_labelled, check_max_drop, max_drop_thresholds

if TYPE_CHECKING:
    from seedge.preprocess import PreprocessSpec

DEMO_NAME = "demo"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# Distributions whose versions go into the manifest (read from metadata: nothing is imported).
_TOOLS = ("torch", "torchvision", "onnx", "onnxruntime", "openvino", "nncf", "onnxslim", "tensorrt", "timm", "seedge")

# progress(message, phase): phase "check" while bad input can still stop the export (nothing
# written yet), "build" once the staging folder is being filled.
Progress = Callable[[str, str], None]
# say(message) / step(message): progress with its phase already bound.
Say = Callable[[str], None]


def export_model(
    source=None,
    options: ExportOptions | None = None,
    *,
    model_source: ModelSource | None = None,
    progress: Progress | None = None,
) -> Path:
    """Export `source` (checkpoint file, training run dir, .pt2 program, a live torch.nn.Module, or
    None for the demo model) with `options` (seedge.export.options.ExportOptions: every choice,
    its default and meaning; None: all defaults).

    model_source: what SOURCE does not say itself (--model-file/--model-args, --key-map,
    --class-names; a live module's input size and preprocessing); see seedge.export.source.
    progress: progress(label, phase) before each step; phase is "check" while inputs are
    still being validated, "build" after (the CLI prints build steps on stderr).
    Returns the published folder. Raises SeedgeError (bad input, nothing written) or
    CheckFailed (an artifact failed verification; nothing published).
    """
    say: Say = (lambda msg: progress(msg, "check")) if progress else (lambda _msg: None)
    step: Say = (lambda msg: progress(msg, "build")) if progress else (lambda _msg: None)
    opts = options or ExportOptions()
    arch, num_classes, out, name = opts.arch, opts.num_classes, opts.out, opts.name
    random_weights, max_drop, thresholds = opts.random_weights, opts.max_drop, opts.thresholds
    builders, skipped = plan_builders(opts)
    opts = replace(opts, int8_cpu=_int8_cpu_target(opts, builders))
    opts = check_embedding(opts, builders)
    check_max_drop(max_drop, opts.precisions)
    if name is not None:
        check_name(name)
    # Where the export goes is checked before minutes of loading and building.
    _check_out(out, name)
    if source is None and arch and not random_weights:
        raise SeedgeError(
            f"--model {arch} without SOURCE: pass the checkpoint to export (a file or a training "
            f"run), or --random-weights to export the zoo model untrained"
        )
    if random_weights:
        from seedge.export.random_weights import merged_thresholds, random_weight_checkpoint

        if source is not None or not arch:
            raise SeedgeError("--random-weights exports zoo model --model ARCH untrained: give --model and no SOURCE")
        say(f"drawing random weights for {arch}")
        source, thresholds = str(random_weight_checkpoint(arch, num_classes)), merged_thresholds(thresholds)
    prep = _prepare(source, opts, builders, say, model_source or ModelSource())
    if random_weights:
        prep.info["random_weights"] = True
    if max_drop is not None:
        check_labelled(max_drop, bool(prep.data and prep.data[1] is not None), prep.data_source)
        thresholds = max_drop_thresholds(max_drop, thresholds)
    return _stage_verify_publish(prep, builders, skipped, opts, out, thresholds, step, max_drop)


@dataclass
class _Prepared:
    """Everything loaded and checked before the first byte is written."""

    name: str
    model: object  # the eager FP32 model as loaded (the baseline)
    passed_model: object  # after passes (what the exporters see)
    pass_reports: list
    info: dict
    preprocess: PreprocessSpec
    trained_on: str | None
    data_source: str | None
    data: tuple | None  # (x, y or None, class_names) test images, or None
    data_note: str | None
    calibration: object  # float32 NCHW, INT8 only
    loaded: Loaded  # the source as loaded: the baseline is stored from it


def _prepare(source, opts: ExportOptions, builders, say: Say, model_source: ModelSource) -> _Prepared:
    say("loading model")
    if source is None and (model_source.model_file or model_source.key_map):
        raise SeedgeError("--model-file/--key-map need SOURCE: the checkpoint (state dict) to load")
    path, meta = _resolve(source)
    trained_on = recorded_data(meta)
    needs_calib = any(b.precision == "int8" for b in builders)
    if needs_calib and not (opts.calib or trained_on):
        what = f"{path}: the checkpoint does not record" if not is_live(path) else "a live module does not say"
        raise SeedgeError(
            f"INT8 needs calibration images and {what} its training data; pass --calib SRC "
            f"(digits, an ImageFolder or a CSV)"
        )
    loaded = load_source(path, opts.arch, opts.num_classes, model_source, allow_pickle=opts.allow_pickle)
    model, info = loaded.model, loaded.info
    if source is None:
        info["source"] = DEMO_NAME
    name = opts.name or (
        DEMO_NAME if source is None else check_name(info.get("name") or info["arch"].replace("/", "_"))
    )
    _check_target(Path(opts.out) / name)
    preprocess = info["preprocess"]
    if opts.img_size:
        if loaded.program_file is not None and tuple(opts.img_size) != tuple(preprocess.input_size[1:]):
            raise SeedgeError(
                f"{path}: a torch.export program has a fixed input size "
                f"{'x'.join(map(str, preprocess.input_size[1:]))}; drop --img-size"
            )
        preprocess = replace(preprocess, input_size=(preprocess.input_size[0], *opts.img_size))
        from seedge.models.input_check import check_input_size

        check_input_size(model, tuple(preprocess.input_size))  # too small: one line, before any work
    say("capturing the eager baseline")
    baseline_program(loaded, tuple(preprocess.input_size), opts.seed)
    data_source = opts.calib or trained_on
    opts = replace(opts, data_options=_data_options(opts, meta, data_source))
    data, note = _load_data(data_source, preprocess, info, opts, required=needs_calib or bool(opts.calib), say=say)
    calibration = _load_calibration(data_source, preprocess, info, opts, say) if needs_calib else None
    # Passes run in memory; one that breaks numerics raises CheckFailed before anything is written.
    passed_model, reports = _apply_passes(model, preprocess, opts, say)
    # INT8 --exclude names the modules of the graph that gets quantized: the model after passes.
    _check_exclude(passed_model, opts.exclude, reports)
    return _Prepared(
        name, model, passed_model, reports, info, preprocess, trained_on, data_source, data, note, calibration, loaded
    )


def _stage_verify_publish(
    p: _Prepared, builders, skipped, opts: ExportOptions, out, thresholds, step: Say, max_drop: float | None = None
) -> Path:
    from seedge import artifacts as art
    from seedge import publishing
    from seedge.export.reference import write_reference
    from seedge.verify import verify_artifacts

    with publishing.staging(out, p.name) as stage:
        step("saving the eager FP32 baseline")
        baseline = save_baseline(
            p.loaded,
            stage,
            p.info["class_names"],
            p.preprocess,
            extra={"exported_from": p.info["source"], "source_sha256": p.info["source_sha256"]},
        )
        step("writing reference.npz")
        x, y = (p.data[0], p.data[1]) if p.data else (None, None)
        c, h, w = p.preprocess.input_size
        ref = write_reference(
            stage / art.REFERENCE,
            p.model,
            (c, h, w),
            opts.reference_samples,
            opts.seed,
            x,
            y,
            pixels_spec=p.preprocess if opts.embed_preprocess else None,
        )
        manifest = _new_manifest(p.name, p.model, p.info, p.preprocess, baseline, p.trained_on)
        manifest["passes"] = p.pass_reports
        manifest["reference"] = {**ref, **({"note": p.data_note} if p.data_note else {})}
        manifest["skipped"] = skipped
        ctx = ExportContext(
            stage=stage,
            model=p.passed_model,
            info=p.info,
            preprocess=p.preprocess,
            options=opts,
            metadata=model_metadata(p.info, p.preprocess, p.pass_reports),
            calib_source=p.data_source,
            calib=p.calibration,
            eval_data=(x, y) if x is not None else None,
        )
        if max_drop is not None:  # every INT8 builder then keeps the blocks it found in float
            ctx.options = _search_max_drop(ctx, max_drop, thresholds, manifest, step)
        for b in builders:
            step(f"building {b.id}")
            built = _build(b, ctx)
            manifest["artifacts"].append(
                art.artifact_entry(b.id, b.format, b.precision, built.file, stage, b.backend, built.build)
            )
            if ctx.options.embed_preprocess and can_embed(b.format):
                step(f"building {embedded_id(b.id)}")
                manifest["artifacts"].append(embedded_entry(b, built, ctx))
        _drop_intermediates(stage, ctx, manifest)

        step("verifying")
        labelled = p.data if p.data and p.data[1] is not None else None
        report = verify_artifacts(
            stage,
            manifest,
            data=labelled,
            device=opts.device,
            thresholds=thresholds,
            on_step=lambda label: step(f"verifying {label}"),
        )
        failed = _record_parity(manifest, report, p.data_source if labelled else None)
        if failed:
            raise CheckFailed(
                "not published, parity failed for "
                + "; ".join(f"{r['id']}: {r.get('reason') or 'failed'}" for r in failed)
            )
        art.write_manifest(stage, manifest)
        step(_publish_note(Path(out) / p.name))
        return publishing.publish(stage, out, p.name)


def _search_max_drop(ctx: ExportContext, max_drop: float, thresholds: dict, manifest: dict, step: Say) -> ExportOptions:
    """Find the blocks INT8 keeps in float for --max-drop (recorded in the manifest); the options
    every INT8 builder then uses. The search also aims at the int8 agreement gate verify applies."""
    from seedge.export.builders import onnx_fp32
    from seedge.quantize.accuracy_search import search_exclusions
    from seedge.verify.parity import thresholds_for

    step(f"--max-drop {max_drop:g}: measuring INT8 sensitivity per block")
    o = ctx.options
    # export_model's check_labelled refused --max-drop without labelled data, so the images are here.
    assert ctx.eval_data is not None
    eval_x, eval_y = ctx.eval_data
    record = search_exclusions(
        ctx.stage / onnx_fp32(ctx).file,
        ctx.calibration(),
        eval_x,
        eval_y,
        max_drop,
        method=o.calib_method,
        policy=o.int8_policy,
        exclude=o.exclude,
        min_agreement=thresholds_for("int8", thresholds.get("int8"))["min_agreement"],
        int8_cpu=o.int8_cpu,
        progress=lambda msg: step(f"--max-drop: {msg}"),
    )
    manifest["int8_search"] = record
    return replace(o, exclude=tuple(o.exclude) + tuple(record["exclude"]))


def _publish_note(target: Path) -> str:
    """ "publishing", and what it replaces: a re-export never replaces an earlier one silently."""
    from seedge.artifacts import MANIFEST

    if not (target / MANIFEST).is_file():
        return "publishing"
    try:
        old = json.loads((target / MANIFEST).read_text())
        what = ", ".join(a["id"] for a in old.get("artifacts", [])) or "no artifacts"
        when = old.get("created", "an earlier export")
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        what, when = "an unreadable manifest", "an earlier export"
    return f"publishing, replacing {target} ({what}; exported {when})"


# --- options -----------------------------------------------------------------------------------


def _int8_cpu_target(opts: ExportOptions, builders: list[Builder]) -> str:
    """--int8-cpu resolved (auto -> vnni/portable; vnni on a CPU without VNNI/AMX is bad input)
    when a CPU INT8 artifact is built; TensorRT's INT8 has its own 8-bit target."""
    if any(b.precision == "int8" and b.format in ("onnx", "openvino") for b in builders):
        return resolve_int8_cpu(opts.int8_cpu)
    return opts.int8_cpu


def plan_builders(opts: ExportOptions) -> tuple[list[Builder], list[dict]]:
    """The builders for formats x precisions (names and choices were checked by ExportOptions);
    pairs without a builder are skipped and reported."""
    check_device(opts.device)
    builders, skipped = [], []
    for fmt in opts.formats:
        for prec in opts.precisions:
            b = BUILDERS.get((fmt, prec))
            if b is None:
                skipped.append({"id": f"{fmt}-{prec}", "reason": f"no {prec} builder for {fmt}"})
            else:
                builders.append(b)
    if not builders:
        raise SeedgeError(
            f"nothing to build: no builder for {', '.join(s['id'] for s in skipped)}; "
            f"available: {', '.join(b.id for b in BUILDERS.values())}"
        )
    for b in builders:
        b.preflight()
    return builders, skipped


def check_device(device: str) -> str:
    """The export's device (verification; what AOTInductor compiles for): cuda needs a GPU torch sees."""
    from seedge.backends.table import device_family

    if device_family(device) == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise SeedgeError(
                f"--device {device}: no CUDA GPU is visible to PyTorch here (torch {torch.__version__}); "
                f"use --device cpu"
            )
    return device


def check_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise SeedgeError(f"--name '{name}': use letters, digits, '.', '_' and '-' (it becomes a folder name)")
    return name


def _check_out(out, name: str | None) -> None:
    """--out must be a folder seedge can write; NAME (once known) must fit its staging folder's
    name (`.staging-NAME-xxxxxxxx`) and be absent or a seedge export, which publishing replaces."""
    from seedge.publishing import check_output_location, check_replaceable

    check_output_location(out, "--out")
    if name is not None:
        target = Path(out) / name
        check_output_location(target, "--out/--name", extra_name_bytes=len(".staging--xxxxxxxx"))
        check_replaceable(target)


def _check_target(target: Path) -> None:
    """Publishing replaces `target`: refuse unless it is a seedge export (checked again under the
    folder's lock when publishing)."""
    _check_out(target.parent, target.name)


def _data_options(opts: ExportOptions, meta: dict | None, src: str | None):
    """How to read `src`: the options given, over those the training run recorded when `src` is its data."""
    from seedge.data import SourceOptions

    given = opts.data_options or SourceOptions()
    training = (meta or {}).get("training")
    if src and isinstance(training, dict) and str(src) == str(training.get("data")):
        return given.merged_over(SourceOptions.from_dict(training.get("data_options")))
    return given


def recorded_data(meta: dict | None) -> str | None:
    """The data source a seedge checkpoint says it was trained on (sidecar "training": {"data"})."""
    meta = meta or {}
    training = meta.get("training")
    if not isinstance(training, dict):
        training = {}
    src = training.get("data") or meta.get("data")
    return str(src) if src else None


# --- steps -------------------------------------------------------------------------------------


def _resolve(source) -> tuple[Path, dict | None]:
    """(checkpoint path, its seedge sidecar or None); a live module stays as it is."""
    from seedge.checkpoint import read_sidecar, resolve_source

    if is_live(source):
        return source, None
    if source is None:
        from seedge.train.demo import demo_checkpoint

        source = demo_checkpoint()
    path = resolve_source(source)
    return path, read_sidecar(path)


def _check_exclude(model, exclude: tuple[str, ...], reports: Sequence[dict] = ()) -> None:
    """Every --exclude name must be a module of `model` (the model after passes); a layer the
    canonical-SE pass folded into a SqueezeExcite is named by that SE block instead."""
    if not exclude:
        return
    names = {n for n, _ in model.named_modules() if n}
    bad = [e for e in exclude if e not in names]
    if bad:
        rewritten = [r for rep in reports for r in (rep.get("details") or {}).get("rewritten", [])]
        home = next((r["module"] for r in rewritten if bad[0] in r["from"]), None)
        if home:
            raise SeedgeError(
                f"--exclude {bad[0]}: the canonical-SE pass made it part of SE block '{home}'; pass --exclude {home}"
            )
        sample = ", ".join(sorted(names, key=len)[:6])
        raise SeedgeError(
            f"--exclude {bad[0]}: no such module in {model.seedge_arch} (e.g. {sample}); names are PyTorch module paths"
        )


def _load_data(src, preprocess, info, opts: ExportOptions, required: bool, say: Say):
    """((x, y or None, class_names) test images for reference.npz and verify, or None; a note).

    A source the user named (or that INT8 needs) must load; one only recorded in the
    checkpoint may have moved since training, and an FP32 export then goes on with noise.
    Labels are used only when the data's classes are the model's; otherwise the images
    still serve as reference inputs, unlabelled.
    """
    if not src or opts.verify_samples == 0:
        return None, None
    from seedge.data import load_arrays
    from seedge.verify import check_class_names

    say(f"loading {src} (test split)")
    try:
        limit = max(opts.verify_samples, opts.reference_samples)
        x, y, classes = load_arrays(
            src,
            preprocess,
            split="test",
            limit=limit,
            seed=opts.seed,
            class_names=specific_class_names(info),
            options=opts.data_options,
        )
    except SeedgeError as e:
        if src == opts.calib:  # --calib needs no labels (a flat folder, other class names): its images still serve
            return _unlabelled_reference(src, preprocess, opts, e)
        if required:
            raise
        return None, f"training data {src} not readable here ({e}); reference inputs are random"
    if len(x) == 0:
        return None, f"{src} has no test images; reference inputs are random"
    try:  # labels by name: the data's classes moved onto the model's outputs
        mapping = check_class_names(
            {"model": {"class_names": info["class_names"], "num_classes": info["num_classes"]}}, classes
        )
    except SeedgeError as e:
        return (x, None, classes), f"labels of {src} not used: {e}"
    # x is not empty, so its source names at least one class: check_class_names gave an index array.
    assert mapping is not None
    return (x, mapping[y], list(info["class_names"])), None


def _unlabelled_reference(src, preprocess, opts: ExportOptions, why: SeedgeError):
    from seedge.data.calibration import calibration_images

    limit = max(opts.verify_samples, opts.reference_samples)
    x = calibration_images(src, preprocess, limit, opts.seed, split="test", options=opts.data_options)
    from seedge.data.imagefolder import is_flat_image_folder

    why_text = "a folder of images without labels" if is_flat_image_folder(src) else str(why)
    return (x, None, None), f"labels of {src} not used ({why_text}); its images are the reference inputs"


def _load_calibration(src, preprocess, info, opts: ExportOptions, say: Say):
    from seedge.data.calibration import calibration_images

    say(f"loading {src} (calibration, {opts.calib_samples} images)")
    # Images only: labels (and whether they name the model's classes) do not matter to calibration.
    return calibration_images(src, preprocess, opts.calib_samples, opts.seed, options=opts.data_options)


def _apply_passes(model, preprocess, opts: ExportOptions, say: Say):
    if opts.passes is not None and len(opts.passes) == 0:
        return model, []
    import torch

    from seedge.passes import apply_passes

    say("applying passes")
    example = torch.randn(2, *preprocess.input_size, generator=torch.Generator().manual_seed(opts.seed))
    new_model, reports = apply_passes(
        model, None if opts.passes is None else list(opts.passes), example=example, count_nodes=opts.count_nodes
    )
    return new_model.eval(), reports


def _build(b: Builder, ctx: ExportContext):
    try:
        return b.build(ctx)
    except SeedgeError as e:
        if type(e) is SeedgeError:  # subclasses (MissingBackend) already say what they are about
            raise SeedgeError(f"{b.id}: {e}") from None
        raise


def _drop_intermediates(stage: Path, ctx: ExportContext, manifest: dict) -> None:
    listed = {a["file"] for a in manifest["artifacts"]}
    for rel in ctx.intermediates - listed:
        (stage / rel).unlink(missing_ok=True)


def _record_parity(manifest: dict, report: dict, data_source: str | None) -> list[dict]:
    rows = {r["id"]: r for r in report["artifacts"]}
    # The entry already says id/format/precision/backend; runner details are for reports. The
    # row's "thresholds" are kept: the gates verify and the device self-tests re-judge it by
    # (seedge.verify.parity.recorded_thresholds); where they came from at export is no gate.
    skip = {"id", "format", "precision", "backend", "runner", "thresholds_source"}
    for a in manifest["artifacts"]:
        a["parity"] = {k: v for k, v in rows.get(a["id"], {}).items() if k not in skip}
    manifest["verification"] = {
        "device": report.get("device"),
        "samples": report.get("samples"),
        "data": data_source,
        "baseline": {k: v for k, v in report["baseline"].items() if k != "runner"},
    }
    return [r for r in report["artifacts"] if not r.get("passed")]


# --- manifest pieces ----------------------------------------------------------------------------


def _new_manifest(name: str, model, info: dict, preprocess, baseline: dict, trained_on: str | None) -> dict:
    """`baseline`: the entry seedge.export.source.save_baseline returned."""
    from seedge import artifacts as art

    c, h, w = preprocess.input_size
    n = info["num_classes"]
    model_facts = {
        "arch": info["arch"],
        "num_classes": n,
        "class_names": list(info["class_names"]),
        "source": info["source"],
        "source_sha256": info["source_sha256"],
        "params": int(sum(p.numel() for p in model.parameters())),
        "trained_on": trained_on,
    }
    if info.get("code"):  # the architecture came from the user's code (module, class; file and args if given)
        model_facts["code"] = info["code"]
    if info.get("random_weights"):
        from seedge.export.random_weights import RANDOM_WEIGHT_NOTE

        model_facts["random_weights"] = {"note": RANDOM_WEIGHT_NOTE}
    return art.new_manifest(
        name,
        model_facts,
        input_spec={"name": "input", "shape": ["batch", c, h, w], "dtype": "float32", "layout": "NCHW"},
        output_spec={"name": "logits", "shape": ["batch", n], "dtype": "float32"},
        preprocessing=preprocess.to_dict(),
        baseline=baseline,
        tools=tool_versions(),
    )


def model_metadata(info: dict, preprocess, pass_reports: list[dict]) -> dict[str, str]:
    """seedge's model info as strings: ONNX metadata_props and OpenVINO rt_info carry it."""
    from seedge import __version__

    return {
        "seedge.version": __version__,
        "seedge.arch": info["arch"],
        "seedge.num_classes": str(info["num_classes"]),
        "seedge.class_names": json.dumps(list(info["class_names"])),
        "seedge.preprocessing": json.dumps(preprocess.to_dict()),
        "seedge.passes": json.dumps([r["name"] for r in pass_reports]),
        "seedge.source_sha256": info["source_sha256"],
    }


def tool_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in _TOOLS:
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    return out
