"""Which runtime settings make an exported SE model fastest on this CPU (interleaved rounds).

Variants (each a name -> how the artifact is opened); all pinned to --threads. The ones
marked [runner] are seedge's own runners with one of their options (what users get); the
others set a runtime option the runners do not offer, on a plain session or compile:

  ov-latency        [runner] OpenVINO, f32, dynamic-batch compile (static_shapes=False):
                    PERFORMANCE_HINT=LATENCY
  ov-pinning        + ENABLE_CPU_PINNING=YES (dynamic batch, plain compile)
  ov-streams1       NUM_STREAMS=1 and no PERFORMANCE_HINT (dynamic batch, plain compile)
  ov-static         [runner] its default: a static [batch, C, H, W] copy compiled
  ov-bf16           [runner] INFERENCE_PRECISION_HINT=bf16, dynamic batch (not FP32 parity)
  ov-int8 / ov-int8-bf16   [runner] the INT8 IR with float parts in f32 / bf16, dynamic batch
                    (+ -static: the runner's default; + -denormals: CPU_DENORMALS_OPTIMIZATION=YES,
                    plain compile of a static copy)
  ort-all           [runner] ONNX Runtime: ORT_ENABLE_ALL, spinning on (its default)
  ort-nospin        [runner] allow_spinning=False
  ort-extended      ORT_ENABLE_EXTENDED (no NCHWc layout rewrite; plain session)
  ort-int8          [runner] the Q/DQ INT8 ONNX
  eager             eager PyTorch (the baseline every ratio is against)

The runners copy OpenVINO's outputs out of the request after each call (a few kB for a
classifier); the plain compiles do not, which favours them by that copy.

    python benchmarks/experiments/settings_sweep.py --model se_resnet50 --threads 2 --rounds 5 --iters 10
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import exported_folder, interleaved, random_input, ratio_median  # noqa: E402


def _file(folder: Path, manifest: dict, art_id: str) -> Path | None:
    a = next((a for a in manifest["artifacts"] if a["id"] == art_id), None)
    return folder / a["file"] if a else None


def _runner(stack: ExitStack, runner, x):
    """(call, settings) for a seedge runner entered on `stack`; settings read after the timing
    (the OpenVINO runner lists the static shapes it compiled)."""
    r = stack.enter_context(runner)
    feed = {r.input_name: x}
    return (lambda: r.infer(feed)), r.describe


def _ov_runner(stack: ExitStack, path: Path, threads: int, x, precision: str, static: bool = True):
    from seedge.backends.openvino import OpenVINORunner

    return _runner(stack, OpenVINORunner(path, threads=threads, inference_precision=precision,
                                         static_shapes=static), x)


def _ort_runner(stack: ExitStack, path: Path, threads: int, x, spin: bool = True):
    from seedge.backends.onnxruntime import OnnxRuntimeRunner

    return _runner(stack, OnnxRuntimeRunner(path, threads=threads, allow_spinning=spin), x)


def _ov(path: Path, threads: int, x, config: dict, static: bool = False):
    """A plain OpenVINO compile, for settings seedge's runner does not offer."""
    import openvino as ov

    core = ov.Core()
    model = core.read_model(str(path))
    if static:
        model.reshape({0: ov.PartialShape(list(x.shape))})
    compiled = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": threads, **config})
    req = compiled.create_infer_request()
    got = {k: str(compiled.get_property(k)) for k in ("INFERENCE_PRECISION_HINT", "NUM_STREAMS", "PERFORMANCE_HINT",
                                                      "ENABLE_CPU_PINNING")}
    return (lambda: req.infer({0: x})), lambda: got


def _ort(path: Path, threads: int, x, level: str):
    """A plain ONNX Runtime session, for settings seedge's runner does not offer."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    so.log_severity_level = 3
    s = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    return (lambda: s.run(None, {name: x})), lambda: {"graph_optimization_level": level, "allow_spinning": True}


def variants(folder: Path, manifest: dict, threads: int, x, stack: ExitStack) -> dict:
    """name -> zero-argument function opening that variant: (call, settings). Runners are
    entered on `stack`, so they stay open through the timing."""
    ir, ir8 = _file(folder, manifest, "openvino-fp32"), _file(folder, manifest, "openvino-int8")
    onnx32, onnx8 = _file(folder, manifest, "onnx-fp32"), _file(folder, manifest, "onnx-int8")
    lat = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    v = {}
    if ir:
        v["ov-latency"] = lambda: _ov_runner(stack, ir, threads, x, "f32", static=False)
        v["ov-pinning"] = lambda: _ov(ir, threads, x, {**lat, "ENABLE_CPU_PINNING": True})
        v["ov-streams1"] = lambda: _ov(ir, threads, x, {"NUM_STREAMS": 1, "INFERENCE_PRECISION_HINT": "f32"})
        v["ov-static"] = lambda: _ov_runner(stack, ir, threads, x, "f32")
        v["ov-bf16"] = lambda: _ov_runner(stack, ir, threads, x, "bf16", static=False)
    if ir8:
        v["ov-int8"] = lambda: _ov_runner(stack, ir8, threads, x, "f32", static=False)
        v["ov-int8-static"] = lambda: _ov_runner(stack, ir8, threads, x, "f32")
        v["ov-int8-bf16"] = lambda: _ov_runner(stack, ir8, threads, x, "bf16", static=False)
        v["ov-int8-bf16-static"] = lambda: _ov_runner(stack, ir8, threads, x, "bf16")
        v["ov-int8-bf16-static-denormals"] = lambda: _ov(ir8, threads, x, {
            **lat, "INFERENCE_PRECISION_HINT": "bf16", "CPU_DENORMALS_OPTIMIZATION": True}, static=True)
    if onnx32:
        v["ort-all"] = lambda: _ort_runner(stack, onnx32, threads, x)
        v["ort-nospin"] = lambda: _ort_runner(stack, onnx32, threads, x, spin=False)
        v["ort-extended"] = lambda: _ort(onnx32, threads, x, level="ORT_ENABLE_EXTENDED")
    if onnx8:
        v["ort-int8"] = lambda: _ort_runner(stack, onnx8, threads, x)
    return v


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="se_resnet50")
    ap.add_argument("--folder", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--only", help="comma-separated variant names (default: all available)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    import torch

    from seedge.artifacts import read_manifest
    from seedge.backends import open_baseline

    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    folder = args.folder or exported_folder(args.model, ["onnx", "openvino"], ["fp32", "int8"], progress=say)
    manifest = read_manifest(folder)
    c, h, w = manifest["input"]["shape"][1:]
    x = random_input(args.batch, (c, h, w))
    with ExitStack() as stack:
        eager = stack.enter_context(open_baseline(folder, manifest, threads=args.threads))
        fns, settings = {"eager": lambda: eager.infer({manifest["input"]["name"]: x})}, {"eager": eager.describe}
        wanted = set(args.only.split(",")) if args.only else None
        for name, make in variants(folder, manifest, args.threads, x, stack).items():
            if wanted is None or name in wanted:
                fns[name], settings[name] = make()
        say(f"timing {len(fns)} variants")
        with torch.inference_mode():
            stats = interleaved(fns, args.batch, rounds=args.rounds, iters=args.iters, progress=say)
        settings = {name: read() for name, read in settings.items()}
    from seedge.bench.environment import environment

    env = environment("cpu", args.threads)
    print(f"\n{manifest['model'].get('arch')} batch {args.batch}, {args.threads} threads, {args.rounds} rounds x "
          f"{args.iters} calls (load average {env['load_average']})")
    rows = []
    for name, s in sorted(stats.items(), key=lambda kv: kv[1]["p50_ms"]):
        r = {"variant": name, "p50_ms": s["p50_ms"], "speedup_vs_eager": ratio_median(stats["eager"], s),
             "settings": settings[name]}
        rows.append(r)
        print(f"{name:16s} {s['p50_ms']:9.2f} ms  {r['speedup_vs_eager']:6.2f}x eager  {settings[name]}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"folder": str(folder), "batch": args.batch, "threads": args.threads,
                                         "rows": rows, "environment": env}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
