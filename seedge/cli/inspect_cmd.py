"""`seedge inspect SOURCE`: load a checkpoint the way export will, and summarize it.

A cheap way to find out, before any export, whether a file from elsewhere loads: it runs
the same safe loading, key remapping and strict checks, then prints what it found.
"""

from __future__ import annotations

import json

import click


@click.command("inspect")
@click.argument("source", type=click.Path(dir_okay=True, file_okay=True))
@click.option("--model", "arch", help="Architecture, for a bare state dict (see `seedge models`).")
@click.option("--num-classes", type=int, help="Classifier size (default: read from the checkpoint).")
@click.option("--unsafe-pickle", is_flag=True,
              help="Allow full unpickling (runs code from the file): only for files you trust.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def command(source: str, arch: str | None, num_classes: int | None, unsafe_pickle: bool, as_json: bool) -> None:
    """Load SOURCE (checkpoint file or training run) and summarize it. SOURCE may also be a zoo name
    (see `seedge models`): its parameters, GFLOPs and SE blocks."""
    if _is_zoo_name(source):
        _inspect_zoo(source, num_classes, as_json)
        return
    from seedge.checkpoint import load_model
    from seedge.models.layers import count_params

    model, info = load_model(source, arch=arch, num_classes=num_classes, allow_pickle=unsafe_pickle)
    se_blocks = sum(1 for m in model.modules() if "SqueezeExcit" in type(m).__name__ or "SEModule" in type(m).__name__)
    summary = {
        "source": info["source"],
        "sha256": info["source_sha256"],
        "arch": info["arch"],
        "num_classes": info["num_classes"],
        "class_names": info["class_names"],
        "parameters": count_params(model),
        "se_blocks": se_blocks,
        "preprocess": info["preprocess"].to_dict(),
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    pre = summary["preprocess"]
    click.echo(f"{summary['source']}  (sha256 {summary['sha256'][:12]})")
    click.echo(f"  arch        {summary['arch']}  ({summary['parameters'] / 1e6:.2f}M parameters, "
               f"{se_blocks} SE blocks)")
    click.echo(f"  classes     {summary['num_classes']}: {', '.join(summary['class_names'][:10])}"
               + (" ..." if summary["num_classes"] > 10 else ""))
    click.echo(f"  input       {'x'.join(map(str, pre['input_size']))}, mean {pre['mean']}, std {pre['std']}")


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


def _inspect_zoo(arch: str, num_classes: int | None, as_json: bool) -> None:
    from seedge.models.summary import zoo_summary

    s = zoo_summary(arch, num_classes)
    if as_json:
        click.echo(json.dumps({"source": None, "zoo": True, **s}, indent=2))
        return
    size = "x".join(map(str, s["input_size"]))
    click.echo(f"{arch}  (zoo model: {s['description']}; no weights -- pass a checkpoint to inspect trained ones)")
    click.echo(f"  parameters  {s['parameters'] / 1e6:.2f}M")
    click.echo(f"  compute     {s['gflops']:.3f} GFLOPs ({s['gmacs']:.3f} GMACs) per image at {size}")
    click.echo(f"  SE blocks   {s['se_blocks']}" + ("  (a baseline without SE)" if not s["se_blocks"] else ""))
    click.echo(f"  classes     {s['num_classes']}")
    click.echo(f"  input       {size}, mean {s['mean']}, std {s['std']}")
