"""`interleaved`: the one timing loop of seedge (`seedge bench`, the quantizers' candidate
timing, the benchmark scripts).

Every callable gets its warm-up calls first. The timed calls are then spread over rounds:
in each round every callable, in an order that rotates by one each round (so none always
runs right after the same neighbour), gets one untimed re-warm call (another runtime just
had the CPU and its caches) and then its share of timed calls, with the garbage collector
off so no collection pause lands inside a timed call. A slow minute on a shared machine
therefore hits every callable alike, and ratios of their medians, taken round by round
(`round_p50_ms`), hold even when the absolute numbers drift (benchmarks/README.md).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from seedge.bench.timing import summarize, time_calls, warm_up
from seedge.errors import SeedgeError

DEFAULT_ROUNDS = 5


@dataclass(frozen=True)
class Step:
    """What `interleaved` just finished, for a progress callback."""

    name: str
    round: int | None  # 1-based round number; None for the warm-up
    rounds: int
    round_p50_ms: float | None = None  # this round's median call time (None for the warm-up)

    @property
    def label(self) -> str:
        return f"warm-up {self.name}" if self.round is None else f"round {self.round}/{self.rounds} {self.name}"


def rotation(names: Sequence[str], r: int) -> list[str]:
    """The order of round `r` (0-based): `names` rotated left by r."""
    names = list(names)
    k = r % len(names) if names else 0
    return names[k:] + names[:k]


def interleaved(
    calls: Mapping[str, Callable[[], object]],
    *,
    batch: int = 1,
    warmup: int = 10,
    per_round: int | Sequence[int] = 10,
    rounds: int | None = None,
    device: str = "cpu",
    progress: Callable[[Step], None] | None = None,
) -> dict[str, dict]:
    """Time every callable in interleaved rounds; return name -> summary (in `calls`' order).

    per_round: timed calls per callable per round, the same number every round (`rounds`
    rounds, default 5), or one number per round (a list; `rounds` then follows from it;
    seedge.bench.timing.split_rounds spreads a total that way). batch: images per call, for
    the throughput. device: "cuda" synchronizes around every timed call. progress: called
    with a `Step` after each callable's warm-up and after each of its timed slots.

    Each summary is seedge.bench.timing.summarize over all timed calls plus "round_p50_ms",
    one median per round. An exception from a callable propagates (the collector is turned
    back on first).
    """
    counts = _round_counts(per_round, rounds)
    if not calls:
        raise SeedgeError("nothing to time: no callables given")
    if int(warmup) < 0:
        raise SeedgeError(f"warmup {warmup!r}: must be 0 or more")
    names = list(calls)
    for name in names:
        warm_up(calls[name], warmup, device)
        if progress:
            progress(Step(name, None, len(counts)))
    samples: dict[str, list[int]] = {n: [] for n in names}
    round_p50: dict[str, list[float]] = {n: [] for n in names}
    for r, n_calls in enumerate(counts):
        for name in rotation(names, r):
            warm_up(calls[name], 1, device)  # re-warm after another runner had the CPU
            s = _timed_without_gc(calls[name], n_calls, device)
            samples[name] += s
            round_p50[name].append(float(np.median(s)) / 1e6)
            if progress:
                progress(Step(name, r + 1, len(counts), round_p50[name][-1]))
    return {n: {**summarize(samples[n], batch), "round_p50_ms": round_p50[n]} for n in names}


def _timed_without_gc(fn: Callable[[], object], n: int, device: str) -> list[int]:
    was_enabled = gc.isenabled()
    gc.disable()  # no collector pauses inside the timed calls
    try:
        return time_calls(fn, n, device)
    finally:
        if was_enabled:
            gc.enable()


def _round_counts(per_round, rounds) -> list[int]:
    if isinstance(per_round, (int, np.integer)) and not isinstance(per_round, bool):
        rounds = DEFAULT_ROUNDS if rounds is None else rounds
        if isinstance(rounds, bool) or int(rounds) < 1:
            raise SeedgeError(f"rounds {rounds!r}: must be at least 1")
        counts = [int(per_round)] * int(rounds)
    else:
        counts = [int(n) for n in per_round]
        if rounds is not None and int(rounds) != len(counts):
            raise SeedgeError(f"rounds {rounds!r} does not match the {len(counts)} per-round counts given")
        if not counts:
            raise SeedgeError("per_round: give at least one round")
    if min(counts) < 1:
        raise SeedgeError(f"per_round {per_round!r}: every round needs at least 1 timed call")
    return counts
