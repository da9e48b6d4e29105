"""`seedge evaluate`: accuracy, macro and weighted P/R/F1, per-class table, ROC-AUC, confusion
matrix and ROC curves, Grad-CAM."""

from __future__ import annotations

import click

from seedge.cli.data_options import pop_source_options, source_options
from seedge.cli.model_options import (
    class_names_option,
    model_file_options,
    pop_preprocessing,
    preprocessing_options,
    registered_arch,
)
from seedge.cli.render import to_json
from seedge.data.splits import SPLITS


@click.command("evaluate")
@click.argument("checkpoint")
@click.option(
    "--data",
    metavar="SRC",
    help="digits, animals[,n=K], shapes[:HxW], ImageFolder dir or CSV "
    "[default: the data the checkpoint was trained on].",
)
@click.option("--split", default="test", show_default=True, type=click.Choice(SPLITS))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else.")
@click.option(
    "--gradcam",
    default=None,
    type=int,
    metavar="N",
    help="Write Grad-CAM overlays (PNG) for the first N images of each class, file names saying the "
    "true and predicted class [default: 0; 4 with --gradcam-class/--gradcam-layer].",
)
@click.option(
    "--gradcam-class",
    metavar="NAME",
    help="Grad-CAM for images of this class only, explaining this "
    "class [default: every class, explaining the prediction].",
)
@click.option(
    "--gradcam-layer",
    metavar="MODULE",
    help="Module whose feature map Grad-CAM uses, e.g. layer3 [default: the last one whose output is at least 7x7].",
)
@click.option(
    "--out", metavar="DIR", help="Where the PNGs and metrics.json go [default: <checkpoint dir>/eval-<split>]."
)
@click.option("--limit", type=int, help="Evaluate at most N images (chosen with a fixed seed).")
@click.option("--batch-size", default=256, show_default=True, type=int)
@click.option("--data-root", metavar="DIR", help="Folder CSV paths are relative to.")
@click.option("--model", "arch", metavar="ARCH", help="Architecture of a bare state dict.")
@model_file_options
@preprocessing_options
@class_names_option
@click.option("--unsafe-pickle", is_flag=True, help="Allow pickles that need arbitrary code.")
@click.option("--device", default="cpu", show_default=True)
@source_options()
def command(
    checkpoint,
    data,
    split,
    as_json,
    gradcam,
    gradcam_class,
    gradcam_layer,
    out,
    limit,
    batch_size,
    data_root,
    arch,
    unsafe_pickle,
    device,
    model_file,
    model_args,
    class_names,
    **csv_kw,
) -> None:
    """Evaluate CHECKPOINT (a file or a training run directory) on a data split; labels are matched
    to the model's classes by name (--class-names names them for a bare state dict)."""
    from seedge.evaluate import evaluate_checkpoint

    preprocessing = pop_preprocessing(csv_kw)
    arch = registered_arch(arch, model_file, model_args)

    from rich.console import Console

    if gradcam is None:
        gradcam = 4 if (gradcam_class or gradcam_layer) else 0
    err = Console(stderr=True, highlight=False)
    r = evaluate_checkpoint(
        checkpoint,
        data,
        split=split,
        limit=limit,
        batch_size=batch_size,
        gradcam=gradcam,
        out=out,
        data_root=data_root,
        arch=arch,
        allow_pickle=unsafe_pickle,
        device=device,
        data_options=pop_source_options(csv_kw),
        gradcam_class=gradcam_class,
        class_names=class_names,
        preprocessing=preprocessing,
        gradcam_layer=gradcam_layer,
        say=lambda line: err.print(line, markup=False, soft_wrap=True),
    )
    if as_json:
        click.echo(to_json(r))
        return
    _print_report(r)


def _print_report(r: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    auc = r.get("roc_auc_macro")
    con.print(
        f"{r['arch']} on {r['data']} ({r['split']}, {r['samples']} images): accuracy {r['accuracy']:.4f}",
        markup=False,
        soft_wrap=True,
    )
    con.print(
        f"  macro     precision {r['precision_macro']:.4f}  recall {r['recall_macro']:.4f}  "
        f"F1 {r['f1_macro']:.4f}" + (f"  ROC-AUC {auc:.4f}" if auc is not None else ""),
        markup=False,
    )
    wauc = r.get("roc_auc_weighted")
    con.print(
        f"  weighted  precision {r['precision_weighted']:.4f}  recall {r['recall_weighted']:.4f}  "
        f"F1 {r['f1_weighted']:.4f}" + (f"  ROC-AUC {wauc:.4f}" if wauc is not None else ""),
        markup=False,
    )
    per = Table(title="per class (ROC-AUC: one-vs-rest)")
    for col in ("class", "precision", "recall", "f1", "roc-auc", "support"):
        per.add_column(col, justify="left" if col == "class" else "right")
    for c in r["per_class"]:
        per.add_row(
            c["class"],
            f"{c['precision']:.4f}",
            f"{c['recall']:.4f}",
            f"{c['f1']:.4f}",
            "-" if c.get("auc") is None else f"{c['auc']:.4f}",
            str(c["support"]),
        )
    con.print(per)
    names = r["class_names"]
    if len(names) <= 20:  # bigger matrices are read in confusion_matrix.png
        cm = Table(title="confusion matrix (rows: true, columns: predicted)")
        cm.add_column("")
        for n in names:
            cm.add_column(n, justify="right")
        for n, row in zip(names, r["confusion_matrix"], strict=True):
            cm.add_row(n, *[str(v) for v in row])
        con.print(cm)
    if r.get("gradcam"):
        g = r["gradcam"]
        con.print(f"Grad-CAM at {g['layer']}, explaining {g['explains']}", markup=False)
    for key, value in r.get("files", {}).items():
        if isinstance(value, list):
            con.print(
                f"{key}: {len(value)} files in {value[0].rsplit('/', 1)[0]}"
                if value
                else f"{key}: no images of that class in the split",
                markup=False,
            )
        else:
            con.print(f"{key}: {value}", markup=False)
