"""SE squeeze as ONNX ReduceMean vs GlobalAveragePool, timed in ONNX Runtime (interleaved).

seedge's canonical SE exports its squeeze (mean over H,W, keepdim) as ReduceMean(axes=[2,3]).
In ONNX Runtime's INT8 (Q/DQ) graphs that ReduceMean is the slowest SE op by far (the
profile in benchmarks/README.md); this rewrites it, node for node, into the equivalent
GlobalAveragePool and times both forms, FP32 and INT8, with the outputs compared. Both
run in seedge's ONNX Runtime runner (its default settings), in seedge's interleaved rounds.

    python benchmarks/experiments/squeeze_op.py --folder benchmarks/.cache/exported/se_resnet50_digits224

seedge's ONNX export now applies this rewrite itself (seedge/onnx/rewrites.py), so
on a folder exported since then both forms are the same graph and 0 nodes are rewritten.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import interleaved, random_input, ratio_median  # noqa: E402

from seedge.onnx.rewrites import reducemean_to_global_pool  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folder", type=Path, required=True, help="an exported folder with model.onnx (+ model.int8.onnx)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    from seedge.artifacts import read_manifest
    from seedge.backends.onnxruntime import OnnxRuntimeRunner

    manifest = read_manifest(args.folder)
    x = random_input(1, manifest["input"]["shape"][1:])
    feed = {manifest["input"]["name"]: x}
    runners, rewritten = {}, {}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        for tag, name in (("fp32", "model.onnx"), ("int8", "model.int8.onnx")):
            src = args.folder / name
            if not src.is_file():
                continue
            dst = Path(tmp) / f"gap.{name}"
            rewritten[tag] = reducemean_to_global_pool(src, dst)["reducemean_to_global_pool"]
            for form, path in (("ReduceMean", src), ("GlobalAveragePool", dst)):
                runners[f"{tag}-{form}"] = stack.enter_context(
                    OnnxRuntimeRunner(path, threads=args.threads, input_name=manifest["input"]["name"]))
        outs = {k: r.infer(feed)[0] for k, r in runners.items()}
        stats = interleaved({k: (lambda r=r: r.infer(feed)) for k, r in runners.items()}, 1,
                            rounds=args.rounds, iters=args.iters)
    rows = []
    for tag in rewritten:
        a, b = f"{tag}-ReduceMean", f"{tag}-GlobalAveragePool"
        row = {"precision": tag, "rewritten_nodes": rewritten[tag], "reducemean_p50_ms": stats[a]["p50_ms"],
               "gap_p50_ms": stats[b]["p50_ms"], "speedup": ratio_median(stats[a], stats[b]),
               "max_abs_diff": float(np.abs(outs[a] - outs[b]).max())}
        rows.append(row)
        print(f"{tag}: {row['rewritten_nodes']} squeezes; ReduceMean {row['reducemean_p50_ms']:.2f} ms -> "
              f"GlobalAveragePool {row['gap_p50_ms']:.2f} ms ({row['speedup']:.2f}x), "
              f"outputs differ by {row['max_abs_diff']:.2g}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"folder": str(args.folder), "threads": args.threads, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
