"""`seedge verify DIR`: parity of every artifact in an export folder with eager PyTorch FP32."""

from __future__ import annotations

import click

from seedge.backends.table import ARTIFACT_BACKENDS, DEVICES
from seedge.cli.data_options import pop_source_options, source_options
from seedge.cli.model_options import class_names_option, with_class_names
from seedge.data.splits import SPLITS
from seedge.trust import TRUST_HELP


@click.command("verify")
@click.argument("folder", type=str)
@click.option(
    "--data",
    "data_src",
    default=None,
    metavar="SRC",
    help="Labelled data for accuracy: 'digits', 'animals', an ImageFolder directory or a CSV of path,label rows.",
)
@click.option("--split", type=click.Choice(SPLITS), default="test", show_default=True, help="Split of --data to use.")
@click.option("--limit", type=int, default=None, help="Use at most this many images of --data.")
@click.option(
    "--device",
    type=click.Choice(DEVICES),
    default="cpu",
    show_default=True,
    help="Device for the baseline and the artifacts (OpenVINO always runs on the CPU).",
)
@click.option(
    "--artifact",
    "artifact_ids",
    multiple=True,
    metavar="ID",
    help="Verify only this artifact (repeatable), e.g. --artifact onnx-fp32.",
)
@click.option(
    "--backend",
    "backends",
    multiple=True,
    type=click.Choice(ARTIFACT_BACKENDS),
    help="Run the artifacts on this backend (repeatable): every artifact it reads, e.g. --backend "
    "openvino also verifies the ONNX files on OpenVINO; default: each artifact on the backend it "
    "was exported for.",
)
@click.option("--trust-native", is_flag=True, help=TRUST_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else.")
@class_names_option
@source_options()
def command(
    folder, data_src, split, limit, device, artifact_ids, backends, trust_native, as_json, class_names, **csv_kw
) -> None:
    """Check every artifact in FOLDER (written by `seedge export`) against the eager FP32 model."""
    from rich.console import Console

    from seedge.artifacts import read_manifest
    from seedge.cli.render import print_verify, to_json
    from seedge.errors import CheckFailed
    from seedge.verify import verify_artifacts

    err = Console(stderr=True)
    manifest = read_manifest(folder)
    if class_names:  # labels of --data are matched to these by name
        manifest = with_class_names(manifest, class_names)
    if device != "cpu":  # a GPU torch cannot see is one line, before any image is read
        from seedge.backends.torch_eager import torch_device

        torch_device(device)
    # First, before any image is read: which CSV columns and splits are used (as train says it).
    say = lambda line: err.print(line, markup=False, soft_wrap=True, highlight=False)  # noqa: E731
    data = _load_data(manifest, data_src, split, limit, pop_source_options(csv_kw), say) if data_src else None
    with err.status("verifying", spinner="dots") as status:
        result = verify_artifacts(
            folder,
            manifest,
            artifacts=list(artifact_ids) or None,
            data=data,
            device=device,
            on_step=lambda label: status.update(f"verifying {label}"),
            backends=list(backends) or None,
            trust_native=trust_native,
        )
    if as_json:
        click.echo(to_json(result))
    else:
        out = Console()
        # Piped or captured output has no terminal width; rich would squeeze the table into 80.
        print_verify(result, out if out.is_terminal else Console(width=160))
    failed = [
        r["id"] + (f" on {r['backend']}" if r.get("artifact_backend") else "")
        for r in result["artifacts"]
        if not r["passed"]
    ]
    if failed:
        raise CheckFailed(f"{len(failed)} of {len(result['artifacts'])} artifacts failed parity: {', '.join(failed)}")


def _load_data(manifest: dict, src: str, split: str, limit: int | None, options=None, say=None):
    """(x, y, class_names) preprocessed exactly as the manifest says the model expects."""
    from seedge.data import load_arrays
    from seedge.preprocess import PreprocessSpec
    from seedge.verify.run import model_class_names

    # Labels are encoded by name with the model's classes, "0".."N-1" included (a folder of only
    # digits 3 and 7 is scored against outputs 3 and 7); a label the model lacks is an error.
    return load_arrays(
        src,
        PreprocessSpec.from_dict(manifest["preprocessing"]),
        split,
        limit=limit,
        class_names=model_class_names(manifest),
        progress=True,
        options=options,
        say=say,
    )
