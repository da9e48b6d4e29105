"""`seedge train`: train or fine-tune an SE classifier; works unchanged under torchrun."""

from __future__ import annotations

import textwrap

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
from seedge.options import click_options
from seedge.train.options import TrainOptions
from seedge.train.recipes import RECIPES

# "\b" keeps click from re-flowing the list; it is wrapped here to fit 80 columns.
_RECIPES_EPILOG = "\b\nRecipes (--recipe NAME; options given next to it win):\n" + "\n".join(
    textwrap.fill(f"{name}: {r.about}", 78, initial_indent="  ", subsequent_indent="    ")
    for name, r in RECIPES.items()
)


# The options are TrainOptions' fields (default, help, spelling, choices written there once),
# generated in its order, with the options shared with other commands where they belong.
@click.command("train", epilog=_RECIPES_EPILOG)
@click_options(TrainOptions, stop="data")
@model_file_options
@preprocessing_options
@click_options(TrainOptions, start="data", stop="init_class_names")
@class_names_option
@click_options(TrainOptions, start="init_class_names", stop="limit")
@source_options("--split", "--split-fractions")
@click_options(TrainOptions, start="limit")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as one JSON document.")
@click.pass_context
def command(ctx, as_json: bool, classes: str | None, class_names: str | None, recipe: str | None, **kw) -> None:
    """Train an SE classifier and save model.safetensors + model.json + history.json in DIR.

    With --init, the data's labels are matched to the checkpoint's classes by name (--class-names
    names them for a bare state dict); data of other classes gets a new classifier head.

    Distributed: `torchrun --nproc_per_node N -m seedge train ...` (gloo on CPU, nccl on GPU).
    """
    from click.core import ParameterSource

    from seedge.data import parse_classes
    from seedge.train import train
    from seedge.train.recipes import apply_recipe

    model_file, model_args = kw.pop("model_file"), kw.pop("model_args")
    kw["preprocessing"] = pop_preprocessing(kw)
    if model_file:  # the user's class: registered for this run, its run folder named after it
        kw["model"] = registered_arch(kw.get("model"), model_file, model_args)
        kw["out"] = kw.get("out") or f"runs/{kw['model'].rsplit('.', 1)[-1]}"
    elif model_args:
        registered_arch(None, None, model_args)  # says --model-args needs --model-file
    given = {k: v for k, v in kw.items() if ctx.get_parameter_source(k) is not ParameterSource.DEFAULT}
    kw = {**kw, **apply_recipe(recipe, given)}
    data_options = pop_source_options(kw)
    opts = TrainOptions(**kw, classes=parse_classes(classes), data_options=data_options, init_class_names=class_names)
    summary = train(opts)
    import os

    if int(os.environ.get("RANK", "0")) != 0:
        return
    if as_json:
        click.echo(to_json(summary))
        return
    test = summary["test"]
    click.echo(
        f"{summary['checkpoint']}: best epoch {summary['best_epoch']}/{summary['epochs_run']}, "
        f"val_acc {summary['best']['val_acc']:.4f}"
        + (f", test accuracy {test['accuracy']:.4f}" if test else "")
        + f" ({summary['seconds']:.1f}s)"
    )
