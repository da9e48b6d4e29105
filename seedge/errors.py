"""Error types that map onto the CLI's exit codes (1 a check failed, 2 bad input; README "Using it")."""

import contextlib
import contextvars
import functools
import logging
import os
import re
import warnings
from collections.abc import Iterable


class SeedgeError(Exception):
    """Bad usage or bad input: the CLI prints the message as one line and exits 2.

    Messages name the file and the problem and, where there is one, what to do: `hint` is that
    part (given, or the message's last "; "-separated clause, its remedy by seedge's wording, or the
    whole message when it has one clause).
    """

    exit_code = 2

    def __init__(self, *args, hint: str | None = None):
        super().__init__(*args)
        self._hint = hint

    @property
    def hint(self) -> str:
        if self._hint is not None:
            return self._hint
        text = str(self)
        return text.rsplit("; ", 1)[1] if "; " in text else text


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


# ------------------------------------------------------------------ the Python API's boundary

# Third-party log lines that tell a seedge user nothing (logger name -> messages, matched at the
# start): torch's C++-extension loader logs "No CUDA runtime is found, using CUDA_HOME=..." on every
# CPU-only machine the first time an exporter touches it. Hidden unless `seedge -v` / SEEDGE_DEBUG.
LOG_NOISE = {
    "torch.utils.cpp_extension": (re.compile(r"No CUDA runtime is found"),),
}


class _DropNoise(logging.Filter):
    def __init__(self, patterns):
        super().__init__()
        self.patterns = patterns

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not any(p.match(text) for p in self.patterns)


def drop_log_noise() -> None:
    """Install the LOG_NOISE filters (once per logger)."""
    for name, patterns in LOG_NOISE.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropNoise) for f in logger.filters):
            logger.addFilter(_DropNoise(patterns))


def debugging() -> bool:
    return os.environ.get("SEEDGE_DEBUG", "") not in ("", "0")


# Set while the CLI runs a command: its own handler turns exceptions into one line (and calls a
# non-seedge exception a bug), so the API boundary lets them through unchanged there.
IN_CLI: contextvars.ContextVar[bool] = contextvars.ContextVar("seedge_in_cli", default=False)


def _api_error(name: str, e: Exception) -> SeedgeError:
    """A non-seedge exception at the API boundary as one SeedgeError line with a hint."""
    kind = type(e).__name__
    if isinstance(e, (TypeError, KeyError)):
        hint = f"check the arguments of {name} against help({name})"
    elif kind in ("InvalidArgument", "Fail", "InvalidGraph", "RuntimeException") or "onnxruntime" in type(e).__module__:
        hint = "the input does not fit the model (shape, dtype, batch): see Model.describe()['input']"
    elif isinstance(e, OSError):
        hint = "check the path, its permissions and free space"
    elif isinstance(e, MemoryError):
        hint = "use fewer images per call"
    else:
        hint = "if the arguments are right, this is a bug in seedge: SEEDGE_DEBUG=1 raises the original error"
    text = _ANSI.sub("", message_line(e))  # torch.export's messages carry terminal colour codes
    return SeedgeError(f"{name}: {kind}: {text}; {hint}", hint=hint)


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@contextlib.contextmanager
def _quiet_libraries():
    """Third-party warnings and log noise stay out of the user's program (SEEDGE_DEBUG shows them);
    seedge's own warnings still show."""
    if debugging():
        yield
        return
    drop_log_noise()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore")
        warnings.filterwarnings("default", module=r"seedge(\.|$)")
        yield


def api_boundary(name: str, quiet: bool = True):
    """Decorate a public API function: it raises only SeedgeError (and CheckFailed, a failed
    check) with a hint, and (`quiet`) third-party warnings do not reach the caller. SEEDGE_DEBUG=1
    lets the original exceptions through; inside the CLI (IN_CLI) they pass unchanged to its
    handler. `quiet=False` for calls a device may make from several threads at once (predict):
    warnings.catch_warnings swaps process-wide state, and those calls import nothing noisy."""

    def wrap(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if IN_CLI.get():
                return fn(*args, **kwargs)
            with _quiet_libraries() if quiet else contextlib.nullcontext():
                try:
                    return fn(*args, **kwargs)
                except (SeedgeError, CheckFailed):
                    raise
                except Exception as e:
                    if debugging():
                        raise
                    raise _api_error(name, e) from e

        return wrapper

    return wrap
