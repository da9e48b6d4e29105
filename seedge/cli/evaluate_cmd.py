"""`seedge evaluate`: accuracy, macro P/R/F1, per-class recall, confusion matrix, Grad-CAM."""

from __future__ import annotations

import json

import click

from seedge.cli.data_options import pop_source_options, source_options
from seedge.data.splits import SPLITS


@click.command("evaluate")
@click.argument("checkpoint")
@click.option("--data", metavar="SRC", help="digits, shapes[:HxW], ImageFolder dir or CSV "
                                            "[default: the data the checkpoint was trained on].")
@click.option("--split", default="test", show_default=True, type=click.Choice(SPLITS))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else.")
@click.option("--gradcam", default=0, show_default=True, type=int, metavar="N",
              help="Write Grad-CAM overlays (PNG) for the first N images.")
@click.option("--out", metavar="DIR", help="Where the PNGs and metrics.json go [default: <checkpoint dir>/eval-<split>].")
@click.option("--limit", type=int, help="Evaluate at most N images (chosen with a fixed seed).")
@click.option("--batch-size", default=256, show_default=True, type=int)
@click.option("--data-root", metavar="DIR", help="Folder CSV paths are relative to.")
@click.option("--model", "arch", metavar="ARCH", help="Architecture of a bare state dict.")
@click.option("--unsafe-pickle", is_flag=True, help="Allow pickles that need arbitrary code.")
@click.option("--device", default="cpu", show_default=True)
@source_options()
def command(checkpoint, data, split, as_json, gradcam, out, limit, batch_size, data_root, arch, unsafe_pickle,
            device, **csv_kw) -> None:
    """Evaluate CHECKPOINT (a file or a training run directory) on a data split."""
    from seedge.evaluate import evaluate_checkpoint

    r = evaluate_checkpoint(checkpoint, data, split=split, limit=limit, batch_size=batch_size, gradcam=gradcam,
                            out=out, data_root=data_root, arch=arch, allow_pickle=unsafe_pickle, device=device,
                            data_options=pop_source_options(csv_kw))
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    _print_report(r)


def _print_report(r: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    con.print(f"{r['arch']} on {r['data']} ({r['split']}, {r['samples']} images): accuracy {r['accuracy']:.4f}  "
              f"macro precision {r['precision_macro']:.4f}  recall {r['recall_macro']:.4f}  "
              f"F1 {r['f1_macro']:.4f}", markup=False, soft_wrap=True)
    per = Table(title="per class")
    for col in ("class", "precision", "recall", "f1", "support"):
        per.add_column(col, justify="left" if col == "class" else "right")
    for c in r["per_class"]:
        per.add_row(c["class"], f"{c['precision']:.4f}", f"{c['recall']:.4f}", f"{c['f1']:.4f}", str(c["support"]))
    con.print(per)
    names = r["class_names"]
    cm = Table(title="confusion matrix (rows: true, columns: predicted)")
    cm.add_column("")
    for n in names:
        cm.add_column(n, justify="right")
    for n, row in zip(names, r["confusion_matrix"]):
        cm.add_row(n, *[str(v) for v in row])
    con.print(cm)
    for key, value in r.get("files", {}).items():
        if isinstance(value, list):
            con.print(f"{key}: {len(value)} files in {value[0].rsplit('/', 1)[0]}" if value else "", markup=False)
        else:
            con.print(f"{key}: {value}", markup=False)
