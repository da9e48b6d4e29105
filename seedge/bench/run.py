"""`run_bench`: latency of every artifact in an exported folder against eager PyTorch.

How a run goes:
1. check everything the caller asked for (folder, backends, device, batches: BenchOptions.checked)
   and raise SeedgeError before any work;
2. plan (seedge.bench.plan): the eager baseline, the peers and the (artifact, backend) pairs to
   time, each artifact on its own backend or, with --backend, on every named backend that reads
   its format;
3. open each runner once, with threads pinned (seedge.bench.runners);
4. per batch size: one pre-allocated input and one call per entry (seedge.bench.calls), then
   seedge.bench.interleave's loop: a warm-up per runner, then `rounds` rounds in which every
   runner gets its share of the timed calls in turn (the order rotates each round). Interleaving
   means a slow minute on a shared machine hits eager and artifacts alike, so `speedup_vs_eager`
   (eager p50 / artifact p50, same run) holds even when the absolute numbers drift;
5. rows and flags (seedge.bench.rows).

Load (seedge.bench.load): before anything is opened, a short idle window measures what other
processes use; unless `threads` is given, every runner (eager included) gets as many threads
as that leaves free cores (seedge.hostcpu.default_threads), because more threads than
free cores make eager PyTorch collapse while ONNX Runtime barely notices, which inflates
every "vs eager" ratio. The load is sampled again after every timed slot, so the report
says whether the run was contended (`environment.contended`) and how much, round by round.
Each row carries its per-round ratio range and a `flag` when it was slower than eager, or an
FP16 artifact slower than the FP32 one of its backend.

Peers (seedge.bench.peers, opt-in): what a PyTorch user would run instead of an export (autocast,
channels-last, torch.compile), timed in the same rounds, each with its parity against eager.
On CUDA the eager and peer rows run on an input already on the GPU; the ONNX Runtime and
TensorRT runners take host arrays, so their rows include both copies (`include_copy` times the
copies alone, in the same rounds, so the two can be told apart).

run_bench (one folder) and run_bench_many (several) are thin wrappers of one loop, `_run`; both
take a BenchOptions (or its fields as keywords).
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

from seedge.artifacts import read_manifest
from seedge.bench.calls import batch_calls
from seedge.bench.environment import environment, load_fields
from seedge.bench.interleave import interleaved
from seedge.bench.load import LoadMonitor
from seedge.bench.options import BenchOptions
from seedge.bench.peers import parse_peers
from seedge.bench.plan import Entry, plan
from seedge.bench.rows import batch_rows, flag_slow_rows
from seedge.bench.runners import open_runners
from seedge.bench.timing import split_rounds
from seedge.errors import SeedgeError
from seedge.hostcpu import default_threads


def run_bench(folder, options: BenchOptions | None = None, /, **fields) -> dict:
    """Time eager PyTorch, the asked-for peers and each selected artifact of `folder`; see the
    module docstring and BenchOptions (`fields` replace the options' fields, e.g. batches=(1, 8)).

    Returns {"environment": {...}, "settings": {...}, "results": [...], "skipped": [...],
    "copies": [...]}; each result has backend (the one it ran on), precision, device, batch,
    p50_ms, p90_ms, p99_ms, throughput_ips, speedup_vs_eager, artifact (id; "eager" for the
    baseline) and more detail; a second reader's row also has "artifact_backend", a peer's row
    "peer", "first_call_seconds" and "parity".
    """
    out = _run([Path(folder)], BenchOptions.of(options, **fields))
    # One folder: the rows need not say whose they are.
    for row in out["results"] + out["skipped"] + out["copies"]:
        row.pop("folder", None)
        row.pop("model", None)
    st = out["settings"]
    only = st.pop("folders")[0]
    out["settings"] = {"folder": only["folder"], "model": only["model"], "input_shape": only["input_shape"], **st}
    return out


def run_bench_many(folders, options: BenchOptions | None = None, /, **fields) -> dict:
    """Several export folders in one interleaved run ("SE-ResNet18 vs ResNet18, eager and exported").

    Every folder brings its own eager baseline, peers and selected artifacts; all of them share the
    rounds of one seedge.bench.interleave loop per batch size, so a slow minute hits every model
    alike. Each result names its "folder" (and "model"); `speedup_vs_eager` is against that
    folder's own eager model. Folders with the same input shape get the same input values.
    """
    folders = [Path(f) for f in folders]
    if len(folders) < 2:
        raise SeedgeError("run_bench_many needs at least two folders; use run_bench for one")
    if len({f.resolve() for f in folders}) != len(folders):
        raise SeedgeError("the same export folder is given twice; give each folder once")
    out = _run(folders, BenchOptions.of(options, **fields))
    out["settings"]["model"] = " vs ".join(str(f["model"]) for f in out["settings"]["folders"])
    return out


def _choose_threads(threads, monitor: LoadMonitor) -> tuple[int, str]:
    """Threads for every runner and the sentence that says why."""
    if threads is not None:
        return int(threads), "--threads"
    cpus = default_threads()
    if monitor.idle is None:
        return cpus, f"CPUs available ({cpus}); load not measurable here"
    n = default_threads(monitor.idle.free_cores)
    return n, (
        f"free cores before the run: {cpus} CPUs, other processes used {monitor.idle.other_cores:.2f} of a core -> {n}"
    )


class _Ticker:
    """Progress: (done, total, label) to the caller's callback; total follows the entries left."""

    def __init__(self, progress, batches: int, per_round: int):
        self.progress, self.batches, self.slots = progress, batches, 1 + per_round
        self.done, self.total = 0, 0

    def size(self, entries: list) -> None:
        self.total = self.batches * len(entries) * self.slots

    def say(self, label: str) -> None:
        if self.progress:
            self.progress(self.done, self.total, label)

    def step(self, label: str) -> None:
        self.done += 1
        self.say(label)


def _run(folders: list[Path], opts: BenchOptions) -> dict:
    """The one benchmark loop behind run_bench and run_bench_many; rows always name their folder."""
    manifests = [read_manifest(f) for f in folders]
    opts = opts.checked()
    peer_specs, skipped = parse_peers(opts.peers, opts.device)
    entries, left_out = plan(folders, manifests, opts.backends, opts.device, peer_specs, opts.include_copy)
    skipped += left_out
    if len(folders) > 1:  # a peer left out is left out in every folder: say so once per folder
        skipped = [
            {**s, "folder": s.get("folder") or str(f)}
            for s in skipped
            for f in ([None] if s.get("folder") else folders)
        ]
    monitor = LoadMonitor()
    monitor.before(opts.load_window_s)
    threads, threads_rule = _choose_threads(opts.threads, monitor)
    per_round = split_rounds(opts.iters, opts.rounds)
    tick = _Ticker(opts.progress, len(opts.batches), len(per_round))
    tick.size(entries)

    def drop(entry: Entry, reason: str) -> None:
        skipped.append(
            {
                "artifact": entry.art["id"],
                "backend": entry.backend,
                "reason": reason,
                **({"peer": entry.art["peer"]} if entry.kind == "peer" else {}),
                "folder": str(folders[entry.folder]),
            }
        )

    where = [
        {"folder": str(f), "model": m.get("model", {}).get("arch")} for f, m in zip(folders, manifests, strict=True)
    ]
    results: list[dict] = []
    copies: list[dict] = []
    env = environment(opts.device, threads)
    with ExitStack() as stack:
        runners = open_runners(
            stack,
            entries,
            folders,
            manifests,
            device=opts.device,
            threads=threads,
            runner_options=opts.runner_options or {},
            asked=bool(opts.backends),
            say=tick.say,
            drop=drop,
        )
        entries = [e for e in entries if e.key in runners or e.kind == "copy"]
        for batch in opts.batches:
            tick.size(entries)
            calls, extra = batch_calls(entries, runners, manifests, batch, opts.seed, opts.device, tick.say, drop)
            tick.size(entries)
            monitor.mark()  # opening runners, compiling and making the input is not a round

            def on_step(s, batch=batch):
                monitor.mark(None if s.round is None else (batch, s.round))
                tick.step(f"batch {batch}: {s.label}")

            timed = interleaved(
                calls, batch=batch, warmup=opts.warmup, per_round=per_round, device=opts.device, progress=on_step
            )
            rows, copy_rows = batch_rows(entries, timed, extra, runners, where, batch, opts.device)
            results += rows
            copies += copy_rows
    for folder in folders:  # flags compare rows of one folder with that folder's eager and fp32 rows
        flag_slow_rows([r for r in results if r["folder"] == str(folder)])
    env.update(load_fields(monitor.report()))
    return {
        "environment": env,
        "settings": _settings(folders, manifests, opts, threads, threads_rule, per_round, peer_specs),
        "results": results,
        "skipped": skipped,
        "copies": copies,
    }


def _settings(folders, manifests, opts: BenchOptions, threads: int, threads_rule: str, per_round, peer_specs) -> dict:
    return {
        "folders": [
            {
                "folder": str(f),
                "model": m.get("model", {}).get("arch"),
                "input_shape": [int(d) for d in m["input"]["shape"][1:]],
            }
            for f, m in zip(folders, manifests, strict=True)
        ],
        "batches": list(opts.batches),
        "threads": threads,
        "threads_rule": threads_rule,
        # read by torch's OpenMP runtime when torch loads; PASSIVE keeps eager from
        # collapsing with more threads than free cores (benchmarks/README.md)
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "warmup": int(opts.warmup),
        "iters": int(opts.iters),
        "rounds": len(per_round),
        "interleaved": True,
        "seed": opts.seed,
        "peers": [p.name for p in peer_specs],
        # what the eager and peer rows are handed: on CUDA a tensor already on the GPU
        "torch_input": "numpy on the host" if opts.device == "cpu" else "tensor resident on the device",
        "include_copy": bool(opts.include_copy),
        "runner_options": opts.runner_options,
    }
