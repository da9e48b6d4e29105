"""Error types that map onto the CLI's exit codes (DESIGN.md: 1 check failed, 2 bad input)."""


class SeedgeError(Exception):
    """Bad usage or bad input: the CLI prints the message as one line and exits 2.

    Messages name the file and the problem and, where there is one, what to do.
    """

    exit_code = 2


class CheckFailed(Exception):
    """A parity or benchmark check failed: the CLI exits 1."""

    exit_code = 1


class Unavailable(SeedgeError):
    """A backend cannot run here: its library, or the library's support for the asked-for device
    (a GPU execution provider, a GPU), is missing. The device runtime's automatic artifact choice
    moves on to the next candidate; everything else reports it like any bad input."""


class MissingBackend(Unavailable):
    """An optional backend is not installed; the message names the extra to install."""

    def __init__(self, backend: str, extra: str, detail: str = ""):
        msg = f"backend '{backend}' is not available: install it with `pip install 'seedge[{extra}]'`"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)
