"""Error types that map onto the CLI's exit codes (1 a check failed, 2 bad input; README "Using it")."""

import re
from collections.abc import Iterable


class SeedgeError(Exception):
    """Bad usage or bad input: the CLI prints the message as one line and exits 2.

    Messages name the file and the problem and, where there is one, what to do.
    """

    exit_code = 2


class IntegrityError(SeedgeError):
    """A folder's files are not the ones its manifest recorded, or the manifest names a file
    outside the folder or one that is not a regular file. Never skipped: callers that may
    skip an artifact which cannot run here (bench's default selection) re-raise this."""


def unknown(kind: str, value, choices: Iterable) -> SeedgeError:
    """The one wording for a value outside a fixed set of names, to raise:
    "unknown KIND 'x'; choose from a, b, c"."""
    return SeedgeError(f"unknown {kind} '{value}'; choose from {', '.join(map(str, choices))}")


class CheckFailed(Exception):
    """A parity or benchmark check failed: the CLI exits 1."""

    exit_code = 1


class Unavailable(SeedgeError):
    """A backend cannot run here: its library, or the library's support for the asked-for device
    (a GPU execution provider, a GPU), is missing. The device runtime's automatic artifact choice
    moves on to the next candidate; everything else reports it like any bad input."""


class MissingBackend(Unavailable):
    """An optional backend is not installed; the message names the extra to install."""

    def __init__(self, backend: str, extra: str, detail: str = "", needs: str = ""):
        msg = f"backend '{backend}' is not available: install it with `pip install 'seedge[{extra}]'`"
        if detail:
            msg += f" ({detail})"
        if needs:  # e.g. TensorRT: the package alone is not enough
            msg += f"; it also needs {needs}"
        super().__init__(msg)


# Lines that only say where in a library's C++ sources an error passed through (OpenVINO prints
# "Exception from src/inference/src/cpp/core.cpp:84:" before the line that says what happened).
_LOCATION_ONLY = re.compile(
    r"^(Exception from|Check '.*' failed at) \S+?(:\d+)?:?$"
    r"|^Traceback \(most recent call last\):$"
)


def message_line(e: BaseException, limit: int = 400) -> str:
    """An exception's message as one line that says something, for the CLI: blank lines and
    source-location lines are dropped and "[ ERROR ]" prefixes removed. A message built of
    location-tagged frames (OpenVINO: outer context first, the cause last, e.g. "Loading input
    model" then "Path '../w.bin' resolves ... outside the base directory") keeps all its frames,
    joined; any other message keeps its first line."""
    lines, framed = [], False
    for line in str(e).splitlines():
        line = re.sub(r"^\[\s*ERROR\s*\]\s*", "", line.strip())
        if _LOCATION_ONLY.match(line):
            framed = True
        elif line:
            lines.append(line)
    if not lines:
        return type(e).__name__
    text = ": ".join(lines) if framed else lines[0]
    return text[:limit]
