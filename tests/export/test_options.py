"""ExportOptions is the one signature: every field reaches the CLI and `seedge.export` with its
one default, an unknown keyword is one line, and values are checked when the options are made."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import seedge
from seedge.cli import cli
from seedge.cli.export_cmd import cli_options
from seedge.errors import SeedgeError
from seedge.export.api import export_options
from seedge.export.options import ExportOptions
from seedge.options import cli_default, fields_of, flag_of, option, spec

COMMAND = cli.commands["export"]
# Fields that are not one CLI option of their own, each deliberately (see their `elsewhere`).
NOT_ONE_CLI_OPTION = {"data_options", "thresholds"}


def _param(name: str):
    (p,) = [p for p in COMMAND.params if p.name == name]
    return p


def test_every_field_is_declared_with_its_meaning():
    assert [f.name for f in fields_of(ExportOptions)] == [f.name for f in dataclasses.fields(ExportOptions)]
    for f in fields_of(ExportOptions):
        assert spec(f)["help"].strip(), f.name


def test_every_field_is_reachable_from_the_cli_with_the_same_default():
    for f in fields_of(ExportOptions):
        if not spec(f)["cli"]:
            continue
        p = _param(f.name)
        assert p.opts[0] == flag_of(f).split("/")[0], f.name
        assert p.help == spec(f)["help"], f.name
        default = () if spec(f)["multiple"] else cli_default(f)
        assert p.default == default, f.name
    assert {f.name for f in fields_of(ExportOptions) if not spec(f)["cli"]} == NOT_ONE_CLI_OPTION
    # data_options is filled by the source options: each flag it names is on the command.
    (data,) = [f for f in fields_of(ExportOptions) if f.name == "data_options"]
    flags = {o for p in COMMAND.params for o in p.opts}
    assert {s.strip() for s in spec(data)["elsewhere"].split(",")} <= flags


def test_the_cli_defaults_make_the_default_options():
    params = COMMAND.make_context("export", []).params
    params = {k: v for k, v in params.items() if k not in ("source", "model_file", "model_args", "key_map",
                                                           "class_names", "no_passes", "as_json",
                                                           "preprocessing_preset", "mean", "std")}
    assert cli_options(params) == ExportOptions()
    given = COMMAND.make_context("export", ["--formats", "onnx", "--no-passes", "--img-size", "64x96",
                                            "--exclude", "layer1", "--label-column", "y"]).params
    opts = cli_options({k: v for k, v in given.items() if k not in ("source", "model_file", "model_args", "key_map",
                                                                    "class_names", "no_passes", "as_json",
                                                                    "preprocessing_preset", "mean", "std")},
                       no_passes=given["no_passes"])
    assert (opts.formats, opts.passes, opts.img_size, opts.exclude) == (("onnx",), (), (64, 96), ("layer1",))
    assert opts.data_options.label_column == "y"


def test_every_field_is_a_keyword_of_seedge_export_with_the_same_default():
    defaults = {f.name: f.default for f in fields_of(ExportOptions)}
    assert export_options(None, **defaults) == ExportOptions() == export_options(None)
    # seedge.export writes no default of its own for an option.
    assert not set(inspect.signature(seedge.export).parameters) & set(defaults)


def test_an_unknown_keyword_is_one_line_naming_the_known_ones(tmp_path):
    with pytest.raises(SeedgeError) as e:
        seedge.export(None, out=tmp_path, formts="onnx")
    message = str(e.value)
    assert "\n" not in message and "unknown keyword formts" in message
    assert all(f.name in message for f in fields_of(ExportOptions))
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("kw, expected", [
    ({"formats": "onnx,tflite"}, "unknown format 'tflite'; choose from torchscript"),
    ({"precisions": ("fp64",)}, "unknown precision 'fp64'"),
    ({"int8_policy": "se-magic"}, "unknown INT8 policy 'se-magic'; choose from se-aware"),
    ({"calib_method": "mse"}, "unknown calibration method 'mse'"),
    ({"int8_cpu": "avx2"}, "unknown --int8-cpu 'avx2'"),
    ({"calib_samples": 0}, "--calib-samples"),
    ({"seed": "x"}, "--seed 'x': give a whole number"),
    ({"img_size": "big"}, "--img-size"),
    ({"tensorrt_batch": "1,8"}, "--batch 1,8: sets the batch profile of TensorRT engines"),
])
def test_bad_values_are_refused_when_the_options_are_made(kw, expected):
    with pytest.raises(SeedgeError) as e:
        ExportOptions(**kw)
    assert expected in str(e.value) and "\n" not in str(e.value)


def test_values_are_normalized_once_and_replace_keeps_them():
    opts = ExportOptions(formats="onnx, tensorrt,onnx", precisions=["fp32", "fp16"], passes="fold_bn",
                         img_size=32, exclude="layer1", tensorrt_batch="64,1,8", calib_samples="16")
    assert (opts.formats, opts.precisions, opts.passes, opts.img_size, opts.exclude, opts.tensorrt_batch,
            opts.calib_samples) == (("onnx", "tensorrt"), ("fp32", "fp16"), ("fold_bn",), (32, 32), ("layer1",),
                                    (1, 8, 64), 16)
    assert dataclasses.replace(opts, int8_cpu="portable") == ExportOptions(**{
        **{f.name: getattr(opts, f.name) for f in dataclasses.fields(opts)}, "int8_cpu": "portable"})


def test_an_option_off_the_cli_says_where_it_is_reached():
    with pytest.raises(ValueError, match="elsewhere"):
        option(None, "help", cli=False)
