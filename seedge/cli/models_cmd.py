"""`seedge models`: list the registered SE models with their input size and normalization."""

from __future__ import annotations

import json

import click


@click.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--timm", "with_timm", is_flag=True, help="Also list timm SE models (needs timm).")
def command(as_json: bool, with_timm: bool) -> None:
    """List the model zoo."""
    from seedge.models import list_models, model_info

    infos = [model_info(n) for n in list_models(include_timm=with_timm)]
    if as_json:
        click.echo(json.dumps({"models": infos}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"seedge model zoo ({len(infos)} models)")
    for col in ("name", "family", "input", "classes", "mean / std"):
        table.add_column(col)
    for i in infos:
        c, h, w = i["input_size"]
        norm = "/".join(f"{m:.3g}" for m in i["mean"]) + "  " + "/".join(f"{s:.3g}" for s in i["std"])
        table.add_row(i["name"], i["family"], f"{c}x{h}x{w}", str(i["num_classes"]), norm)
    Console().print(table)
