"""TrainOptions is the one signature of a training run: `seedge train`'s options are its fields,
with the same defaults, and the CLI's defaults make the default options."""

from __future__ import annotations

import dataclasses

import pytest

from seedge.cli import cli
from seedge.errors import SeedgeError
from seedge.options import cli_default, fields_of, flag_of, spec
from seedge.train import TrainOptions, train

COMMAND = cli.commands["train"]
# Not one CLI option of their own, each deliberately (see their `elsewhere`).
NOT_ONE_CLI_OPTION = {"init_class_names", "data_options", "progress", "extra", "preprocessing"}


def test_every_field_is_on_the_cli_with_its_default_and_help():
    assert [f.name for f in fields_of(TrainOptions)] == [f.name for f in dataclasses.fields(TrainOptions)]
    params = {p.name: p for p in COMMAND.params}
    for f in fields_of(TrainOptions):
        assert spec(f)["help"].strip(), f.name
        if not spec(f)["cli"]:
            continue
        p = params[f.name]
        assert (p.opts[0], p.help, p.default) == (flag_of(f), spec(f)["help"], cli_default(f)), f.name
    assert {f.name for f in fields_of(TrainOptions) if not spec(f)["cli"]} == NOT_ONE_CLI_OPTION
    flags = {o for p in COMMAND.params for o in p.opts}
    assert "--class-names" in flags and {"--path-column", "--label-column", "--split-column", "--split"} <= flags
    assert {"--preprocessing", "--mean", "--std"} <= flags


def test_the_cli_defaults_make_the_default_options():
    params = COMMAND.make_context("train", ["--data", "digits", "--img-size", "24x32"]).params
    given = {f.name: params[f.name] for f in fields_of(TrainOptions) if spec(f)["cli"]}
    assert TrainOptions(**given) == TrainOptions(data="digits", img_size=(24, 32))


def test_a_run_without_data_is_one_line():
    with pytest.raises(SeedgeError, match="^--data is required"):
        train(TrainOptions(model="se_resnet10_cifar_tiny"))
