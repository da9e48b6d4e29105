"""The `seedge` command: a thin Click group; each subcommand lives in its own module.

Errors: a SeedgeError is bad usage or input (one line on stderr, exit 2); a CheckFailed
is a parity/benchmark check that failed (exit 1). Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import importlib
import sys

import click

from seedge import __version__
from seedge.errors import CheckFailed, SeedgeError

# One module per subcommand; each defines `command` (a click.Command).
_COMMAND_MODULES = (
    "seedge.cli.models_cmd",
    "seedge.cli.inspect_cmd",
    "seedge.cli.bench_cmd",
    "seedge.cli.verify_cmd",
    "seedge.cli.export_cmd",
    "seedge.cli.train_cmd",
    "seedge.cli.evaluate_cmd",
    "seedge.cli.quantize_report_cmd",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seedge")
def cli() -> None:
    """Take Squeeze-and-Excitation classifiers from PyTorch to devices."""


for _mod in _COMMAND_MODULES:
    cli.add_command(importlib.import_module(_mod).command)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="seedge", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("seedge: aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except SeedgeError as e:
        click.echo(f"seedge: error: {e}", err=True)
        sys.exit(e.exit_code)
    except CheckFailed as e:
        click.echo(f"seedge: check failed: {e}", err=True)
        sys.exit(e.exit_code)
    sys.exit(0)
