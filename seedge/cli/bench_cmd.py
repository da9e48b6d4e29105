"""`seedge bench DIR [DIR...]`: latency of each exported artifact against eager PyTorch, same run;
several folders share one interleaved run, each with its own eager model."""

from __future__ import annotations

import click

from seedge.backends.table import BACKENDS, DEVICES, runs_on
from seedge.bench.options import default
from seedge.bench.peers import ALL, PEERS
from seedge.cli.render import to_json
from seedge.trust import NATIVE_FORMATS, TRUST_HELP


@click.command("bench")
@click.argument("folders", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=str))
@click.option(
    "--backend",
    "backends",
    multiple=True,
    type=click.Choice(tuple(BACKENDS)),
    help="Backend to time (repeatable): every artifact it reads, e.g. --backend openvino also times the "
    "ONNX files on OpenVINO; default: each artifact on the backend it was exported for, where "
    "installed. Eager torch is always timed.",
)
@click.option(
    "--device",
    type=click.Choice(DEVICES),
    default=default("device"),
    show_default=True,
    help="Where to time (OpenVINO always runs on the CPU).",
)
@click.option(
    "--batch",
    "batch",
    default=",".join(map(str, default("batches"))),
    show_default=True,
    help="Comma-separated batch sizes, e.g. 1,8.",
)
@click.option(
    "--threads",
    type=int,
    default=None,
    help="Threads per runtime, eager included (default: the cores other processes leave free, "
    "measured just before the run).",
)
@click.option("--warmup", type=int, default=default("warmup"), show_default=True, help="Untimed calls per runner.")
@click.option(
    "--iters", type=int, default=default("iters"), show_default=True, help="Timed calls per runner and batch."
)
@click.option(
    "--rounds",
    type=int,
    default=default("rounds"),
    show_default=True,
    help="Interleaved rounds the timed calls are spread over.",
)
@click.option(
    "--peers",
    default=None,
    metavar="LIST",
    help=f"Also time what a PyTorch user would run instead, beside eager FP32, with each one's parity "
    f"against eager: comma list of {', '.join(PEERS)}, or {ALL} (those that run on --device). "
    f"Off by default: torch.compile compiles once per batch size (seconds on a GPU, up to minutes "
    f"on a busy CPU; never timed, progress is shown).",
)
@click.option(
    "--include-copy",
    is_flag=True,
    help="CUDA: also time the host-to-device copy of the input and the logits' copy back, in the "
    "same rounds (eager and peer rows run on an input already on the GPU).",
)
@click.option(
    "--cuda-graph",
    is_flag=True,
    help="TensorRT artifacts replay each batch size as a CUDA graph (less launch overhead at small batches).",
)
@click.option(
    "--record/--no-record",
    default=True,
    show_default=True,
    help="Write each folder's bench.json: the artifacts flagged slow (slower than eager, or FP16 "
    "slower than FP32), which the device runtime then never picks unless asked for by id, and "
    "each artifact's p50, by which it orders its choice (seedge.bench_record).",
)
@click.option("--trust-native", is_flag=True, help=TRUST_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else.")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False), default=None, help="Write a PNG bar chart.")
def command(
    folders,
    backends,
    device,
    batch,
    threads,
    warmup,
    iters,
    rounds,
    peers,
    include_copy,
    cuda_graph,
    record,
    trust_native,
    as_json,
    plot_file,
) -> None:
    """Time every artifact in FOLDERS (written by `seedge export`) against eager PyTorch.

    Several folders (e.g. exported/se_resnet18_cifar exported/resnet18_cifar) are timed in one
    interleaved run, each against its own eager model; every result names its folder.
    """
    from rich.console import Console

    from seedge.bench import BenchOptions, parse_batches, run_bench, run_bench_many

    err = Console(stderr=True)
    batches = parse_batches(batch)
    if plot_file:  # checked before minutes of timing, not after
        from seedge.publishing import check_output_location

        check_output_location(plot_file, "--plot", kind="file")
    with _progress(err) as report:
        options = BenchOptions(
            backends=tuple(backends) or None,
            device=device,
            batches=batches,
            threads=threads,
            warmup=warmup,
            iters=iters,
            rounds=rounds,
            progress=report,
            peers=peers,
            include_copy=include_copy,
            runner_options=_runner_options(device, cuda_graph, trust_native),
        )
        if len(folders) == 1:
            result = run_bench(folders[0], options)
        else:
            result = run_bench_many(folders, options)
    if record:
        _record(folders, result, err)
    for s in result["skipped"]:
        where = f"{s['folder']}: " if s.get("folder") else ""
        err.print(f"[yellow]skipped[/] {where}{s['artifact']} ({s['backend']}): {s['reason']}")
    if plot_file:
        from seedge.bench.plot import plot_results

        plot_results(result, plot_file)
        err.print(f"wrote {plot_file}")
    if as_json:
        click.echo(to_json(result))
        return
    out = Console()
    if not out.is_terminal:  # piped or captured: don't squeeze the table into 80 columns
        out = Console(width=160)
    out.print(_table(result))
    for c in result.get("copies", []):
        where = f"{_folder_name(c['folder'], result['settings'])}: " if c.get("folder") else ""
        out.print(
            f"{where}host<->device copies at batch {c['batch']}: p50 {c['p50_ms']:.3f} ms "
            f"({c['h2d_bytes'] / 1e6:.2f} MB in, {c['d2h_bytes'] / 1e3:.1f} kB out), timed in the same rounds"
        )


def _record(folders, result: dict, err) -> None:
    """bench.json in each folder; a folder that cannot be written (read-only on a device) costs a
    warning, not the measurements."""
    from seedge.bench_record import write_record

    for folder in folders:
        try:
            path = write_record(folder, result)
        except OSError as e:
            err.print(
                f"[yellow]not recorded[/]: cannot write {folder}/bench.json ({e.strerror or e}); "
                f"the runtime will not know which artifacts were slow or their p50s"
            )
            continue
        # the rows bench.json keeps (seedge.bench_record): no peers, no second readers
        slow = [
            r["artifact"]
            for r in result["results"]
            if r.get("flag")
            and not r.get("peer")
            and not r.get("artifact_backend")
            and r.get("folder") in (None, str(path.parent))
        ]
        if slow:
            err.print(f"recorded in {path}: the runtime will not pick {', '.join(dict.fromkeys(slow))} on its own")


def _progress(console):
    """A rich progress bar on stderr; yields the callback run_bench reports to."""
    from contextlib import contextmanager

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    @contextmanager
    def cm():
        with Progress(
            TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console, transient=True
        ) as bar:
            task = bar.add_task("bench", total=None)

            def report(done: int, total: int, label: str) -> None:
                bar.update(task, completed=done, total=total, description=label)

            yield report

    return cm()


def _table(result: dict):
    from rich.table import Table

    env, st = result["environment"], result["settings"]
    where = env["cpu_model"] if env["device"] == "cpu" else env["gpu"]
    threads = f"{st['threads']} thread{'s' if st['threads'] != 1 else ''}"
    table = Table(
        title=f"{st['model']} on {env['device']} ({where}), {threads}, "
        f"{st['iters']} calls in {st['rounds']} interleaved rounds\n{_load_line(env)}",
        caption=_caption(result),
    )
    several = "folders" in st
    parity = any(r.get("parity") for r in result["results"])
    for col in (
        ("folder",) * several
        + (
            "artifact",
            "backend",
            "precision",
            "batch",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "img/s",
            "vs eager",
            "ratio range",
        )
        + ("parity",) * parity
        + ("flag",)
    ):
        table.add_column(
            col, justify="left" if col in ("folder", "artifact", "backend", "precision", "parity", "flag") else "right"
        )
    for r in result["results"]:
        lo_hi = r.get("speedup_range")
        table.add_row(
            *([_folder_name(r["folder"], st)] if several else []),
            r["artifact"],
            _backend_cell(r),
            str(r["precision"]),
            str(r["batch"]),
            f"{r['p50_ms']:.3f}",
            f"{r['p90_ms']:.3f}",
            f"{r['p99_ms']:.3f}",
            f"{r['throughput_ips']:.1f}",
            f"{r['speedup_vs_eager']:.2f}x",
            f"{lo_hi[0]:.2f}-{lo_hi[1]:.2f}x" if lo_hi else "",
            *([_parity_cell(r.get("parity"))] if parity else []),
            "[bold red]! " + ", ".join(_FLAG_WORDS.get(f, f) for f in r["flag"]) + "[/]" if r.get("flag") else "",
        )
    return table


def _parity_cell(p: dict | None) -> str:
    """A peer's parity against eager (artifacts' parity is seedge verify's job)."""
    if not p:
        return ""
    if not p["passed"]:
        return f"[bold red]FAIL[/] {p['reason']}"
    return f"ok (agree {p['top1_agreement']:.0%}, max diff {p['max_abs_diff']:.1e})"


def _backend_cell(r: dict) -> str:
    """The backend, with the ONNX Runtime execution provider that really ran (never a silent fallback)."""
    providers = (r.get("runner") or {}).get("providers")
    return f"{r['backend']} ({providers[0].replace('ExecutionProvider', '')})" if providers else r["backend"]


def _folder_name(folder: str, settings: dict) -> str:
    """The folder's last part, or its whole path when two folders share that name."""
    from pathlib import Path

    names = [Path(f["folder"]).name for f in settings["folders"]]
    name = Path(folder).name
    return name if names.count(name) == 1 else folder


_FLAG_WORDS = {"slower_than_eager": "slower than eager", "fp16_slower_than_fp32": "fp16 slower than fp32"}


def _load_line(env: dict) -> str:
    """The load verdict for the title: CONTENDED in red, with what other processes used."""
    figures = []
    for when in ("before", "during"):
        cores = env.get(f"other_cores_{when}")
        if cores is not None:
            figures.append(f"{when} {cores:.2f} cores, steal {env.get(f'steal_share_{when}') or 0:.0%}")
    said = "other processes used " + "; ".join(figures) if figures else f"load average {env.get('load_average')}"
    if env.get("contended"):
        return f"[bold red]CONTENDED[/]: {said} (ratios vs eager are unreliable)"
    return f"quiet CPU: {said}"


def _caption(result: dict) -> str:
    st, env = result["settings"], result["environment"]
    lines = [
        f"threads: {st.get('threads_rule', st['threads'])}; contended means {env.get('contention_rule')}",
        "ratio range: lowest-highest of the per-round eager/artifact ratios",
    ]
    if st.get("peers"):
        lines.append(
            "peers: eager model variants a PyTorch user would run instead; parity against eager on the "
            "timed input, first call (compilation) not timed"
        )
    if env.get("device") != "cpu":
        lines.append(f"eager and peers: {st.get('torch_input')}; ONNX Runtime / TensorRT rows include the copies")
    return "\n".join(lines)


def _runner_options(device: str, cuda_graph: bool, trust_native: bool) -> dict | None:
    """Per-backend runner options: TensorRT's CUDA graphs; trust for the native backends that run
    on `device` (seedge.trust: open_artifact reads `trust_native`)."""
    options: dict = {name: {"trust_native": True} for name in NATIVE_FORMATS if trust_native and runs_on(name, device)}
    if cuda_graph:
        options.setdefault("tensorrt", {})["cuda_graph"] = True
    return options or None
