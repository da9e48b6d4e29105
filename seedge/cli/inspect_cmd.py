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
    """Load SOURCE (checkpoint file or training run) and summarize it."""
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
