"""`seedge export [SOURCE]`: build, verify and publish every requested artifact.

Thin: parses and validates the options, calls `seedge.export.pipeline.export_model`, prints
progress on stderr and the summary table (or, with --json, one JSON document) on stdout.
"""

from __future__ import annotations

import time

import click

from seedge.cli.data_options import pop_source_options, source_options
from seedge.cli.model_options import (
    class_names_option,
    key_map_option,
    model_file_options,
    pop_preprocessing,
    preprocessing_options,
)
from seedge.export.options import ExportOptions
from seedge.options import click_options


# The options are ExportOptions' fields (default, help, spelling, choices written there once),
# generated in its order; the options that say what SOURCE is sit beside --model.
@click.command("export")
@click.argument("source", required=False, type=str)
@click_options(ExportOptions, stop="num_classes")
@model_file_options
@key_map_option
@preprocessing_options
@click_options(ExportOptions, start="num_classes", stop="formats")
@class_names_option
@click_options(ExportOptions, start="formats", stop="count_nodes")
@click.option("--no-passes", is_flag=True, help="Export the model as loaded, without passes.")
@click_options(ExportOptions, start="count_nodes")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else.")
@source_options()
def command(source, model_file, model_args, key_map, class_names, no_passes, as_json, **kw) -> None:
    """Export SOURCE (a checkpoint file, a training run directory, or a torch.export program .pt2,
    which needs no Python code; default: the demo SE model; with --model ARCH --random-weights: that zoo
    model untrained)."""
    from rich.console import Console

    from seedge.export.pipeline import export_model
    from seedge.export.source import ModelSource

    # Cheap checks first (ExportOptions checks its values when made): a typo must not cost a model load.
    preprocessing = pop_preprocessing(kw)
    options = cli_options(kw, no_passes)
    calib, data_options = options.calib, options.data_options

    err = Console(stderr=True)
    if calib:  # first, as train says it: which CSV columns (and splits) the calibration data is read with
        from seedge.data import open_source

        calib_data = open_source(calib, options=data_options)
        if calib_data.kind == "csv" and calib_data.notes:
            err.print(calib_data.notes_line(calib), markup=False, soft_wrap=True, highlight=False)
    start = time.perf_counter()
    with err.status("exporting", spinner="dots") as status:

        def progress(msg: str, phase: str) -> None:
            status.update(msg)
            # While inputs are still checked, a bad one must end in its one error line only.
            if phase != "check":
                err.print(f"[dim]{time.perf_counter() - start:6.1f}s[/dim] {msg}", highlight=False)

        folder = export_model(
            source,
            options,
            progress=progress,
            model_source=ModelSource(
                model_file=model_file,
                model_args=model_args,
                key_map=tuple(key_map),
                class_names=class_names,
                preprocessing=preprocessing,
            ),
        )
    from seedge.artifacts import read_manifest

    manifest = read_manifest(folder)
    if (manifest["model"].get("random_weights") or {}).get("note"):  # stderr: said with --json too
        err.print(manifest["model"]["random_weights"]["note"], markup=False, soft_wrap=True)
    if as_json:
        from seedge.cli.render import to_json

        doc = {"folder": str(folder), "artifacts": manifest["artifacts"], "skipped": manifest.get("skipped", [])}
        if "int8_search" in manifest:
            doc["int8_search"] = manifest["int8_search"]
        click.echo(to_json(doc))
        return
    for s in manifest.get("skipped", []):
        err.print(f"skipped {s['id']}: {s['reason']}")
    err.print(f"exported to {folder} in {time.perf_counter() - start:.1f}s")
    out_console = Console()
    from seedge.cli.render import export_summary_table, max_drop_summary

    # Piped or captured output has no terminal width; rich would squeeze the table into 80.
    out_console = out_console if out_console.is_terminal else Console(width=180)
    out_console.print(export_summary_table(manifest, folder))
    if "int8_search" in manifest:
        out_console.print(max_drop_summary(manifest["int8_search"]), markup=False, highlight=False, soft_wrap=True)


def cli_options(params: dict, no_passes: bool = False) -> ExportOptions:
    """ExportOptions from the command's parameters (its generated options, the source options
    that fill data_options, and --no-passes, the CLI's spelling of passes=())."""
    from seedge.errors import SeedgeError

    params = dict(params)
    data_options = pop_source_options(params)
    if params["passes"] is not None and no_passes:
        raise SeedgeError("--passes and --no-passes contradict each other; give one")
    return ExportOptions(**{**params, "passes": () if no_passes else params["passes"], "data_options": data_options})
