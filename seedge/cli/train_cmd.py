"""`seedge train`: train or fine-tune an SE classifier; works unchanged under torchrun."""

from __future__ import annotations

import textwrap

import click

from seedge.cli.data_options import pop_source_options, source_options
from seedge.cli.model_options import class_names_option, model_file_options, registered_arch
from seedge.cli.render import to_json
from seedge.data.transforms import AUGMENT_MEANINGS, AUGMENTS
from seedge.train.recipes import MONITORS, OPTIMIZERS, RECIPES, SCHEDULER_MEANINGS, SCHEDULERS

# "\b" keeps click from re-flowing the list; it is wrapped here to fit 80 columns.
_RECIPES_EPILOG = "\b\nRecipes (--recipe NAME; options given next to it win):\n" + "\n".join(
    textwrap.fill(f"{name}: {r.about}", 78, initial_indent="  ", subsequent_indent="    ")
    for name, r in RECIPES.items())


def _size(ctx, param, value):
    if value is None:
        return None
    from seedge.data.shapes import parse_size

    try:
        return parse_size(value)
    except ValueError:
        raise click.BadParameter(f"'{value}': use S or HxW, e.g. 224 or 245x457") from None


@click.command("train", epilog=_RECIPES_EPILOG)
@click.option("--model", "model", metavar="ARCH", help="Architecture (see `seedge models`); may come from --init.")
@model_file_options
@click.option("--data", required=True, metavar="SRC",
              help="digits, animals[,n=K], shapes[:HxW], an ImageFolder directory or a CSV of path,label rows.")
@click.option("--epochs", default=10, show_default=True, type=int)
@click.option("--img-size", callback=_size, metavar="S|HxW", help="Network input size [default: the model's].")
@click.option("--resize", callback=_size, metavar="S|HxW", help="Resize to this, then crop to --img-size.")
@click.option("--out", metavar="DIR", help="Run directory [default: runs/<arch>]; when it holds an earlier run, "
                                         "the run goes to DIR-2, DIR-3, ... (said on stderr).")
@click.option("--exist-ok", is_flag=True, help="Replace the earlier run in --out instead of numbering a new one.")
@click.option("--batch-size", default=64, show_default=True, type=int)
@click.option("--lr", default=1e-3, show_default=True, type=float)
@click.option("--recipe", type=click.Choice(tuple(RECIPES)), default=None,
              help="A seed project's training recipe (listed below); options given next to it win.")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default="adam", show_default=True)
@click.option("--weight-decay", default=1e-4, show_default=True, type=float, help="L2 weight decay.")
@click.option("--momentum", default=0.9, show_default=True, type=float, help="SGD momentum.")
@click.option("--scheduler", type=click.Choice(SCHEDULERS), default="auto", show_default=True,
              help="Learning-rate schedule: " + "; ".join(f"{k}: {v}" for k, v in SCHEDULER_MEANINGS.items())
              + ".")
@click.option("--step-size", default=7, show_default=True, type=int,
              help="StepLR period in epochs (0: no decay).")
@click.option("--gamma", default=0.1, show_default=True, type=float, help="Decay factor of step and plateau.")
@click.option("--warmup-epochs", default=0, show_default=True, type=int,
              help="Linear learning-rate warm-up over this many first epochs.")
@click.option("--patience", default=5, show_default=True, type=int,
              help="Early stopping: epochs without improvement (0: never stop early).")
@click.option("--monitor", type=click.Choice(MONITORS), default="val_loss", show_default=True,
              help="Validation metric for early stopping and the best checkpoint.")
@click.option("--augment", type=click.Choice(AUGMENTS), default="auto", show_default=True,
              help="Training augmentation: " + "; ".join(f"{k}: {v}" for k, v in AUGMENT_MEANINGS.items()) + ".")
@click.option("--label-smoothing", default=0.0, show_default=True, type=float)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--init", metavar="CKPT", help="Fine-tune from this checkpoint (new classifier head when the "
                                             "class count differs).")
@click.option("--unsafe-pickle", is_flag=True, help="Allow --init pickles that need arbitrary code.")
@class_names_option
@click.option("--classes", metavar="A,B,...", help="Class names in output order (labels must be among them).")
@click.option("--data-root", metavar="DIR", help="Folder CSV paths are relative to [default: the CSV's].")
@source_options("--split", "--split-fractions")
@click.option("--limit", type=int, help="Use at most N images per split (quick runs).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--workers", default=0, show_default=True, type=int, help="DataLoader worker processes.")
@click.option("--threads", type=int, help="torch CPU threads [default: torch's; under torchrun: cores/ranks].")
@click.option("--tensorboard", metavar="DIR", help="Log losses, accuracies and the learning rate for "
                                                    "TensorBoard in DIR (needs the tensorboard package).")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as one JSON document.")
@click.pass_context
def command(ctx, as_json: bool, unsafe_pickle: bool, classes: str | None, class_names: str | None,
            recipe: str | None, **kw) -> None:
    """Train an SE classifier and save model.safetensors + model.json + history.json in DIR.

    With --init, the data's labels are matched to the checkpoint's classes by name (--class-names
    names them for a bare state dict); data of other classes gets a new classifier head.

    Distributed: `torchrun --nproc_per_node N -m seedge train ...` (gloo on CPU, nccl on GPU).
    """
    from click.core import ParameterSource

    from seedge.data import parse_classes
    from seedge.train import TrainOptions, train
    from seedge.train.recipes import apply_recipe

    model_file, model_args = kw.pop("model_file"), kw.pop("model_args")
    if model_file:  # the user's class: registered for this run, its run folder named after it
        kw["model"] = registered_arch(kw.get("model"), model_file, model_args)
        kw["out"] = kw.get("out") or f"runs/{kw['model'].rsplit('.', 1)[-1]}"
    elif model_args:
        registered_arch(None, None, model_args)  # says --model-args needs --model-file
    given = {k: v for k, v in kw.items() if ctx.get_parameter_source(k) is not ParameterSource.DEFAULT}
    kw = {**kw, **apply_recipe(recipe, given)}
    data_options = pop_source_options(kw)
    opts = TrainOptions(**{k: v for k, v in kw.items() if v is not None or k in ("model",)},
                        classes=parse_classes(classes), allow_pickle=unsafe_pickle, data_options=data_options,
                        init_class_names=class_names)
    summary = train(opts)
    import os

    if int(os.environ.get("RANK", "0")) != 0:
        return
    if as_json:
        click.echo(to_json(summary))
        return
    test = summary["test"]
    click.echo(f"{summary['checkpoint']}: best epoch {summary['best_epoch']}/{summary['epochs_run']}, "
               f"val_acc {summary['best']['val_acc']:.4f}"
               + (f", test accuracy {test['accuracy']:.4f}" if test else "")
               + f" ({summary['seconds']:.1f}s)")
