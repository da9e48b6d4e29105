"""The README tables: `seedge bench` (run_bench) on several zoo models, JSON + Markdown.

Each model is exported with seedge's pipeline (random weights, INT8 calibrated on the
built-in digits images; cached in benchmarks/.cache/exported/), then benchmarked with
eager PyTorch interleaved with every artifact (seedge.bench.interleave, via run_bench).

    python benchmarks/experiments/make_tables.py --models se_resnet18,se_resnet50 --batches 1,8 --threads 2 \
        --precisions fp32,int8 --iters 20 --rounds 5 --out benchmarks/results
    python benchmarks/experiments/make_tables.py --models se_resnet50=exported/se_resnet50   # an existing export
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import exported_folder  # noqa: E402


def markdown(result: dict) -> str:
    env, st = result["environment"], result["settings"]
    lines = [f"#### {st['model']} ({'x'.join(map(str, st['input_shape']))}), {st['threads']} threads, "
             f"{st['iters']} calls in {st['rounds']} interleaved rounds, load average {env['load_average']}",
             "", "| artifact | backend | precision (runs as) | batch | p50 ms | p90 ms | img/s | vs eager |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in result["results"]:
        runs_as = (r.get("runner") or {}).get("inference_precision")
        prec = f"{r['precision']} ({runs_as})" if runs_as else str(r["precision"])
        lines.append(f"| {r['artifact']} | {r['backend']} | {prec} | {r['batch']} | {r['p50_ms']:.2f} | "
                     f"{r['p90_ms']:.2f} | {r['throughput_ips']:.1f} | {r['speedup_vs_eager']:.2f}x |")
    for s in result.get("skipped", []):
        lines.append(f"\n(skipped {s['artifact']}: {s['reason']})")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    from seedge.export.options import ExportOptions

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="se_resnet18")
    ap.add_argument("--formats", default=",".join(ExportOptions().formats))  # seedge export's default
    ap.add_argument("--precisions", default="fp32,int8")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = ap.parse_args(argv)

    from seedge.bench import parse_batches, run_bench

    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    args.out.mkdir(parents=True, exist_ok=True)
    for item in args.models.split(","):
        # "name" exports the zoo model with random weights; "name=DIR" benchmarks an existing export
        model, _, given = item.partition("=")
        folder = Path(given) if given else exported_folder(model, args.formats.split(","), args.precisions.split(","),
                                                           progress=lambda m, model=model: say(f"{model}: {m}"))
        result = run_bench(folder, batches=parse_batches(args.batches), threads=args.threads, iters=args.iters,
                           rounds=args.rounds, warmup=args.warmup,
                           progress=lambda d, t, label, model=model: say(f"{model} [{d}/{t}] {label}"))
        stem = args.out / model.replace("/", "_")
        stem.with_suffix(".json").write_text(json.dumps(result, indent=2))
        md = markdown(result)
        stem.with_suffix(".md").write_text(md)
        print(md, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
