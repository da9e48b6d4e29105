"""`seedge inspect SOURCE`: load a checkpoint the way export will, and summarize it.

A cheap way to find out, before any export, whether a file from elsewhere loads: it runs
the same safe loading, key remapping and strict checks, then prints what it found --
including the SE blocks: those already in seedge's canonical form, those the canonical-SE
pass recognises and would rewrite, and SE-like blocks it would leave alone, with the reason.
"""

from __future__ import annotations

import click

from seedge.cli.model_options import (
    class_names_option,
    key_map_option,
    model_file_options,
    pop_preprocessing,
    preprocessing_options,
)
from seedge.cli.render import to_json


@click.command("inspect")
@click.argument("source", type=click.Path(dir_okay=True, file_okay=True))
@click.option("--model", "arch", help="Architecture, for a bare state dict (see `seedge models`).")
@model_file_options
@key_map_option
@preprocessing_options
@click.option("--num-classes", type=int, help="Classifier size (default: read from the checkpoint).")
@class_names_option
@click.option(
    "--img-size",
    default=None,
    metavar="S|HxW",
    help="Input size to inspect at, as `seedge export --img-size` (default: the checkpoint's).",
)
@click.option(
    "--unsafe-pickle",
    is_flag=True,
    help="Allow full unpickling (runs code from the file): only for files you trust. A pickled whole "
    "module (torch.save(model, ...)) is then the model itself.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def command(
    source: str,
    arch: str | None,
    num_classes: int | None,
    unsafe_pickle: bool,
    as_json: bool,
    model_file: str | None,
    model_args: str | None,
    key_map: tuple,
    class_names: str | None,
    img_size: str | None,
    **stated,
) -> None:
    """Load SOURCE (checkpoint file, training run or torch.export program .pt2) and summarize it.
    SOURCE may also be a zoo name (see `seedge models`): its parameters, GFLOPs and SE blocks."""
    from seedge.export.options import parse_img_size

    size = parse_img_size(img_size)  # a bad value is one line before any loading
    preprocessing = pop_preprocessing(stated)
    if _is_zoo_name(source):
        _inspect_zoo(source, num_classes, as_json, size)
        return
    spec = _model_source(model_file, model_args, key_map, class_names, preprocessing)
    loaded = _load_for_inspect(source, arch, num_classes, spec, unsafe_pickle, as_json)
    summary = _checkpoint_summary(loaded, size)
    if as_json:
        click.echo(to_json(summary))
        return
    _print_summary(summary)


def _model_source(model_file, model_args, key_map: tuple, class_names, preprocessing):
    """How to load SOURCE: the --model-file/--model-args/--key-map/--class-names/preprocessing given."""
    from seedge.export.source import ModelSource

    return ModelSource(
        model_file=model_file,
        model_args=model_args,
        key_map=tuple(key_map),
        class_names=class_names,
        preprocessing=preprocessing,
    )


def _load_for_inspect(source: str, arch, num_classes, spec, unsafe_pickle: bool, as_json: bool):
    """Load SOURCE as export would; with --json, a key map that does not fit also prints its suggestion."""
    from seedge.checkpoint import resolve_source
    from seedge.checkpoint.layouts import DoesNotFit
    from seedge.export.source import load_source

    # inspect loads what export would and shows a user model's normalization as unstated
    try:
        return load_source(
            resolve_source(source), arch, num_classes, spec, allow_pickle=unsafe_pickle, need_normalization=False
        )
    except DoesNotFit as e:
        if as_json and e.key_map:  # the whole suggested key map (the message shows its first rules)
            click.echo(to_json({"error": str(e), "key_map": e.key_map}))
        raise


def _checkpoint_summary(loaded, size: tuple | None) -> dict:
    """What inspect reports about a loaded model (at --img-size when given)."""
    from seedge.models.layers import count_params

    model, info = loaded.model, loaded.info
    if size:
        info["preprocess"] = _at_size(loaded, info["preprocess"], size)
    se = se_summary(model, tuple(info["preprocess"].input_size))
    summary = {
        "source": info["source"],
        "sha256": info["source_sha256"],
        "arch": info["arch"],
        "num_classes": info["num_classes"],
        "class_names": info["class_names"],
        "parameters": count_params(model),
        "se_blocks": len(se["canonical"]) + len(se["rewritten"]),
        "se": se,
        "preprocess": info["preprocess"].to_dict(),
    }
    if info.get("code"):
        summary["code"] = info["code"]
    return summary


def _print_summary(summary: dict) -> None:
    """The human-readable form of _checkpoint_summary."""
    se = summary["se"]
    pre = summary["preprocess"]
    click.echo(f"{summary['source']}  (sha256 {summary['sha256'][:12]})")
    click.echo(
        f"  arch        {summary['arch']}  ({summary['parameters'] / 1e6:.2f}M parameters, "
        f"{summary['se_blocks']} SE blocks)"
    )
    click.echo(
        f"  classes     {summary['num_classes']}: {', '.join(summary['class_names'][:10])}"
        + (" ..." if summary["num_classes"] > 10 else "")
    )
    normalization = (
        f"mean {pre['mean']}, std {pre['std']} ({pre['source']})"
        if pre.get("source")
        else "normalization not stated: export needs --mean/--std or --preprocessing"
    )
    click.echo(f"  input       {'x'.join(map(str, pre['input_size']))}, {normalization}")
    click.echo(
        f"  SE          {len(se['canonical'])} already canonical, {len(se['rewritten'])} recognised and "
        f"rewritten by the canonical-SE pass, {len(se['left_alone'])} SE-like left alone"
    )
    for r in se["rewritten"]:
        click.echo(f"    {r['module']}  <- {', '.join(r['from'])}: {r['form']}")
    for r in se["left_alone"]:
        click.echo(f"    left alone: {r['module']}: {r['reason']}")


def _at_size(loaded, preprocess, size: tuple):
    """The preprocessing at --img-size HxW, checked as `seedge export --img-size` checks it."""
    from dataclasses import replace

    from seedge.errors import SeedgeError
    from seedge.models.input_check import check_input_size

    if loaded.program_file is not None and tuple(size) != tuple(preprocess.input_size[1:]):
        raise SeedgeError(
            f"{loaded.program_file}: a torch.export program has a fixed input size "
            f"{'x'.join(map(str, preprocess.input_size[1:]))}; drop --img-size"
        )
    preprocess = replace(preprocess, input_size=(preprocess.input_size[0], *size))
    check_input_size(loaded.model, tuple(preprocess.input_size))  # too small for the network: one line
    return preprocess


def se_summary(model, input_size: tuple) -> dict:
    """The SE blocks of `model` as export will see them: run the canonical-SE pass on a copy."""
    import torch

    from seedge.models.layers import SqueezeExcite
    from seedge.passes import apply_passes

    canonical = [n for n, m in model.named_modules() if isinstance(m, SqueezeExcite)]
    example = torch.randn(2, *input_size, generator=torch.Generator().manual_seed(0))
    _, reports = apply_passes(model, ["canonical_se"], example=example)
    details = reports[0].get("details") or {}
    return {
        "canonical": canonical,
        "rewritten": details.get("rewritten", []),
        "left_alone": details.get("left_alone", []),
    }


def _is_zoo_name(source: str) -> bool:
    """A registered architecture name that is not also a path here (a file or folder wins)."""
    import os

    from seedge.errors import SeedgeError
    from seedge.models import get_config

    if os.path.exists(source):
        return False
    try:
        get_config(source)
    except SeedgeError:
        return False
    return True


def _inspect_zoo(arch: str, num_classes: int | None, as_json: bool, size: tuple | None = None) -> None:
    from seedge.models import get_config
    from seedge.models.summary import zoo_summary

    s = zoo_summary(arch, num_classes, input_size=(get_config(arch).input_size[0], *size) if size else None)
    if as_json:
        click.echo(to_json({"source": None, "zoo": True, **s}))
        return
    shown = "x".join(map(str, s["input_size"]))
    click.echo(f"{arch}  (zoo model: {s['description']}; no weights -- pass a checkpoint to inspect trained ones)")
    click.echo(f"  parameters  {s['parameters'] / 1e6:.2f}M")
    click.echo(f"  compute     {s['gflops']:.3f} GFLOPs ({s['gmacs']:.3f} GMACs) per image at {shown}")
    click.echo(f"  SE blocks   {s['se_blocks']}" + ("  (a baseline without SE)" if not s["se_blocks"] else ""))
    click.echo(f"  classes     {s['num_classes']}")
    click.echo(f"  input       {shown}, mean {s['mean']}, std {s['std']}")
