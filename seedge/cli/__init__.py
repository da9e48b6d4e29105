"""The `seedge` command: a thin Click group; each subcommand lives in its own module.

Errors (stderr gets one line, never a traceback unless SEEDGE_DEBUG=1):
- SeedgeError: bad usage or input, exit 2.
- CheckFailed: a parity or benchmark check failed, exit 1.
- OSError (a path the user gave cannot be read or written, a full disk) and MemoryError:
  the environment or the input is at fault, not seedge: exit 2, with the file and the reason.
- anything else is a bug in seedge: "internal error" with the exception and a hint to re-run
  with SEEDGE_DEBUG=1 and report it, exit 1 (what Python itself exits with on an uncaught
  exception, so scripts see the code they saw before; the line tells a bug from a failed check).
- SIGTERM during an export ends it through its clean-up (exit 143); Ctrl-C exits 130.
"""

from __future__ import annotations

import importlib
import os
import signal
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
    "seedge.cli.predict_cmd",
    "seedge.cli.pack_cmd",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seedge")
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Also show third-party warnings seedge hides (torch's CUDA-runtime notice, ONNX Runtime's "
    "initializer warnings).",
)
@click.pass_context
def cli(ctx, verbose: bool) -> None:
    """Take Squeeze-and-Excitation classifiers from PyTorch to devices."""
    if not verbose:
        from seedge.cli.quiet import quiet_third_party

        quiet_third_party(ctx.invoked_subcommand)


for _mod in _COMMAND_MODULES:
    cli.add_command(importlib.import_module(_mod).command)


def main(argv: list[str] | None = None) -> None:
    from seedge.errors import IN_CLI

    token = IN_CLI.set(True)  # the API boundary leaves exceptions to _main's handler
    try:
        _main(argv)
    finally:
        IN_CLI.reset(token)


def _main(argv: list[str] | None) -> None:
    debug = os.environ.get("SEEDGE_DEBUG", "") not in ("", "0")
    try:
        cli.main(args=argv, prog_name="seedge", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("seedge: aborted", err=True)
        sys.exit(130)
    except SystemExit as e:
        if e.code == 128 + signal.SIGTERM:  # raised by the SIGTERM handler an export installs
            click.echo("seedge: terminated (SIGTERM); the staging folder was removed", err=True)
        raise
    except click.UsageError as e:
        # One line, like every other bad input: what is wrong and where to look.
        cmd = e.ctx.command_path if e.ctx is not None else "seedge"
        click.echo(f"{cmd}: error: {e.format_message()} (see `{cmd} --help`)", err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except Exception as e:  # every failure ends in one line (describe_error)
        if debug:
            raise
        code, line = describe_error(e)
        click.echo(line, err=True)
        sys.exit(code)
    sys.exit(0)


def describe_error(e: BaseException) -> tuple[int, str]:
    """(exit code, the one stderr line) for an exception that ended a command."""
    from seedge.errors import message_line

    if isinstance(e, SeedgeError):
        return e.exit_code, f"seedge: error: {_flat(e)}"
    if isinstance(e, CheckFailed):
        return e.exit_code, f"seedge: check failed: {_flat(e)}"
    if isinstance(e, ModuleNotFoundError) and e.name:
        missing = missing_package_line(e.name)
        if missing:
            return 2, f"seedge: error: {missing}"
    if isinstance(e, OSError):
        where = f"{e.filename}: " if e.filename else ""
        reason = e.strerror or message_line(e)
        return 2, f"seedge: error: {where}{reason}; check the path, its permissions and free space"
    if isinstance(e, MemoryError):
        return 2, (
            "seedge: error: out of memory; use a smaller --batch/--limit or fewer images (SEEDGE_DEBUG=1 shows where)"
        )
    return 1, (
        f"seedge: internal error: {type(e).__name__}: {message_line(e)} (a bug in seedge; re-run with "
        f"SEEDGE_DEBUG=1 for the traceback and report it)"
    )


# Modules a command may import that a device install (README "On a device": seedge's wheel with
# --no-deps plus numpy, pillow, click and openvino or onnxruntime) lacks -> their pip names.
DEVICE_PACKAGES = {
    "numpy": "numpy",
    "PIL": "pillow",
    "click": "click",
    "onnxruntime": "onnxruntime",
    "openvino": "openvino",
}
TOOLCHAIN_PACKAGES = {
    "torch": "torch",
    "torchvision": "torchvision",
    "rich": "rich",
    "onnx": "onnx",
    "safetensors": "safetensors",
    "sklearn": "scikit-learn",
    "matplotlib": "matplotlib",
    "nncf": "nncf",
    "re2": "google-re2",
    "timm": "timm",
    "tensorrt": "tensorrt",
}


def missing_package_line(module: str) -> str | None:
    """What to install when `module` is missing, in one line (None: not a package seedge knows)."""
    top = module.split(".")[0]
    if top in DEVICE_PACKAGES:
        return f"the Python package '{top}' is not installed here: pip install {DEVICE_PACKAGES[top]}"
    if top in TOOLCHAIN_PACKAGES:
        return (
            f"this command needs the full seedge install (the package '{top}' is missing; a device install "
            f"runs `seedge predict` and seedge.runtime): in the seedge checkout `pip install -e .`, "
            f"or pip install {TOOLCHAIN_PACKAGES[top]}"
        )
    return None


def _flat(e: BaseException) -> str:
    """seedge's own message on one line (a file name or a library detail may hold newlines), with
    control characters shown escaped: a name the user typed or a stranger's file holds (ESC, BEL)
    must not drive the terminal."""
    line = " ".join(line.strip() for line in str(e).splitlines() if line.strip()) or type(e).__name__
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)
