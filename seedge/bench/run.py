"""`run_bench`: latency of every artifact in an exported folder against eager PyTorch.

How a run goes (DESIGN.md, Benchmarks):
1. check everything the caller asked for (folder, backends, device, batches) and raise
   SeedgeError before any work;
2. open the eager baseline and each selected artifact once, with threads pinned;
3. per batch size: one pre-allocated input, then seedge.bench.interleave's loop: a warm-up
   per runner, then `rounds` rounds in which every runner gets its share of the timed calls
   in turn (the order rotates each round). Interleaving means a slow minute on a shared
   machine hits eager and artifacts alike, so `speedup_vs_eager` (eager p50 / artifact p50,
   same run) holds even when the absolute numbers drift.

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

run_bench (one folder) and run_bench_many (several) are thin wrappers of one loop, `_run`.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from seedge.artifacts import IntegrityError, read_manifest
from seedge.backends.table import (
    BACKENDS,
    DEVICES,
    backend,
    compiled_for,
    device_family,
    installed_backends,
    runs_on,
)
from seedge.bench.environment import environment, load_fields
from seedge.bench.interleave import interleaved
from seedge.bench.load import LoadMonitor
from seedge.bench.peers import (
    PEERS,
    Peer,
    PeerSpec,
    module_call,
    parse_peers,
    resident_input,
)
from seedge.bench.timing import split_rounds
from seedge.errors import SeedgeError
from seedge.hostcpu import default_threads
from seedge.preprocess.pixels import random_pixels, takes_pixels

DEFAULT_WARMUP = 10
DEFAULT_ITERS = 50
DEFAULT_ROUNDS = 5
DEFAULT_LOAD_WINDOW_S = 0.5  # idle window before the run that measures what others use
EAGER_ID = "eager"

Progress = Callable[[int, int, str], None]


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


def select_artifacts(folder: Path, manifest: dict, backends, device: str) -> tuple[list[dict], list[dict]]:
    """The artifacts to time and the ones left out (with why).

    Asked-for backends must be known, installed, able to run on `device` and present in the
    manifest (else SeedgeError). With none asked for, every installed backend that can run on
    `device` is timed and the rest are listed as skipped.
    """
    have = installed_backends()
    in_manifest = [a["backend"] for a in manifest.get("artifacts", [])]
    skipped = []
    if backends:
        wanted = list(dict.fromkeys(backends))
        for b in wanted:
            if b not in BACKENDS:
                raise SeedgeError(f"--backend {b!r}: unknown backend; choose from {', '.join(BACKENDS)}")
            if b not in have:
                raise SeedgeError(f"--backend {b!r}: not installed here (no '{backend(b).package}' package); "
                                  f"installed: {', '.join(have)}")
            if not runs_on(b, device):
                raise SeedgeError(f"--backend {b!r} does not run on --device {device}; "
                                  f"it runs on {', '.join(backend(b).devices)}")
            if b != "torch" and b not in in_manifest:
                raise SeedgeError(f"{folder}: no '{b}' artifact in the manifest (backends there: "
                                  f"{', '.join(sorted(set(in_manifest))) or 'none'}); export it first")
    else:
        wanted = have
    chosen = []
    for a in manifest.get("artifacts", []):
        b = a["backend"]
        if b not in wanted:
            if not backends:
                why = "backend not installed" if b not in have else "not selected"
                skipped.append({"artifact": a["id"], "backend": b, "reason": why})
            continue
        if not runs_on(b, device):
            skipped.append({"artifact": a["id"], "backend": b, "reason": f"does not run on {device}"})
            continue
        built_for = compiled_for(a)
        if built_for and built_for != device_family(device):
            skipped.append({"artifact": a["id"], "backend": b, "reason": f"compiled for {built_for}; re-export "
                            f"with --device {device_family(device)} to time it on {device}"})
            continue
        chosen.append(a)
    return chosen, skipped


def run_bench(folder, backends=None, device: str = "cpu", batches=(1,), threads: int | None = None,
              warmup: int = DEFAULT_WARMUP, iters: int = DEFAULT_ITERS, rounds: int = DEFAULT_ROUNDS,
              progress: Progress | None = None, seed: int = 0,
              load_window_s: float = DEFAULT_LOAD_WINDOW_S, peers=None, include_copy: bool = False,
              runner_options: dict | None = None) -> dict:
    """Time eager PyTorch, the asked-for peers and each selected artifact of `folder`; see the
    module docstring.

    peers: None, a comma list or a sequence of seedge.bench.peers names, e.g.
    ("compile", "channels-last", "fp16"), or "all"; a peer that cannot run on `device` is
    listed in "skipped" with why. include_copy (CUDA only): also time the host-to-device copy
    of the input and the device-to-host copy of the logits, reported in "copies".
    runner_options: backend name -> options for its runners, e.g. {"tensorrt": {"cuda_graph": True}}
    or {"onnxruntime": {"tensorrt_ep": True}}; the rows' "runner" facts say what each ran with.

    Returns {"environment": {...}, "settings": {...}, "results": [...], "skipped": [...],
    "copies": [...]}; each result has backend, precision, device, batch, p50_ms, p90_ms, p99_ms,
    throughput_ips, speedup_vs_eager, artifact (id; "eager" for the baseline) and more detail;
    a peer's row also has "peer", "first_call_seconds" and "parity".
    """
    out = _run([Path(folder)], backends, device, batches, threads, warmup, iters, rounds, progress, seed,
               load_window_s, peers, include_copy, runner_options)
    # One folder: the rows need not say whose they are.
    for row in out["results"] + out["skipped"] + out["copies"]:
        row.pop("folder", None)
        row.pop("model", None)
    st = out["settings"]
    only = st.pop("folders")[0]
    out["settings"] = {"folder": only["folder"], "model": only["model"], "input_shape": only["input_shape"], **st}
    return out


def _choose_threads(threads, monitor: LoadMonitor) -> tuple[int, str]:
    """Threads for every runner and the sentence that says why."""
    if threads is not None:
        return int(threads), "--threads"
    cpus = default_threads()
    if monitor.idle is None:
        return cpus, f"CPUs available ({cpus}); load not measurable here"
    n = default_threads(monitor.idle.free_cores)
    return n, (f"free cores before the run: {cpus} CPUs, other processes used "
               f"{monitor.idle.other_cores:.2f} of a core -> {n}")


FLAG_SLOWER_THAN_EAGER = "slower_than_eager"
FLAG_FP16_SLOWER = "fp16_slower_than_fp32"


def flag_slow_rows(results: list[dict]) -> None:
    """Set each row's `flag` (a list, empty when none): `slower_than_eager`, or
    `fp16_slower_than_fp32` for an FP16 artifact against the fastest FP32 artifact of the same
    backend at the same batch. Slower means a higher p50 over all calls *and* in most rounds
    (round by round, the same interleaved rounds), so one noisy round cannot flag a tie."""
    fp32: dict = {}
    for r in results:
        if r["precision"] == "fp32" and r["artifact"] != EAGER_ID:
            key = (r["backend"], r["batch"])
            if key not in fp32 or r["p50_ms"] < fp32[key]["p50_ms"]:
                fp32[key] = r
    eager = {r["batch"]: r for r in results if r["artifact"] == EAGER_ID}
    for r in results:
        flags = []
        if r["artifact"] != EAGER_ID:
            if r["batch"] in eager and _slower(r, eager[r["batch"]]):
                flags.append(FLAG_SLOWER_THAN_EAGER)
            ref = fp32.get((r["backend"], r["batch"]))
            if r["precision"] == "fp16" and ref is not None and _slower(r, ref):
                flags.append(FLAG_FP16_SLOWER)
        r["flag"] = flags


def _slower(row: dict, ref: dict) -> bool:
    """`row` took longer than `ref`: by p50, and in more than half of the rounds both ran."""
    if row["p50_ms"] <= ref["p50_ms"]:
        return False
    pairs = list(zip(row.get("round_p50_ms") or [], ref.get("round_p50_ms") or []))
    return not pairs or sum(a > b for a, b in pairs) * 2 > len(pairs)


def _describe(runner) -> dict:
    try:
        d = runner.describe()
    except Exception as e:  # noqa: BLE001 - describe is informative only; never fail a run on it
        return {"error": str(e)[:200]}
    return {k: v for k, v in d.items() if isinstance(v, (str, int, float, bool, type(None), list, dict))}


def run_bench_many(folders, backends=None, device: str = "cpu", batches=(1,), threads: int | None = None,
                   warmup: int = DEFAULT_WARMUP, iters: int = DEFAULT_ITERS, rounds: int = DEFAULT_ROUNDS,
                   progress: Progress | None = None, seed: int = 0,
                   load_window_s: float = DEFAULT_LOAD_WINDOW_S, peers=None, include_copy: bool = False,
                   runner_options: dict | None = None) -> dict:
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
    out = _run(folders, backends, device, batches, threads, warmup, iters, rounds, progress, seed,
               load_window_s, peers, include_copy, runner_options)
    out["settings"]["model"] = " vs ".join(str(f["model"]) for f in out["settings"]["folders"])
    return out


@dataclass
class _Entry:
    key: str            # name in the timing loop
    folder: int         # index into the folders
    art: dict           # manifest artifact entry (or the eager / peer stand-in)
    kind: str           # "eager", "peer", "artifact" or "copy"


def _run(folders: list[Path], backends, device, batches, threads, warmup, iters, rounds, progress, seed,
         load_window_s, peers, include_copy, runner_options=None) -> dict:
    """The one benchmark loop behind run_bench and run_bench_many; rows always name their folder."""
    manifests = [read_manifest(f) for f in folders]
    batches = _check_batches(batches)
    device = _check_device(device)
    _check_counts(threads, warmup, iters, rounds)
    if isinstance(load_window_s, bool) or not 0 <= float(load_window_s) <= 60:
        raise SeedgeError(f"load_window_s {load_window_s!r}: give seconds between 0 and 60")
    peer_specs, skipped = parse_peers(peers, device)
    runner_options = dict(runner_options or {})
    for name, opts in runner_options.items():
        if name not in BACKENDS or name == "torch" or not isinstance(opts, dict):
            raise SeedgeError(f"runner_options: {name!r} must be an artifact backend ({', '.join(BACKENDS)}) "
                              f"mapped to a dict of its runner's options")
        if not runs_on(name, device):
            raise SeedgeError(f"options for {name} runners have no effect on --device {device} ({name} runs on "
                              f"{', '.join(backend(name).devices)}); leave them out (e.g. --cuda-graph) or use "
                              f"--device cuda")
    if include_copy and device == "cpu":
        raise SeedgeError("--include-copy times host-to-device copies, and --device cpu has none; "
                          "use it with --device cuda")
    labels = _folder_labels(folders) if len(folders) > 1 else [""]
    entries: list[_Entry] = []
    for i, (folder, manifest) in enumerate(zip(folders, manifests)):
        artifacts, left_out = select_artifacts(folder, manifest, backends, device)
        skipped += [{**s, "folder": str(folder)} for s in left_out]
        prefix = f"{labels[i]}/" if labels[i] else ""
        entries.append(_Entry(f"{prefix}{EAGER_ID}", i, _EAGER, "eager"))
        entries += [_Entry(f"{prefix}{p.artifact}", i, _peer_entry(p), "peer") for p in peer_specs]
        entries += [_Entry(f"{prefix}{a['id']}", i, a, "artifact") for a in artifacts]
        if include_copy:
            entries.append(_Entry(f"{prefix}{COPY_ID}", i, _COPY, "copy"))
    if len(folders) > 1:  # a peer left out is left out in every folder: say so once per folder
        skipped = [{**s, "folder": s.get("folder") or str(f)} for s in skipped
                   for f in ([None] if s.get("folder") else folders)]
    monitor = LoadMonitor()
    monitor.before(load_window_s)
    threads, threads_rule = _choose_threads(threads, monitor)

    from seedge.backends import (  # written by the runners' owner
        open_artifact,
        open_baseline,
    )

    shapes = [tuple(int(d) for d in m["input"]["shape"][1:]) for m in manifests]
    names = [m["input"].get("name", "input") for m in manifests]
    per_round = split_rounds(iters, rounds)
    done, total = 0, len(batches) * len(entries) * (1 + len(per_round))

    def say(label: str) -> None:
        if progress:
            progress(done, total, label)

    def step(label: str) -> None:
        nonlocal done
        done += 1
        say(label)

    def drop(entry: _Entry, reason: str) -> None:
        skipped.append({"artifact": entry.art["id"], "backend": entry.art["backend"], "reason": reason,
                        **({"peer": entry.art["peer"]} if entry.kind == "peer" else {}),
                        "folder": str(folders[entry.folder])})

    results: list[dict] = []
    copies: list[dict] = []
    env = environment(device, threads)
    with ExitStack() as stack:
        runners = {}
        for e in entries:
            if e.kind == "copy":
                continue
            say(f"opening {e.key}")
            i = e.folder
            if e.kind in ("eager", "peer"):
                # every peer gets its own eager model: channels-last and torch.compile change the module
                base = stack.enter_context(open_baseline(folders[i], manifests[i], device=device, threads=threads))
                runners[e.key] = base if e.kind == "eager" else Peer(PEERS[e.art["peer"]], base, device)
                continue
            try:
                runners[e.key] = stack.enter_context(open_artifact(folders[i], manifests[i], e.art, device=device,
                                                                   threads=threads,
                                                                   **runner_options.get(e.art["backend"], {})))
            except SeedgeError as err:
                # Asked for by name: its failure is the caller's answer. A file that fails its
                # sha256 check or leaves the folder is never "skipped", picked by default or not.
                if backends or isinstance(err, IntegrityError):
                    raise
                # picked by default (e.g. an ONNX Runtime without a GPU provider on --device cuda)
                drop(e, str(err))
        entries = [e for e in entries if e.key in runners or e.kind == "copy"]
        total = len(batches) * len(entries) * (1 + len(per_round))

        for batch in batches:
            rng = np.random.default_rng(seed)
            inputs = {s: np.ascontiguousarray(rng.standard_normal((batch, *s), dtype=np.float32))
                      for s in dict.fromkeys(shapes)}
            feeds = [{names[i]: inputs[shapes[i]]} for i in range(len(folders))]
            calls, parity, eager_out = {}, {}, {}
            for e in list(entries):
                i, x = e.folder, inputs[shapes[e.folder]]
                r = runners.get(e.key)
                if e.kind == "eager":
                    calls[e.key] = _eager_call(r, feeds[i], x, device)
                    if peer_specs:  # the peers' parity reference: eager logits on this very input
                        eager_out[i] = r.infer(feeds[i])[0]
                elif e.kind == "peer":
                    say(f"batch {batch}: first call of {e.key} ({r.spec.what}; compiling where it compiles, "
                        f"not timed)")
                    try:
                        calls[e.key] = r.prepare(x)
                    except SeedgeError as err:  # e.g. no C++ compiler or no Triton for torch.compile
                        drop(e, str(err))
                        entries.remove(e)
                        continue
                    parity[e.key] = r.parity(batch, eager_out[i])
                elif e.kind == "copy":
                    calls[e.key], sizes = _copy_call(x, eager_out.get(i), runners[entries_eager(entries, i)], device)
                    parity[e.key] = sizes
                elif takes_pixels(e.art):  # preprocessing inside: it takes uint8 NHWC pixels, not the tensor
                    pixels = {names[i]: random_pixels(batch, manifests[i]["preprocessing"], seed)}
                    calls[e.key] = lambda r=r, f=pixels: r.infer(f)
                else:
                    calls[e.key] = lambda r=r, f=feeds[i]: r.infer(f)
            total = len(batches) * len(entries) * (1 + len(per_round))
            monitor.mark()  # opening runners, compiling and making the input is not a round

            def on_step(s, batch=batch):
                monitor.mark(None if s.round is None else (batch, s.round))
                step(f"batch {batch}: {s.label}")

            timed = interleaved(calls, batch=batch, warmup=warmup, per_round=per_round, device=device,
                                progress=on_step)
            round_p50 = {k: t.pop("round_p50_ms") for k, t in timed.items()}
            for e in entries:
                i, stats = e.folder, timed[e.key]
                where = {"folder": str(folders[i]), "model": manifests[i].get("model", {}).get("arch")}
                if e.kind == "copy":
                    copies.append({**where, "batch": batch, "device": device, **parity[e.key], **stats,
                                   "round_p50_ms": [round(x, 4) for x in round_p50[e.key]]})
                    continue
                eager_key = entries_eager(entries, i)
                eager = timed[eager_key]
                ratios = [a / b for a, b in zip(round_p50[eager_key], round_p50[e.key]) if b > 0]
                row = {
                    **where,
                    "artifact": e.art["id"], "backend": e.art["backend"], "format": e.art.get("format"),
                    "precision": e.art.get("precision"), "device": device, "batch": batch, **stats,
                    "speedup_vs_eager": eager["p50_ms"] / stats["p50_ms"],
                    # the same ratio taken round by round: how steady it was on this machine
                    "speedup_rounds": [round(x, 4) for x in ratios],
                    "speedup_range": [round(min(ratios), 4), round(max(ratios), 4)] if ratios else None,
                    "round_p50_ms": [round(x, 4) for x in round_p50[e.key]],
                    "inference_precision": (e.art.get("build") or {}).get("inference_precision"),
                    "runner": _describe(runners[e.key]),
                }
                if e.kind == "peer":
                    row.update({"peer": e.art["peer"],
                                "first_call_seconds": runners[e.key].first_call_seconds[batch],
                                "parity": parity[e.key]})
                results.append(row)
    for folder in folders:  # flags compare rows of one folder with that folder's eager and fp32 rows
        flag_slow_rows([r for r in results if r["folder"] == str(folder)])
    env.update(load_fields(monitor.report()))
    return {
        "environment": env,
        "settings": {"folders": [{"folder": str(f), "model": m.get("model", {}).get("arch"),
                                  "input_shape": list(s)} for f, m, s in zip(folders, manifests, shapes)],
                     "batches": list(batches), "threads": threads, "threads_rule": threads_rule,
                     # read by torch's OpenMP runtime when torch loads; PASSIVE keeps eager from
                     # collapsing with more threads than free cores (benchmarks/README.md)
                     "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                     "warmup": int(warmup), "iters": int(iters), "rounds": len(per_round),
                     "interleaved": True, "seed": seed,
                     "peers": [p.name for p in peer_specs],
                     # what the eager and peer rows are handed: on CUDA a tensor already on the GPU
                     "torch_input": "numpy on the host" if device == "cpu" else "tensor resident on the device",
                     "include_copy": bool(include_copy), "runner_options": runner_options},
        "results": results,
        "skipped": skipped,
        "copies": copies,
    }


COPY_ID = "copy"
_EAGER = {"id": EAGER_ID, "backend": "torch", "format": "eager", "precision": "fp32"}
_COPY = {"id": COPY_ID, "backend": "torch", "format": "copy", "precision": "fp32"}


def _peer_entry(spec: PeerSpec) -> dict:
    return {"id": spec.artifact, "backend": "torch", "format": spec.format, "precision": spec.precision,
            "peer": spec.name}


def entries_eager(entries: list[_Entry], folder: int) -> str:
    """The timing-loop key of folder `folder`'s eager baseline."""
    return next(e.key for e in entries if e.folder == folder and e.kind == "eager")


def _eager_call(runner, feed: dict, x: np.ndarray, device: str):
    """The eager baseline's timed call: on the CPU the runner's own infer (numpy in and out, as
    every artifact); on CUDA the module on an input already on the GPU, like the peers, so the
    baseline is the model's time and not PCIe's (copies are timed on their own, --include-copy)."""
    if device == "cpu":
        return lambda: runner.infer(feed)
    return module_call(runner.module, resident_input(x, device))


def _copy_call(x: np.ndarray, eager_logits: np.ndarray | None, eager_runner, device: str):
    """What an application moving numpy batches pays on top: the input to the GPU and the logits back."""
    import torch

    host = torch.from_numpy(x)
    if eager_logits is None:
        eager_logits = eager_runner.infer({eager_runner.input_name: x})[0]
    out = torch.from_numpy(np.ascontiguousarray(eager_logits, dtype=np.float32)).to(device)

    def call():
        host.to(device)
        return out.cpu()

    return call, {"h2d_bytes": int(x.nbytes), "d2h_bytes": int(eager_logits.nbytes)}


def _folder_labels(folders: list[Path]) -> list[str]:
    """Short unique names for the timing loop: the folder names, or the full paths where two match."""
    names = [f.name or str(f) for f in folders]
    return names if len(set(names)) == len(names) else [str(f) for f in folders]
