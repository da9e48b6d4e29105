"""`seedge models`: list the model zoo: SE or baseline, parameters, input size, classes, family.

Parameter counts come from building each model on PyTorch's `meta` device: shapes only, no
memory and no initialisation cost, so even RegNetY-128GF is counted in milliseconds.
"""

from __future__ import annotations

from typing import Literal

import click

from seedge.cli.render import to_json


def zoo_rows(names: list[str]) -> list[dict]:
    """model_info of each name plus "se" (False for the baselines) and "parameters"."""
    from seedge.models import model_info
    from seedge.models.torchvision_zoo import BASELINE_TAG

    return [
        {**model_info(n), "se": BASELINE_TAG not in model_info(n)["tags"], "parameters": parameter_count(n)}
        for n in names
    ]


def parameter_count(name: str) -> int | None:
    import torch

    from seedge.errors import SeedgeError
    from seedge.models import create_model
    from seedge.models.layers import count_params

    try:
        with torch.device("meta"):
            return count_params(create_model(name))
    except (SeedgeError, RuntimeError, NotImplementedError):  # e.g. RegNet computes its widths with tensors
        return _torchvision_count(name)


def _torchvision_count(name: str) -> int | None:
    """The count torchvision's weight metadata records (for the default 1000 classes seedge registers)."""
    from seedge.models import model_info

    if "torchvision" not in model_info(name)["tags"] or model_info(name)["num_classes"] != 1000:
        return None
    try:
        from torchvision.models import get_model_weights

        return int(next(iter(get_model_weights(name))).meta["num_params"])
    except (ValueError, KeyError, StopIteration):
        return None


@click.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--timm", "with_timm", is_flag=True, help="Also list timm SE models (needs timm).")
def command(as_json: bool, with_timm: bool) -> None:
    """List the model zoo (SE models and the plain ResNet baselines they are compared with)."""
    from seedge.models import list_models

    infos = zoo_rows(list_models(include_timm=with_timm))
    if as_json:
        click.echo(to_json({"models": infos}))
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    # Compact (no vertical rules, no padding beyond one space): the widest name still fits 80 columns.
    table = Table(
        title=f"seedge model zoo ({len(infos)} models; SE no = baseline without SE)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
    )
    table.add_column("name", overflow="fold")  # a long timm name folds onto a second line, never cut
    columns: tuple[tuple[str, Literal["left", "right"]], ...] = (
        ("SE", "left"),
        ("params", "right"),
        ("input", "right"),
        ("classes", "right"),
        ("family", "left"),
    )
    for col, justify in columns:
        table.add_column(col, justify=justify, no_wrap=True)
    for i in infos:
        c, h, w = i["input_size"]
        params = f"{i['parameters'] / 1e6:.1f}M" if i["parameters"] is not None else "-"
        table.add_row(i["name"], "yes" if i["se"] else "no", params, f"{h}x{w}", str(i["num_classes"]), i["family"])
    Console().print(table)
