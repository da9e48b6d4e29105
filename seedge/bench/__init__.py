"""Latency benchmarks: `run_bench(folder, BenchOptions(...))` times every artifact against eager PyTorch.

Submodules: `timing` (warm-up, per-call timing, percentiles), `interleave` (the one
interleaved timing loop, also used by the quantizers and benchmarks/experiments),
`environment` (machine facts), `options` (BenchOptions, the one signature of a run), `plan`
(which (artifact, backend) pairs at which batches), `runners` (opening them), `calls` (the timed
calls of one batch), `rows` (report rows and slow flags), `run` (the benchmark of export folders),
`plot` (PNG bar chart).
"""

from seedge.bench.options import BenchOptions, parse_batches
from seedge.bench.run import run_bench, run_bench_many

__all__ = ["BenchOptions", "run_bench", "run_bench_many", "parse_batches"]
