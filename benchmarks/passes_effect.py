"""What seedge's graph passes change: ONNX node counts and CPU latency, unpassed vs passed.

    python benchmarks/passes_effect.py                       # se_resnet50, 224x224, batch 1, 2 threads
    python benchmarks/passes_effect.py --model se_resnext50_32x4d --rounds 7 --json out.json
    python benchmarks/passes_effect.py --per-pass            # + node counts after every single pass
    python benchmarks/passes_effect.py --node-counts se_resnet18 mobilenet_v3_small ...  # counts only

Variants of the same random-weight model (seed 0):
  none     no passes
  fold_bn  drop_dropout + fold_bn
  default  seedge.passes.DEFAULT_PASSES (+ canonical_se, fuse_se_residual)
Each variant is exported with seedge's `export_onnx` and timed at batch 1 in ONNX Runtime
(CPUExecutionProvider, intra_op_num_threads=2), OpenVINO CPU (INFERENCE_NUM_THREADS=2, with
INFERENCE_PRECISION_HINT f32 and with the device default), eager PyTorch and TorchScript
(trace + freeze, as seedge exports it; torch.set_num_threads(2)). All configurations run in
interleaved rounds, so ratios hold on a shared machine; the speed-up column is the median
over rounds of (variant p50 / unpassed p50) on the same backend.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import warnings
from contextlib import redirect_stderr
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import interleaved, ratio_median  # noqa: E402  (benchmarks/ helper: interleaved timing)

VARIANTS = {"none": [], "fold_bn": ["drop_dropout", "fold_bn"], "default": None}


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build_variants(name: str, per_pass: bool):
    import torch

    from seedge.models import create_model
    from seedge.passes import DEFAULT_PASSES, apply_passes

    torch.manual_seed(0)
    model = create_model(name).eval()
    size = tuple(model.seedge_cfg.input_size)
    example = torch.randn(1, *size, generator=torch.Generator().manual_seed(0))
    models, reports = {}, {}
    for variant, names in VARIANTS.items():
        _say(f"passes: {variant}")
        names = DEFAULT_PASSES if names is None else names
        models[variant], reports[variant] = apply_passes(model, names, example=example,
                                                         count_nodes=per_pass and variant == "default")
    return models, reports, size, example


def onnx_facts(path: Path) -> dict:
    import onnx

    from seedge.export.onnx_export import node_counts

    proto = onnx.load(str(path))
    return {"nodes": node_counts(proto), "initializers": len(proto.graph.initializer),
            "op_sequence": [n.op_type for n in proto.graph.node]}


def node_count_table(names: list[str]) -> dict:
    """ONNX node counts of each model at its default input size, unpassed vs DEFAULT_PASSES."""
    import torch

    from seedge.export.onnx_export import export_onnx
    from seedge.models import create_model
    from seedge.passes import apply_passes

    table = {}
    with tempfile.TemporaryDirectory(prefix="seedge-node-counts-") as tmp:
        for name in names:
            _say(f"node counts: {name}")
            torch.manual_seed(0)
            model = create_model(name).eval()
            size = tuple(model.seedge_cfg.input_size)
            passed, reports = apply_passes(model)
            before = onnx_facts(export_onnx(model, Path(tmp) / "a.onnx", size))
            after = onnx_facts(export_onnx(passed, Path(tmp) / "b.onnx", size))
            ops = sorted(set(before["nodes"]) | set(after["nodes"]) - {"total"})
            table[name] = {"before": before["nodes"], "after": after["nodes"],
                           "changed_ops": {op: [before["nodes"].get(op, 0), after["nodes"].get(op, 0)] for op in ops
                                           if before["nodes"].get(op, 0) != after["nodes"].get(op, 0)},
                           "same_op_sequence": before["op_sequence"] == after["op_sequence"],
                           "rewrites": {r["name"]: r["changed"] for r in reports}}
            t = table[name]
            print(f"{name:32s} nodes {before['nodes']['total']:5d} -> {after['nodes']['total']:5d}  "
                  f"changed ops {t['changed_ops']}  same op sequence {t['same_op_sequence']}  "
                  f"rewrites {t['rewrites']}", flush=True)
    return table


def runners(models: dict, size, example, folder: Path, threads: int):
    """name -> zero-arg callable running one batch-1 inference."""
    import onnxruntime as ort
    import openvino as ov
    import torch

    from seedge.export.onnx_export import export_onnx

    torch.set_num_threads(threads)
    x = np.ascontiguousarray(example.numpy())
    core = ov.Core()
    fns, facts, outputs = {}, {}, {}
    for variant, model in models.items():
        _say(f"export + compile: {variant}")
        path = export_onnx(model, folder / f"{variant}.onnx", size)
        facts[variant] = onnx_facts(path)
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        fns[f"onnxruntime/{variant}"] = (lambda s=sess: s.run(None, {"input": x}))
        ov_model = core.read_model(str(path))
        for hint in ("f32", "default"):
            cfg = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
            if hint == "f32":
                cfg["INFERENCE_PRECISION_HINT"] = "f32"
            compiled = core.compile_model(ov_model, "CPU", cfg)
            facts[variant][f"openvino_{hint}_precision"] = str(compiled.get_property("INFERENCE_PRECISION_HINT"))
            req = compiled.create_infer_request()
            fns[f"openvino-{hint}/{variant}"] = (lambda r=req: r.infer({0: x}))
        with torch.no_grad(), warnings.catch_warnings(), redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            traced = torch.jit.freeze(torch.jit.trace(model, example, check_trace=False))
        fns[f"torch-eager/{variant}"] = (lambda m=model: _no_grad(m, example))
        fns[f"torchscript/{variant}"] = (lambda m=traced: _no_grad(m, example))
        with torch.no_grad():
            outputs[variant] = {"torch": model(example).numpy(), "onnxruntime": sess.run(None, {"input": x})[0]}
    return fns, facts, outputs


def _no_grad(model, x):
    import torch

    with torch.no_grad():
        return model(x)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="se_resnet50")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--per-pass", action="store_true", help="ONNX node counts after each default pass")
    ap.add_argument("--json", type=Path, help="write all numbers here")
    ap.add_argument("--node-counts", nargs="+", metavar="MODEL", help="only ONNX node counts for these models")
    args = ap.parse_args(argv)
    if args.node_counts:
        table = node_count_table(args.node_counts)
        if args.json:
            args.json.write_text(json.dumps(table, indent=1))
        return table

    models, reports, size, example = build_variants(args.model, args.per_pass)
    with tempfile.TemporaryDirectory(prefix="seedge-passes-effect-") as tmp:
        fns, facts, outputs = runners(models, size, example, Path(tmp), args.threads)
        timings = interleaved(fns, batch=1, warmup=args.warmup, rounds=args.rounds, iters=args.iters,
                              progress=_say)

    result = {"model": args.model, "input": [1, *size], "threads": args.threads, "rounds": args.rounds,
              "iters": args.iters, "onnx": facts, "passes": reports,
              "max_abs_diff_vs_none": {v: {k: float(np.abs(o[k] - outputs["none"][k]).max()) for k in o}
                                       for v, o in outputs.items()},
              "latency": {}}
    print(f"\n{args.model} {size}, batch 1, {args.threads} threads, {args.rounds} interleaved rounds x "
          f"{args.iters} calls")
    print("ONNX nodes: " + ", ".join(f"{v} {f['nodes']['total']}" for v, f in facts.items()))
    for v, f in facts.items():
        same = f["op_sequence"] == facts["none"]["op_sequence"]
        print(f"  {v:8s} {f['nodes']}  initializers {f['initializers']}  same op sequence as none: {same}")
    if args.per_pass:
        for r in reports["default"]:
            print(f"  after {r['name']:17s} changed {r['changed']:3d}  nodes "
                  f"{r['onnx_nodes_before']['total']} -> {r['onnx_nodes_after']['total']}")
    print(f"{'backend':20s} {'variant':8s} {'p50 ms':>8s} {'p90 ms':>8s} {'vs none':>8s}")
    for key, t in timings.items():
        backend, variant = key.split("/")
        ratio = ratio_median(t, timings[f"{backend}/none"])
        result["latency"][key] = {"p50_ms": t["p50_ms"], "p90_ms": t["p90_ms"],
                                  "round_p50_ms": t["round_p50_ms"], "time_ratio_vs_none": ratio}
        print(f"{backend:20s} {variant:8s} {t['p50_ms']:8.2f} {t['p90_ms']:8.2f} {ratio:8.3f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))
    return result


if __name__ == "__main__":
    main()
