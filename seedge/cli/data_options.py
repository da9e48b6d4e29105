"""The data-source options every command that reads SRC shares: CSV columns and split fractions.

`seedge train` names the fractions `--split` (it has no split to choose); evaluate, verify
and export already use `--split` for the split they read, so there it is `--split-fractions`.
"""

from __future__ import annotations

import click

from seedge.data.splits import DEFAULT_FRACTIONS, describe_fractions

_FRACTIONS_HELP = (
    "train,val,test fractions for a source without its own splits, e.g. 0.64,0.16,0.2 "
    f"(stratified, seed 0) [default: {','.join(f'{f:g}' for f in DEFAULT_FRACTIONS)}, "
    f"i.e. {describe_fractions(DEFAULT_FRACTIONS)}]"
)
_KEYS = ("path_column", "label_column", "split_column", "split_fractions")


def source_options(*fraction_flags: str):
    """Decorator adding --path-column/--label-column/--split-column and the fractions option
    (named by `fraction_flags`, default --split-fractions); `pop_source_options` reads them."""
    flags = fraction_flags or ("--split-fractions",)

    def wrap(fn):
        for opt in reversed(
            (
                click.option(
                    "--path-column",
                    metavar="NAME",
                    help="CSV column holding the image paths [default: path/image/image_path/file...].",
                ),
                click.option(
                    "--label-column",
                    metavar="NAME",
                    help="CSV column holding the labels "
                    "[default: label/class/target/y/plane/category; "
                    "in a two-column file, the other column].",
                ),
                click.option(
                    "--split-column",
                    metavar="NAME",
                    help="CSV column of train/val/test per row [default: a column named split].",
                ),
                click.option(*flags, "split_fractions", metavar="TRAIN,VAL,TEST", help=_FRACTIONS_HELP + "."),
            )
        ):
            fn = opt(fn)
        return fn

    return wrap


def pop_source_options(kw: dict):
    """Remove the options `source_options` added from a command's kwargs -> SourceOptions or None."""
    from seedge.data import SourceOptions
    from seedge.data.splits import parse_fractions

    values = {k: kw.pop(k, None) for k in _KEYS}
    if not any(v is not None for v in values.values()):
        return None
    fractions = values.pop("split_fractions")
    return SourceOptions(**values, fractions=parse_fractions(fractions) if fractions is not None else None)
