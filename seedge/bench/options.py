"""`BenchOptions`: the one signature of `seedge bench` (run_bench, run_bench_many and the CLI).

Every option and its default is written here once; `seedge bench`'s Click options take their
defaults from these fields, and run_bench / run_bench_many take an options object (or the same
fields as keywords). `checked()` is the one place bad values become a SeedgeError, before any
work: a wrong flag costs one line, not minutes of timing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace

import numpy as np

from seedge.backends.table import ARTIFACT_BACKENDS, DEVICES, backend, runs_on
from seedge.bench.interleave import DEFAULT_ROUNDS
from seedge.errors import SeedgeError

Progress = Callable[[int, int, str], None]  # (done, total, label)


@dataclass(frozen=True)
class BenchOptions:
    """What to time and how. `backends`: None times each artifact on the backend recorded with it
    (those installed); names time every artifact each named backend reads (seedge.bench.plan)."""

    backends: tuple[str, ...] | None = None
    device: str = "cpu"
    batches: tuple[int, ...] = (1,)
    threads: int | None = None  # None: the cores other processes leave free (seedge.bench.load)
    warmup: int = 10  # untimed calls per runner and batch
    iters: int = 50  # timed calls per runner and batch
    rounds: int = DEFAULT_ROUNDS  # interleaved rounds the timed calls are spread over
    seed: int = 0  # of the random input
    load_window_s: float = 0.5  # idle window before the run that measures what others use
    peers: object = None  # None, a comma list, a sequence of seedge.bench.peers names, or "all"
    include_copy: bool = False  # CUDA: time the host<->device copies too
    # backend name -> options for its runners, e.g. {"tensorrt": {"cuda_graph": True}}
    runner_options: dict | None = None
    progress: Progress | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, options: BenchOptions | None = None, **fields_) -> BenchOptions:
        """`options` (default: all defaults) with the given fields replaced; a keyword that is no
        field is one SeedgeError line naming the fields."""
        known = [f.name for f in fields(cls)]
        unknown = [k for k in fields_ if k not in known]
        if unknown:
            raise SeedgeError(
                f"run_bench: unknown option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                f"BenchOptions has {', '.join(known)}"
            )
        if options is not None and not isinstance(options, cls):
            raise SeedgeError(f"run_bench: options must be a BenchOptions, not {type(options).__name__}")
        return replace(options or cls(), **fields_)

    def checked(self) -> BenchOptions:
        """A copy with normalized values (batches a tuple, backends a tuple or None); any bad
        value is a SeedgeError naming the option."""
        _check_counts(self.threads, self.warmup, self.iters, self.rounds)
        device = _check_device(self.device)
        if isinstance(self.load_window_s, bool) or not 0 <= float(self.load_window_s) <= 60:
            raise SeedgeError(f"load_window_s {self.load_window_s!r}: give seconds between 0 and 60")
        if self.include_copy and device == "cpu":
            raise SeedgeError(
                "--include-copy times host-to-device copies, and --device cpu has none; use it with --device cuda"
            )
        return replace(
            self,
            device=device,
            batches=_check_batches(self.batches),
            backends=tuple(dict.fromkeys(self.backends)) if self.backends else None,
            runner_options=_check_runner_options(self.runner_options, device),
        )


def default(name: str):
    """The default of one BenchOptions field (for the CLI's option defaults)."""
    return next(f.default for f in fields(BenchOptions) if f.name == name)


def parse_batches(text: str) -> tuple[int, ...]:
    """'1,8' -> (1, 8); anything but positive integers is a SeedgeError."""
    out = []
    for part in str(text).split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise SeedgeError(f"--batch {text!r}: batch sizes must be positive integers, e.g. --batch 1,8")
        out.append(int(part))
    return tuple(dict.fromkeys(out))


def _check_batches(batches) -> tuple[int, ...]:
    if isinstance(batches, (int, str)):
        batches = (batches,) if isinstance(batches, int) else parse_batches(batches)
    out = []
    for b in batches:
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1:
            raise SeedgeError(f"batch {b!r}: batch sizes must be positive integers, e.g. --batch 1,8")
        out.append(int(b))
    if not out:
        raise SeedgeError("no batch size given; pass e.g. --batch 1,8")
    return tuple(dict.fromkeys(out))


def _check_device(device: str) -> str:
    if device not in DEVICES:
        raise SeedgeError(f"--device {device!r}: choose cpu or cuda")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise SeedgeError("--device cuda: no CUDA GPU is visible to PyTorch here; use --device cpu")
    return device


def _check_counts(threads, warmup, iters, rounds) -> None:
    if threads is not None and (isinstance(threads, bool) or int(threads) < 1):
        raise SeedgeError(f"--threads {threads!r}: must be a positive integer")
    if int(warmup) < 0:
        raise SeedgeError(f"--warmup {warmup!r}: must be 0 or more")
    if int(iters) < 1:
        raise SeedgeError(f"--iters {iters!r}: must be at least 1")
    if int(rounds) < 1:
        raise SeedgeError(f"rounds {rounds!r}: must be at least 1")


def _check_runner_options(runner_options: dict | None, device: str) -> dict:
    runner_options = dict(runner_options or {})
    for name, opts in runner_options.items():
        if name not in ARTIFACT_BACKENDS or not isinstance(opts, dict):
            raise SeedgeError(
                f"runner_options: {name!r} must be an artifact backend ({', '.join(ARTIFACT_BACKENDS)}) "
                f"mapped to a dict of its runner's options"
            )
        if not runs_on(name, device):
            raise SeedgeError(
                f"options for {name} runners have no effect on --device {device} ({name} runs on "
                f"{', '.join(backend(name).devices)}); leave them out (e.g. --cuda-graph) or use "
                f"--device cuda"
            )
    return runner_options
