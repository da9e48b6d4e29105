"""Where the time goes: per-layer profiles of OpenVINO and ONNX Runtime on one ONNX graph.

    python benchmarks/experiments/profile_layers.py --model se_resnet50 --threads 2 --iters 20
    python benchmarks/experiments/profile_layers.py --onnx exported/x/model.onnx --ov-precision bf16 --json prof.json
    python benchmarks/experiments/profile_layers.py --onnx exported/x/model.onnx --ov-model exported/x/openvino/model.int8.xml \
        --ort-model exported/x/model.int8.onnx --ov-precision bf16

OpenVINO: PERF_COUNT + the runtime model's `originalLayersNames` (which ONNX nodes each
executed kernel absorbed). ONNX Runtime: `enable_profiling` trace events. Each executed
kernel is put in one bucket: the SE squeeze/excite path (global mean, the two 1x1 FCs,
activation, gate), the SE scale (the gate multiply, with whatever residual tail got fused
into it), layout reorders, convolutions, other. Per-kernel time is the median over iterations.

The runtimes are opened directly, not through seedge's runners: profiling needs options the
runners do not offer (PERF_COUNT, enable_profiling, the optimized-graph dump), and no
latency is compared here, only shares of one run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, build_model, plain_onnx, random_input  # noqa: E402

GATES = {"Sigmoid", "HardSigmoid"}
POOLS = {"ReduceMean", "GlobalAveragePool"}


def se_tags(onnx_path: Path) -> dict[str, str]:
    """Map ONNX node names and output tensor names to "se" / "se_scale" for SE-block nodes.

    Structural, so it works on any SE flavour: from each gate node walk back (through the
    1x1 FCs and the activation) to a global mean; those nodes are "se"; the Mul nodes that
    consume the gate are "se_scale".
    """
    import onnx

    g = onnx.load(str(onnx_path), load_external_data=False).graph
    producer = {o: n for n in g.node for o in n.output}
    consumers = defaultdict(list)
    for n in g.node:
        for i in n.input:
            consumers[i].append(n)
    tags = {}
    for gate in (n for n in g.node if n.op_type in GATES):
        path, frontier, found = [gate], [gate], False
        for _ in range(8):
            nxt = []
            for n in frontier:
                for i in n.input:
                    p = producer.get(i)
                    if p is None:
                        continue
                    if p.op_type in POOLS:
                        path.append(p)
                        found = True
                    elif p.op_type in {"Conv", "Relu", "SiLU", "Sigmoid", "Mul", "Add", "HardSigmoid",
                                       "HardSwish", "Reshape", "Flatten", "Gemm", "MatMul", "Unsqueeze"}:
                        path.append(p)
                        nxt.append(p)
            if found or not nxt:
                break
            frontier = nxt
        if not found:
            continue
        for n in path:
            tags[n.name] = "se"
            for o in n.output:
                tags[o] = "se"
        for c in consumers[gate.output[0]]:
            if c.op_type == "Mul":
                tags[c.name] = "se_scale"
                for o in c.output:
                    tags[o] = "se_scale"
    return tags


def _bucket(names: list[str], op: str, tags: dict[str, str]) -> str:
    found = {tags.get(n) for n in names} - {None}
    if "reorder" in op.lower():
        # a layout change forced by an SE block's plain-layout ops (mean, scale) counts as SE cost
        return "se_layout_reorder" if found else "layout_reorder"
    if "se" in found:
        return "se_squeeze_excite"
    if "se_scale" in found:
        return "se_scale(+fused tail)"
    if "conv" in op.lower():
        return "conv"
    return "other:" + op


def profile_openvino(onnx_path: Path, x: np.ndarray, threads: int, iters: int, precision: str,
                     tags: dict[str, str], extra: dict | None = None) -> dict:
    import openvino as ov

    core = ov.Core()
    cfg = {"PERF_COUNT": True, "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY",
           "INFERENCE_PRECISION_HINT": precision, **(extra or {})}
    compiled = core.compile_model(core.read_model(str(onnx_path)), "CPU", cfg)
    originals = {}
    for op in compiled.get_runtime_model().get_ops():
        rt = op.get_rt_info()
        names = rt["originalLayersNames"].astype(str) if "originalLayersNames" in rt else ""
        originals[op.get_friendly_name()] = [n for n in names.split(",") if n]
    req = compiled.create_infer_request()
    for _ in range(3):
        req.infer({0: x})
    per_node = defaultdict(list)
    info = {}
    for _ in range(iters):
        req.infer({0: x})
        for p in req.get_profiling_info():
            if p.status.name != "EXECUTED":
                continue
            per_node[p.node_name].append(p.real_time.total_seconds() * 1e3)
            info[p.node_name] = (p.node_type, p.exec_type)
    rows = []
    for name, times in per_node.items():
        node_type, exec_type = info[name]
        orig = originals.get(name) or [name.split("/")[0]]
        rows.append({"node": name, "type": node_type, "kernel": exec_type, "ms": float(np.median(times)),
                     "bucket": _bucket(orig + [name.split("/")[0]], node_type, tags)})
    return _summary("openvino", rows, {"model": Path(onnx_path).name, "precision": precision, "threads": threads,
                                       **(extra or {})})


def profile_onnxruntime(onnx_path: Path, x: np.ndarray, threads: int, iters: int, tags: dict[str, str],
                        opt_level: str = "ORT_ENABLE_ALL") -> dict:
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, opt_level)
        so.enable_profiling = True
        so.log_severity_level = 3  # the "hardware specific optimized model" warning is expected here
        so.profile_file_prefix = str(Path(tmp) / "ort")
        # the graph ORT actually runs (after fusions and the NCHWc layout rewrite), to see
        # which layout reorders sit next to SE nodes
        so.optimized_model_filepath = str(Path(tmp) / "optimized.onnx")
        sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        for _ in range(3 + iters):
            sess.run(None, {name: x})
        events = json.loads(Path(sess.end_profiling()).read_text())
        neighbours = _reorder_neighbours(Path(tmp) / "optimized.onnx")
    runs = [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
    skip_before = runs[3]["ts"] if len(runs) > 3 else 0  # drop the warm-up runs
    per_node = defaultdict(list)
    op_of = {}
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time") or e["ts"] < skip_before:
            continue
        node = e["name"][: -len("_kernel_time")]
        per_node[node].append(e["dur"] / 1e3)
        op_of[node] = e["args"].get("op_name", "?")
    rows = []
    for node, times in per_node.items():
        # ORT names rewritten nodes after their outputs ("relu_3_nchwc"): try both spellings
        base = node[: -len("_nchwc")] if node.endswith("_nchwc") else node
        names = [node, base, "node_" + base] + neighbours.get(node, [])
        rows.append({"node": node, "type": op_of[node], "kernel": op_of[node],
                     "ms": float(np.median(times)) * len(times) / iters,  # a node may run once per iter
                     "bucket": _bucket(names, op_of[node], tags)})
    return _summary("onnxruntime", rows, {"model": Path(onnx_path).name, "threads": threads,
                                          "graph_optimization_level": opt_level})


def _reorder_neighbours(optimized: Path) -> dict[str, list[str]]:
    """For each ORT layout-reorder node: the tensor names it reads and writes, minus ORT's suffixes."""
    import onnx

    if not optimized.is_file():
        return {}
    g = onnx.load(str(optimized), load_external_data=False).graph
    out = {}
    producer = {o: n for n in g.node for o in n.output}
    consumers = defaultdict(list)
    for n in g.node:
        for i in n.input:
            consumers[i].append(n)
    for n in g.node:
        if "Reorder" not in n.op_type:
            continue
        near = [t for t in list(n.input) + list(n.output)]
        near += [c.name for o in n.output for c in consumers[o]]
        near += [producer[i].name for i in n.input if i in producer]
        out[n.name] = [t[: -len("_nchwc")] if t.endswith("_nchwc") else t for t in near]
    return out


def _summary(runtime: str, rows: list[dict], settings: dict) -> dict:
    total = sum(r["ms"] for r in rows)
    buckets = defaultdict(float)
    for r in rows:
        buckets[r["bucket"]] += r["ms"]
    return {
        "runtime": runtime,
        "settings": settings,
        "kernels": len(rows),
        "total_ms": total,
        "buckets": {k: {"ms": v, "share": v / total if total else 0.0}
                    for k, v in sorted(buckets.items(), key=lambda kv: -kv[1])},
        "se_share": sum(v for k, v in buckets.items() if k.startswith("se_")) / total if total else 0.0,
        "top": sorted(rows, key=lambda r: -r["ms"])[:15],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="se_resnet50")
    ap.add_argument("--onnx", type=Path, help="profile this ONNX file instead of a plain export of --model")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--ov-precision", default="f32", help="OpenVINO INFERENCE_PRECISION_HINT (f32, bf16, f16)")
    ap.add_argument("--ov-model", type=Path, help="OpenVINO profiles this (e.g. an INT8 IR made from --onnx)")
    ap.add_argument("--ort-model", type=Path, help="ONNX Runtime profiles this (e.g. the Q/DQ INT8 ONNX)")
    ap.add_argument("--skip", choices=("openvino", "onnxruntime"), help="profile only the other runtime")
    ap.add_argument("--json", type=Path, help="write the full profile here")
    args = ap.parse_args(argv)

    if args.onnx:
        import onnx

        onnx_path = args.onnx
        dims = onnx.load(str(onnx_path), load_external_data=False).graph.input[0].type.tensor_type.shape.dim
        input_size = tuple(int(d.dim_value) for d in dims[1:])
    else:
        model, input_size = build_model(args.model)
        onnx_path = plain_onnx(model, input_size, CACHE / args.model / f"plain.b{args.batch}.onnx", args.batch)
    x = random_input(args.batch, input_size)
    tags = se_tags(onnx_path)
    # SE tags come from --onnx; node names survive into the IR and the Q/DQ graph made from it
    out = {"onnx": str(onnx_path), "batch": args.batch, "profiles": []}
    if args.skip != "openvino":
        out["profiles"].append(profile_openvino(args.ov_model or onnx_path, x, args.threads, args.iters,
                                                args.ov_precision, tags))
    if args.skip != "onnxruntime":
        out["profiles"].append(profile_onnxruntime(args.ort_model or onnx_path, x, args.threads, args.iters, tags))
    for p in out["profiles"]:
        print(f"\n{p['runtime']} {p['settings']}: {p['kernels']} kernels, {p['total_ms']:.2f} ms summed, "
              f"SE share {100 * p['se_share']:.1f}%")
        for k, v in p["buckets"].items():
            print(f"  {k:32s} {v['ms']:8.2f} ms  {100 * v['share']:5.1f}%")
        print("  top kernels:")
        for r in p["top"][:8]:
            print(f"    {r['node'][:40]:40s} {r['kernel'][:28]:28s} {r['ms']:7.2f} ms  [{r['bucket']}]")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
