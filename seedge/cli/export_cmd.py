"""`seedge export [SOURCE]`: build, verify and publish every requested artifact.

Thin: parses and validates the options, calls `seedge.export.pipeline.export_model`, prints
progress on stderr and the summary table (or, with --json, one JSON document) on stdout.
"""

from __future__ import annotations

import time

import click

from seedge.backends.cpu_features import INT8_CPU_CHOICES
from seedge.backends.table import DEVICES
from seedge.cli.data_options import pop_source_options, source_options
from seedge.cli.model_options import class_names_option, key_map_option, model_file_options
from seedge.export.builders import FORMATS, PRECISIONS
from seedge.preprocess.pixels import COLOR_ORDERS
from seedge.quantize.calibration import METHODS
from seedge.quantize.policy import POLICIES, POLICY_MEANINGS


@click.command("export")
@click.argument("source", required=False, type=str)
@click.option("--model", "arch", default=None, metavar="ARCH",
              help="Architecture of a bare state dict (see `seedge models`); seedge checkpoints carry theirs. "
                   "With --random-weights and no SOURCE: the zoo model to export untrained.")
@click.option("--random-weights", is_flag=True,
              help="Export --model ARCH with random weights (seed 0), no SOURCE: for latency and export checks; "
                   "recorded in the manifest; fp16/int8 parity gated on cosine (random top-1 is meaningless).")
@model_file_options
@key_map_option
@click.option("--num-classes", type=int, default=None,
              help="Classifier outputs (default: the checkpoint's classifier size).")
@class_names_option
@click.option("--formats", default="torchscript,onnx,openvino", show_default=True,
              help=f"Comma list of {', '.join(FORMATS)}.")
@click.option("--precisions", default="fp32", show_default=True, help=f"Comma list of {', '.join(PRECISIONS)}.")
@click.option("--calib", default=None, metavar="SRC",
              help="INT8 calibration (and reference) images: 'digits', 'animals', an ImageFolder or a CSV. "
                   "Default: the data the checkpoint was trained on, when it records it.")
@click.option("--calib-samples", type=int, default=256, show_default=True, help="Calibration images to use.")
@click.option("--calib-method", type=click.Choice(METHODS), default="minmax", show_default=True,
              help="How INT8 ranges are read from the calibration images.")
@click.option("--int8-policy", type=click.Choice(POLICIES), default="se-aware", show_default=True,
              help="SE gate handling in INT8: " + "; ".join(f"{k}: {v}" for k, v in POLICY_MEANINGS.items()) + ".")
@click.option("--int8-cpu", type=click.Choice(INT8_CPU_CHOICES), default="auto", show_default=True,
              help="CPUs the onnx/openvino INT8 artifacts are for: portable (7-bit weights, right on every x86 "
                   "CPU), vnni (8-bit weights, more accurate; refused at run time on CPUs without VNNI/AMX, "
                   "whose INT8 kernels saturate with them), auto (vnni where this CPU has VNNI/AMX, else "
                   "portable).")
@click.option("--exclude", multiple=True, metavar="MODULE",
              help="PyTorch module kept in float in INT8 (repeatable), e.g. --exclude layer4.1.se.")
@click.option("--max-drop", type=float, default=None, metavar="P",
              help="INT8: measure each block's sensitivity and keep the fewest blocks in float that bring the "
                   "accuracy drop within P points of FP32 on the labelled validation images (the test split "
                   "of --calib); the search is recorded in manifest.json (int8_search). Needs labelled data.")
@click.option("--out", default="exported", show_default=True, help="Output root; the export goes to OUT/NAME.")
@click.option("--name", default=None, help="Folder name under --out (default: 'demo' or the architecture).")
@click.option("--passes", "passes", default=None, metavar="LIST",
              help="Comma list of graph passes to apply (default: all default passes; see --no-passes).")
@click.option("--no-passes", is_flag=True, help="Export the model as loaded, without passes.")
@click.option("--count-nodes/--no-count-nodes", default=False, show_default=True,
              help="Also record ONNX node counts before/after each pass (an extra ONNX export per pass: "
                   "about 45 s on SE-ResNet-50). The exported graph's own node counts are always in its "
                   "build facts.")
@click.option("--img-size", default=None, metavar="S|HxW", help="Input size to export at (default: the checkpoint's).")
@click.option("--pt2/--no-pt2", default=True, show_default=True,
              help="Also save a torch.export program (model.pt2) beside model.ts.")
@click.option("--device", type=click.Choice(DEVICES), default="cpu", show_default=True,
              help="Device the artifacts are verified on; AOTInductor packages (--formats inductor) are "
                   "compiled for it.")
@click.option("--unsafe-pickle", is_flag=True,
              help="Allow full unpickling of a checkpoint that needs it. Only for files you trust.")
@click.option("--embed-preprocess", type=click.Choice([o.lower() for o in COLOR_ORDERS]), default=None,
              help="Also write, beside each ONNX/OpenVINO/TensorRT artifact, one that takes the device's raw "
                   "image: uint8 NHWC at the input size in this channel order, with scale, mean/std and the "
                   "layout change inside (ids <format>-<precision>-raw); verified from the same images.")
@click.option("--embed-softmax", is_flag=True,
              help="With --embed-preprocess: those artifacts also end in a softmax (they output probabilities).")
@click.option("--batch", "tensorrt_batch", default=None, metavar="LIST",
              help="Batch sizes the TensorRT engines are built for: min,opt,max (e.g. 1,8,64), or the sizes you "
                   "will run (1,8,64,256: smallest, upper middle, largest); default 1,8,32.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else.")
@source_options()
def command(source, arch, num_classes, formats, precisions, calib, calib_samples, calib_method, int8_policy,
            int8_cpu, exclude, out, name, passes, no_passes, count_nodes, img_size, pt2, device, unsafe_pickle, as_json,
            embed_preprocess, embed_softmax,
            model_file, model_args, key_map, class_names, random_weights, max_drop, tensorrt_batch, **csv_kw) -> None:
    """Export SOURCE (a checkpoint file, a training run directory, or a torch.export program .pt2,
    which needs no Python code; default: the demo SE model; with --model ARCH --random-weights: that zoo
    model untrained)."""
    from rich.console import Console

    from seedge.errors import SeedgeError
    from seedge.export.pipeline import export_model, parse_list
    from seedge.export.source import ModelSource

    # Cheap checks first: a typo must not cost a model load.
    fmts = parse_list(formats, FORMATS, "format")
    precs = parse_list(precisions, PRECISIONS, "precision")
    if passes is not None and no_passes:
        raise SeedgeError("--passes and --no-passes contradict each other; give one")
    pass_names = [] if no_passes else ([p.strip() for p in passes.split(",") if p.strip()] if passes else None)

    err = Console(stderr=True)
    data_options = pop_source_options(csv_kw)
    if calib:  # first, as train says it: which CSV columns (and splits) the calibration data is read with
        from seedge.data import open_source

        calib_data = open_source(calib, options=data_options)
        if calib_data.kind == "csv" and calib_data.notes:
            err.print(calib_data.notes_line(calib), markup=False, soft_wrap=True, highlight=False)
    start = time.perf_counter()
    with err.status("exporting", spinner="dots") as status:
        def progress(msg: str, phase: str) -> None:
            status.update(msg)
            # While inputs are still checked, a bad one must end in its one error line only.
            if phase != "check":
                err.print(f"[dim]{time.perf_counter() - start:6.1f}s[/dim] {msg}", highlight=False)

        folder = export_model(source, arch=arch, num_classes=num_classes, formats=fmts, precisions=precs,
                              calib=calib, out=out, name=name, passes=pass_names, calib_samples=calib_samples,
                              calib_method=calib_method, int8_policy=int8_policy, int8_cpu=int8_cpu,
                              exclude=exclude,
                              img_size=img_size, count_nodes=count_nodes, pt2=pt2, device=device,
                              allow_pickle=unsafe_pickle,
                              progress=progress, data_options=data_options,
                              embed_preprocess=embed_preprocess, embed_softmax=embed_softmax,
                              model_source=ModelSource(model_file=model_file, model_args=model_args,
                                                       key_map=tuple(key_map), class_names=class_names),
                              random_weights=random_weights, max_drop=max_drop, tensorrt_batch=tensorrt_batch)
    from seedge.artifacts import read_manifest

    manifest = read_manifest(folder)
    if (manifest["model"].get("random_weights") or {}).get("note"):  # stderr: said with --json too
        err.print(manifest["model"]["random_weights"]["note"], markup=False, soft_wrap=True)
    if as_json:
        from seedge.cli.render import to_json

        doc = {"folder": str(folder), "artifacts": manifest["artifacts"], "skipped": manifest.get("skipped", [])}
        if "int8_search" in manifest:
            doc["int8_search"] = manifest["int8_search"]
        click.echo(to_json(doc))
        return
    for s in manifest.get("skipped", []):
        err.print(f"skipped {s['id']}: {s['reason']}")
    err.print(f"exported to {folder} in {time.perf_counter() - start:.1f}s")
    out_console = Console()
    from seedge.cli.render import export_summary_table, max_drop_summary

    # Piped or captured output has no terminal width; rich would squeeze the table into 80.
    out_console = out_console if out_console.is_terminal else Console(width=180)
    out_console.print(export_summary_table(manifest, folder))
    if "int8_search" in manifest:
        out_console.print(max_drop_summary(manifest["int8_search"]), markup=False, highlight=False, soft_wrap=True)

