"""What seedge's graph passes change: ONNX node counts and CPU latency, unpassed vs passed.

    python benchmarks/experiments/passes_effect.py               # se_resnet50, 224x224, batch 1, 2 threads
    python benchmarks/experiments/passes_effect.py --model se_resnext50_32x4d --rounds 7 --json out.json
    python benchmarks/experiments/passes_effect.py --per-pass    # + node counts after every single pass
    python benchmarks/experiments/passes_effect.py --linear-se   # SE blocks in Linear form first (canonical_se's case)
    python benchmarks/experiments/passes_effect.py --node-counts se_resnet18 mobilenet_v3_small ...  # counts only

Variants of the same random-weight model (seed 0):
  none     no passes
  fold_bn  drop_dropout + fold_bn
  default  seedge.passes.DEFAULT_PASSES (+ canonical_se, fuse_se_residual)
Each variant is exported with seedge's `export_onnx` and timed at batch 1 the way seedge
runs an artifact: ONNX Runtime and OpenVINO CPU through seedge's runners (2 threads; ORT
without spinning, OpenVINO with inference precision f32 and with the device default, a
static batch-1 compile), eager PyTorch and TorchScript (trace + freeze, as seedge exports
it; torch.set_num_threads(2)). Per backend, the three variants run in seedge's interleaved
rounds, so ratios hold on a shared machine; the "vs none" column is the median over rounds
of (variant p50 / unpassed p50) on the same backend (< 1: faster).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import warnings
from contextlib import ExitStack, redirect_stderr
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import interleaved, ratio_median  # noqa: E402  (seedge's interleaved timing)

BACKENDS = ("onnxruntime", "openvino-f32", "openvino-default", "torch-eager", "torchscript")
VARIANTS = {"none": [], "fold_bn": ["drop_dropout", "fold_bn"], "default": None}


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _to_linear_se(model) -> int:
    """Swap every canonical SqueezeExcite for the common Linear-based SE layer with the same weights.

    Gives the "none" variant the form many user models have (avgpool -> view -> Linear -> ReLU ->
    Linear -> Sigmoid -> view -> mul), so the effect of canonical_se on it can be measured.
    """
    import torch
    from torch import nn

    from seedge.models.layers import SqueezeExcite
    from seedge.passes._modules import replace_module

    class LinearSE(nn.Module):
        def __init__(self, se: SqueezeExcite):
            super().__init__()
            c, h = se.fc1.in_channels, se.fc1.out_channels
            self.avg_pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Sequential(nn.Linear(c, h), se.act, nn.Linear(h, c), se.gate)
            with torch.no_grad():
                for lin, conv in ((self.fc[0], se.fc1), (self.fc[2], se.fc2)):
                    lin.weight.copy_(conv.weight.flatten(1))
                    lin.bias.copy_(conv.bias)

        def forward(self, x):
            b, c, _, _ = x.size()
            y = self.fc(self.avg_pool(x).view(b, c)).view(b, c, 1, 1)
            return x * y.expand_as(x)

    names = [n for n, m in model.named_modules() if type(m) is SqueezeExcite]
    for n in names:
        replace_module(model, n, LinearSE(model.get_submodule(n)))
    return len(names)


def build_variants(name: str, per_pass: bool, linear_se: bool = False):
    import torch

    from seedge.models import create_model
    from seedge.passes import DEFAULT_PASSES, apply_passes

    torch.manual_seed(0)
    model = create_model(name)
    size = tuple(model.seedge_cfg.input_size)
    _bn_stats_from_a_batch(model, size)
    if linear_se:
        _say(f"Linear-based SE layers: {_to_linear_se(model)}")
    example = torch.randn(1, *size, generator=torch.Generator().manual_seed(0))
    models, reports = {}, {}
    for variant, names in VARIANTS.items():
        _say(f"passes: {variant}")
        names = DEFAULT_PASSES if names is None else names
        models[variant], reports[variant] = apply_passes(model, names, example=example,
                                                         count_nodes=per_pass and variant == "default")
    return models, reports, size, example


def _bn_stats_from_a_batch(model, size) -> None:
    """BN running stats from one train-mode batch, as a trained model has them.

    With init stats (mean 0, var 1) BN is nearly the identity and activations of a random
    ResNet drift; calibrated stats keep them in a trained model's range (and make fold_bn's
    folded weights differ from the originals, as they do for real checkpoints).
    """
    import torch

    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = None
            m.reset_running_stats()
    model.train()
    with torch.no_grad():
        model(torch.randn(4, *size, generator=torch.Generator().manual_seed(1)))
    model.eval()


def onnx_facts(path: Path) -> dict:
    import onnx

    from seedge.onnx.convert import node_counts

    proto = onnx.load(str(path))
    return {"nodes": node_counts(proto), "initializers": len(proto.graph.initializer),
            "op_sequence": [n.op_type for n in proto.graph.node]}


def node_count_table(names: list[str]) -> dict:
    """ONNX node counts of each model at its default input size, unpassed vs DEFAULT_PASSES."""
    import torch

    from seedge.onnx.convert import export_onnx
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


def runners(models: dict, size, example, folder: Path, threads: int, backends: set[str], stack: ExitStack):
    """name -> zero-arg callable running one batch-1 inference, for the `backends` asked for.

    ONNX Runtime and OpenVINO run through seedge's runners, entered on `stack` (they must
    outlive the timing).
    """
    import torch

    from seedge.backends.onnxruntime import OnnxRuntimeRunner
    from seedge.backends.openvino import OpenVINORunner
    from seedge.onnx.convert import export_onnx

    torch.set_num_threads(threads)
    x = np.ascontiguousarray(example.numpy())
    fns, facts, outputs = {}, {}, {}
    for variant, model in models.items():
        _say(f"export + compile: {variant}")
        path = export_onnx(model, folder / f"{variant}.onnx", size)
        facts[variant] = onnx_facts(path)
        # Spinning off: the script runs several runtimes in one process, and ORT workers left
        # spinning after a call would steal the 2 cores from whatever is timed next.
        ort_runner = stack.enter_context(OnnxRuntimeRunner(path, threads=threads, allow_spinning=False))
        fns[f"onnxruntime/{variant}"] = _call(ort_runner, x)
        for hint in [h for h in ("f32", "default") if f"openvino-{h}" in backends]:
            ov_runner = stack.enter_context(OpenVINORunner(path, threads=threads,
                                                           inference_precision="f32" if hint == "f32" else None))
            facts[variant][f"openvino_{hint}_precision"] = ov_runner.describe()["inference_precision"]
            fns[f"openvino-{hint}/{variant}"] = _call(ov_runner, x)
        with torch.no_grad(), warnings.catch_warnings(), redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            traced = torch.jit.freeze(torch.jit.trace(model, example, check_trace=False))
        fns[f"torch-eager/{variant}"] = (lambda m=model: _no_grad(m, example))
        fns[f"torchscript/{variant}"] = (lambda m=traced: _no_grad(m, example))
        with torch.no_grad():
            outputs[variant] = {"torch": model(example).numpy(), "onnxruntime": fns[f"onnxruntime/{variant}"]()[0]}
    fns = {k: f for k, f in fns.items() if k.split("/")[0] in backends}
    return fns, facts, outputs


def _call(runner, x):
    feed = {runner.input_name: x}
    return lambda: runner.infer(feed)


def _no_grad(model, x):
    import torch

    with torch.no_grad():
        return model(x)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="se_resnet50")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--backends", default=",".join(BACKENDS), help="comma list, default: all of them")
    ap.add_argument("--linear-se", action="store_true",
                    help="rewrite the model's SE blocks into the Linear-based form first (a user model's form)")
    ap.add_argument("--per-pass", action="store_true", help="ONNX node counts after each default pass")
    ap.add_argument("--json", type=Path, help="write all numbers here")
    ap.add_argument("--node-counts", nargs="+", metavar="MODEL", help="only ONNX node counts for these models")
    args = ap.parse_args(argv)
    if args.node_counts:
        table = node_count_table(args.node_counts)
        if args.json:
            args.json.write_text(json.dumps(table, indent=1))
        return table

    models, reports, size, example = build_variants(args.model, args.per_pass, args.linear_se)
    with tempfile.TemporaryDirectory(prefix="seedge-passes-effect-") as tmp, ExitStack() as stack:
        fns, facts, outputs = runners(models, size, example, Path(tmp), args.threads,
                                      set(args.backends.split(",")), stack)
        # One interleaved group per backend (its variants alternate round by round): runtimes are
        # never mixed inside a round, so one runtime's idle threads cannot slow another one down.
        timings = {}
        for backend in dict.fromkeys(k.split("/")[0] for k in fns):
            _say(f"timing {backend}")
            group = {k: f for k, f in fns.items() if k.startswith(backend + "/")}
            timings.update(interleaved(group, batch=1, warmup=args.warmup, rounds=args.rounds,
                                       iters=args.iters, progress=_say))

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
