"""Timing primitives: warm-up, one `perf_counter_ns` sample per call, percentile stats.

Each call is timed on its own, so the percentiles describe the
latency a caller sees. On CUDA the device is synchronized before the clock starts and
before it stops, so queued kernels are never counted against the wrong call; runners
return host arrays, which already waits for the result, and the explicit synchronize
also covers runners that return early. (CUDA events would time only the GPU's share and
miss the host work an application also waits for, so wall-clock time is what is reported.)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np


def device_sync(device: str) -> Callable[[], None]:
    """A function that waits for `device` to finish queued work (a no-op on the CPU)."""
    if not str(device).startswith("cuda"):
        return _noop
    import torch  # lazy: only the CUDA path needs torch here

    return torch.cuda.synchronize


def _noop() -> None:
    return None


def warm_up(fn: Callable[[], object], n: int, device: str = "cpu") -> None:
    """Run `fn` n times untimed: first-call allocation, JIT, kernel selection, caches."""
    sync = device_sync(device)
    for _ in range(max(0, int(n))):
        fn()
    sync()


def time_calls(fn: Callable[[], object], iters: int, device: str = "cpu") -> list[int]:
    """Call `fn` `iters` times; return one wall-clock sample in nanoseconds per call."""
    sync = device_sync(device)
    clock = time.perf_counter_ns
    samples = []
    for _ in range(int(iters)):
        sync()
        t0 = clock()
        fn()
        sync()
        samples.append(clock() - t0)
    return samples


def summarize(samples_ns: list[int] | np.ndarray, batch: int) -> dict:
    """p50/p90/p99/mean/min/std in ms and throughput in images/s from per-call samples.

    Throughput is images over the summed timed wall time (batch * n / sum), i.e. what one
    stream calling back to back achieves; the percentiles use linear interpolation.
    """
    a = np.asarray(samples_ns, dtype=np.float64) / 1e6
    if a.size == 0:
        raise ValueError("no timing samples")
    p50, p90, p99 = np.percentile(a, [50, 90, 99])
    total_s = float(a.sum()) / 1e3
    return {
        "p50_ms": float(p50),
        "p90_ms": float(p90),
        "p99_ms": float(p99),
        "mean_ms": float(a.mean()),
        "min_ms": float(a.min()),
        "std_ms": float(a.std()),
        "iters": int(a.size),
        "throughput_ips": float(batch * a.size / total_s) if total_s > 0 else math.inf,
    }


def split_rounds(iters: int, rounds: int) -> list[int]:
    """Spread `iters` timed calls over `rounds` rounds as evenly as possible (each >= 1)."""
    rounds = max(1, min(int(rounds), int(iters)))
    base, extra = divmod(int(iters), rounds)
    return [base + (1 if i < extra else 0) for i in range(rounds)]
