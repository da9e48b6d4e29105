"""`seedge pack DIR ARTIFACT --out DIR2`: a lean device folder with one artifact of an export."""

from __future__ import annotations

import click


@click.command("pack")
@click.argument("folder", type=str)
@click.argument("artifact", type=str)
@click.option(
    "--out",
    "out",
    required=True,
    metavar="DIR2",
    help="Folder to write (replaced if an earlier pack or export wrote it; any other folder is refused).",
)
@click.option(
    "--reference-samples",
    "reference_samples",
    type=int,
    default=None,
    metavar="N",
    help="Reference images to keep for the self-test (default: 4; all the export has when N is larger).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else.")
def command(folder, artifact, out, reference_samples, as_json) -> None:
    """Copy ARTIFACT (an id such as openvino-int8) of the export FOLDER into DIR2 with only what a
    device needs: the artifact's files, the manifest reduced to that entry, the first few reference
    images (--reference-samples) with their eager logits.

    The other artifacts and the eager baseline are left out; seedge.runtime and the C++ runtime
    open DIR2 as they open the full export."""
    from seedge.cli.render import to_json
    from seedge.runtime.pack import DEFAULT_REFERENCE_SAMPLES, pack

    n = DEFAULT_REFERENCE_SAMPLES if reference_samples is None else reference_samples
    result = pack(folder, artifact, out, reference_samples=n)
    if as_json:
        click.echo(to_json(result))
        return
    for f in result["files"]:
        click.echo(f"{f['bytes']:>12,}  {f['file']}")
    click.echo(f"{result['bytes']:>12,}  total in {result['folder']} ({result['artifact']})")
    if not result["raw_reference"]:
        click.echo(
            "note: the export has no raw reference data (reference/*.f32): the C++ runtime's self-test "
            "needs an export by this seedge",
            err=True,
        )
