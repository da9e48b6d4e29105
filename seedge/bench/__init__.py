"""Latency benchmarks: `run_bench(folder, ...)` times every artifact against eager PyTorch.

Submodules: `timing` (warm-up, per-call timing, percentiles), `interleave` (the one
interleaved timing loop, also used by the quantizers and benchmarks/experiments),
`environment` (machine facts), `run` (the benchmark of an export folder), `plot` (PNG bar chart).
"""

from seedge.bench.run import DEFAULT_ITERS, DEFAULT_ROUNDS, DEFAULT_WARMUP, parse_batches, run_bench  # noqa: F401

__all__ = ["run_bench", "parse_batches", "DEFAULT_ITERS", "DEFAULT_ROUNDS", "DEFAULT_WARMUP"]
