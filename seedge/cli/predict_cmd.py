"""`seedge predict DIR IMAGE...`: classify image files with an export folder, for scripts.

A thin layer over seedge.runtime.Model (artifact choice, integrity check, preprocessing and
softmax all happen there, as on a device), so this command runs wherever the torch-free
install runs: nothing on its path imports torch or rich.
"""

from __future__ import annotations

import click

from seedge.backends.table import DEVICES
from seedge.runtime.model import RUNTIME_BACKENDS
from seedge.trust import TRUST_HELP

# Images decoded and run together: bounds memory for thousands of files on the command line.
_CHUNK = 64


@click.command("predict")
@click.argument("folder", type=str)
@click.argument("images", nargs=-1, required=True, type=str)
@click.option(
    "--top-k",
    "top_k",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="How many classes to print per image, most probable first.",
)
@click.option(
    "--artifact",
    "artifact_id",
    default=None,
    metavar="ID",
    help="Run this artifact (e.g. onnx-fp32) instead of the runtime's choice.",
)
@click.option(
    "--backend",
    type=click.Choice(RUNTIME_BACKENDS),
    default=None,
    help="Run on this backend only (the runtime's choice among its artifacts).",
)
@click.option(
    "--device",
    type=click.Choice(DEVICES),
    default="cpu",
    show_default=True,
    help="Device to run on (OpenVINO always runs on the CPU).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Inference threads (default: the CPUs this process may use, as verify and bench).",
)
@click.option("--trust-native", is_flag=True, help=TRUST_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else.")
def command(folder, images, top_k, artifact_id, backend, device, threads, trust_native, as_json) -> None:
    """Classify IMAGE files with the export FOLDER: top-k class names and probabilities.

    The artifact is the device runtime's choice (fastest that passed parity at export and runs
    here) unless --artifact or --backend says otherwise; its sha256 is checked before it runs."""
    from seedge.cli.render import to_json
    from seedge.runtime import Model

    with Model.open(
        folder, backend=backend, artifact=artifact_id, device=device, threads=threads, trust_native=trust_native
    ) as model:
        results = []
        for start in range(0, len(images), _CHUNK):
            chunk = list(images[start : start + _CHUNK])
            for image, top in zip(chunk, model.classify(chunk, top_k=top_k), strict=True):
                results.append({"image": image, "top_k": [{"label": name, "probability": p} for name, p in top]})
        facts = {
            "folder": str(folder),
            "artifact": model.artifact["id"],
            "backend": model.backend,
            "precision": model.precision,
            "device": model.device,
        }
    if as_json:
        click.echo(to_json({**facts, "predictions": results}))
        return
    click.echo(f"# {facts['artifact']} on {facts['backend']}/{facts['device']}", err=True)
    for r in results:
        answers = ", ".join(f"{t['label']} {t['probability']:.4f}" for t in r["top_k"])
        click.echo(f"{r['image']}\t{answers}")
