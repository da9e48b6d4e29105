"""Options that say what SOURCE is when it does not say so itself, shared by the commands that
load a model (export, inspect, train, evaluate) and, for class names, verify.

    --model-file FILE.py:NAME   the user's own class or factory (FILE is imported: its code runs)
    --model-args JSON           keyword arguments for NAME
    --key-map REGEX=REPLACEMENT renames of the checkpoint's keys (repeatable)
    --class-names a,b,c|FILE    the classes in output order, for a checkpoint that lacks them
    --preprocessing PRESET, --mean, --std   the normalization a user model's images get
                                (seedge.preprocess.stated: never assumed for the user's code)
"""

from __future__ import annotations

import click

MODEL_FILE_HELP = (
    "Your own model: FILE.py:NAME, a class or a function that returns a torch.nn.Module; the "
    "checkpoint given is then its state dict. seedge IMPORTS FILE.py AND RUNS ITS CODE (and "
    "NAME(**model-args)), as Python would: use only files you trust."
)
MODEL_ARGS_HELP = "Keyword arguments for --model-file's NAME, as a JSON object, e.g. '{\"width\": 32}'."
KEY_MAP_HELP = (
    "Rename the checkpoint's keys before loading: REGEX=REPLACEMENT (Python re.sub syntax, \\1 for "
    "groups), applied in order (repeatable), e.g. --key-map '^features\\.=layer'."
)
CLASS_NAMES_HELP = (
    "Class names in output order, for a checkpoint that does not record them: a,b,c or a file with one name per line."
)


def preprocessing_options(fn):
    """--preprocessing PRESET, --mean, --std; `pop_preprocessing` reads them into the statement
    (the API's preprocessing={...}) the loading code checks."""
    from seedge.preprocess.stated import PRESETS

    presets = "; ".join(f"{k}: {v[2]}" for k, v in PRESETS.items())
    fn = click.option(
        "--std",
        metavar="S|S1,S2,S3",
        default=None,
        help="Per-channel std the scaled [0, 1] pixels are divided by (one number: every channel).",
    )(fn)
    fn = click.option(
        "--mean",
        metavar="M|M1,M2,M3",
        default=None,
        help="Per-channel mean subtracted from the scaled [0, 1] pixels (one number: every channel). A model "
        "from your own code (--model-file, .pt2, a pickled module) needs its normalization stated: "
        "--mean/--std or --preprocessing.",
    )(fn)
    return click.option(
        "--preprocessing",
        "preprocessing_preset",
        type=click.Choice(tuple(PRESETS)),
        default=None,
        help=f"The normalization your own pipeline used: {presets}. --mean/--std given with it win.",
    )(fn)


def pop_preprocessing(kw: dict) -> dict | None:
    """Remove the options `preprocessing_options` added from a command's kwargs -> the statement
    (seedge.preprocess.stated keys) or None when nothing was stated."""
    from seedge.preprocess.stated import check_statement

    values = {"preset": kw.pop("preprocessing_preset", None), "mean": kw.pop("mean", None), "std": kw.pop("std", None)}
    return check_statement({k: v for k, v in values.items() if v is not None})


def model_file_options(fn):
    """--model-file and --model-args."""
    fn = click.option("--model-args", metavar="JSON", default=None, help=MODEL_ARGS_HELP)(fn)
    return click.option("--model-file", metavar="FILE.py:NAME", default=None, help=MODEL_FILE_HELP)(fn)


def key_map_option(fn):
    return click.option("--key-map", "key_map", multiple=True, metavar="REGEX=REPLACEMENT", help=KEY_MAP_HELP)(fn)


def class_names_option(fn):
    return click.option("--class-names", metavar="A,B,C|FILE", default=None, help=CLASS_NAMES_HELP)(fn)


def with_class_names(manifest: dict, value) -> dict:
    """The manifest with --class-names as the model's classes (an export folder of a bare
    checkpoint records "0".."N-1"); names it already records must agree."""
    from seedge.checkpoint import resolve_class_names

    model = manifest["model"]
    names = resolve_class_names(value, model.get("class_names"), int(model["num_classes"]), "the export folder")
    return {**manifest, "model": {**model, "class_names": names}}


def registered_arch(arch: str | None, model_file: str | None, model_args: str | None) -> str | None:
    """--model ARCH, or the architecture --model-file registers (imports and runs FILE.py)."""
    from seedge.errors import SeedgeError

    if model_args and not model_file:
        raise SeedgeError("--model-args goes with --model-file FILE.py:NAME")
    if not model_file:
        return arch
    if arch:
        raise SeedgeError("give --model ARCH (the zoo) or --model-file FILE.py:NAME (your code), not both")
    from seedge.models.user import register_model_file

    return register_model_file(model_file, model_args)
