"""FP32 vs FP16 vs INT8 on the demo model: accuracy, agreement and CPU latency, ORT and OpenVINO.

    python benchmarks/experiments/quantize_table.py            # the table (digits test split)
    python benchmarks/experiments/quantize_table.py --policies # + SE policy comparison (all/se-float/se-range)
    python benchmarks/experiments/quantize_table.py --rounds 300 --json quantize_table.json --keep /tmp/qt
    python benchmarks/experiments/quantize_table.py --export /tmp/qt/demo --threads 1   # same artifacts, 1 thread

The demo model (seedge.train.demo.demo_checkpoint(): se_resnet10_cifar_tiny trained on digits,
32x32) is exported by the real pipeline (seedge.export.pipeline.export_model: passes,
onnx + openvino, fp32/fp16/int8, 256 calibration images of the digits train split,
default SE-aware policy), then every artifact is measured on the digits test split:
accuracy, top-1 agreement with ONNX Runtime FP32, and batch-1 / batch-8 latency with 2
threads, each configuration on the runner the quantizer judges candidates with
(seedge.quantize.measure: seedge's runners; ONNX Runtime without spinning, as it is timed
beside OpenVINO; OpenVINO with PERFORMANCE_HINT=LATENCY and a static compile per batch
size). OpenVINO's FP32 IR is timed both with f32 and with the CPU plugin's default
precision (bf16 on CPUs with AMX/AVX512-BF16); the INT8 IR with the float precision its
build recorded. All configurations of one batch size run in seedge's interleaved rounds
(each gets `per_round` timed calls per round, the order rotates), and the table shows medians: the machine is shared, ratios within a run hold. With
`--threads 1` the same table at one thread (less sensitive to other work on a busy machine:
no thread waits for another to be scheduled).

Targets checked at the end: INT8 loses <= 0.5 accuracy points and agrees with FP32 on
>= 99% of the test split in both runtimes; OpenVINO INT8 beats OpenVINO's fastest non-INT8
setting at batch 1 and batch 8.

Per family, accuracy only (no timing), seedge against what a user gets without it:

    python benchmarks/experiments/quantize_table.py --family mobilenet_v3_large --family se_resnet50 \
        --out benchmarks/results

takes each family's digits-trained checkpoint (experiments/train_families.py, cached in
benchmarks/.cache/runs/), exports it with seedge's defaults (onnx + openvino, fp32/int8,
default SE-aware policy, 256 calibration images of the digits train split; cached in
benchmarks/.cache/exported/<arch>_digits<size>), and measures on the digits test split,
against the eager FP32 model: seedge onnx-int8 (ONNX Runtime) and openvino-int8 (OpenVINO, at
the float precision its build recorded), and the peers on a plain `torch.onnx.export` of the
same weights (static batch 1, no seedge passes), calibrated on the same 256 images:
`nncf.quantize` defaults and `nncf.quantize_with_accuracy_control` (max_drop 0.01 absolute, its
default, validated on the digits val split) run in OpenVINO; ORT `quantize_static` defaults
(QDQ, per-tensor) and with per_channel=True run in ONNX Runtime. Columns: accuracy, drop in
points, top-1 agreement, logit SQNR (dB) and KL(eager || int8) of the softmax, averaged over
images (seedge.verify.parity's metrics, as `seedge verify` reports them). Writes <out>/int8_<arch>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import numpy as np


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def export_demo(out: Path) -> Path:
    from seedge.export.options import ExportOptions
    from seedge.export.pipeline import export_model
    from seedge.train.demo import demo_checkpoint

    ckpt = demo_checkpoint()
    _say(f"exporting {ckpt} (onnx + openvino, fp32/fp16/int8)")
    options = ExportOptions(formats=("onnx", "openvino"), precisions=("fp32", "fp16", "int8"), calib="digits",
                            out=out, name="demo")
    return export_model(ckpt, options, progress=lambda msg, phase: _say(f"  {msg}"))


def candidates(folder: Path, manifest: dict) -> dict[str, dict]:
    """label -> {"kind": ort|ov, "path", "precision", "hint"} for every configuration measured."""
    arts = {a["id"]: a for a in manifest["artifacts"]}
    c = {
        "ORT fp32": {"kind": "ort", "path": folder / arts["onnx-fp32"]["file"], "precision": "fp32"},
        "ORT fp16": {"kind": "ort", "path": folder / arts["onnx-fp16"]["file"], "precision": "fp16"},
        "ORT int8": {"kind": "ort", "path": folder / arts["onnx-int8"]["file"], "precision": "int8"},
        "OV fp32 (f32)": {"kind": "ov", "path": folder / arts["openvino-fp32"]["file"], "precision": "fp32",
                          "hint": "f32"},
        "OV fp32 (default)": {"kind": "ov", "path": folder / arts["openvino-fp32"]["file"], "precision": "fp32",
                              "hint": None},
        "OV fp16 IR (f32)": {"kind": "ov", "path": folder / arts["openvino-fp16"]["file"], "precision": "fp16",
                             "hint": "f32"},
    }
    b = arts["openvino-int8"]["build"]
    hint = b.get("inference_precision", "f32")
    c[f"OV int8 ({b.get('route', '?')}, {hint})"] = {"kind": "ov", "path": folder / arts["openvino-int8"]["file"],
                                                     "precision": "int8", "hint": hint}
    return c


def run_table(folder: Path, x, y, batches, rounds: int, per_round: int, threads: int = 2) -> dict:
    from seedge.quantize import measure
    from seedge.verify.parity import compare

    manifest = json.loads((folder / "manifest.json").read_text())
    cands = candidates(folder, manifest)
    with ExitStack() as stack:
        runners = {label: stack.enter_context(_runner(c, threads)) for label, c in cands.items()}
        for label, c in cands.items():
            if c["kind"] == "ov":
                c["ran_as"] = runners[label].describe()["inference_precision"]
        logits = {label: measure.logits(r, x) for label, r in runners.items()}
        ref = logits["ORT fp32"]
        rows = []
        for label, c in cands.items():
            m = compare(ref, logits[label], y)
            rows.append({"config": label, "precision": c["precision"], "ran_as": c.get("ran_as", c["precision"]),
                         "accuracy": m["accuracy"], "accuracy_drop_points": m["accuracy_drop_points"],
                         "top1_agreement": m["top1_agreement"], "max_abs_diff": m["max_abs_diff"]})
        for b in batches:
            calls = {label: measure.infer_call(r, x[:b]) for label, r in runners.items()}
            _say(f"timing batch {b}: {len(calls)} configurations x {rounds} rounds x {per_round} calls, interleaved")
            p50 = measure.interleaved_p50_ms(calls, rounds=rounds, per_round=per_round, warmup=20)
            for r in rows:
                r[f"p50_ms_b{b}"] = p50[r["config"]]
    int8_build = next(a for a in manifest["artifacts"] if a["id"] == "openvino-int8")["build"]
    onnx_int8_build = next(a for a in manifest["artifacts"] if a["id"] == "onnx-int8")["build"]
    return {"rows": rows, "openvino_int8_choice": int8_build.get("why"),
            "onnx_int8_policy": onnx_int8_build.get("policy_resolved"), "eval_images": len(x),
            "threads": threads}


def _runner(c: dict, threads: int):
    """The quantizer's runner for one configuration (seedge.quantize.measure), not yet entered."""
    from seedge.quantize import measure

    if c["kind"] == "ort":
        return measure.ort_runner(c["path"], threads)
    return measure.ov_runner(c["path"], threads, c["hint"])


def check_targets(table: dict, batches) -> list[str]:
    rows = {r["config"]: r for r in table["rows"]}
    ov_int8 = next(r for r in table["rows"] if r["config"].startswith("OV int8"))
    lines = []
    for r in (rows["ORT int8"], ov_int8):
        ok = r["accuracy_drop_points"] <= 0.5 and r["top1_agreement"] >= 0.99
        lines.append(f"{'PASS' if ok else 'MISS'} {r['config']}: accuracy drop {r['accuracy_drop_points']:.2f} "
                     f"points (<= 0.5), agreement {r['top1_agreement'] * 100:.2f}% (>= 99%)")
    non_int8 = [r for r in table["rows"] if r["config"].startswith("OV") and r["precision"] != "int8"]
    for b in batches:
        best = min(non_int8, key=lambda r: r[f"p50_ms_b{b}"])
        ok = ov_int8[f"p50_ms_b{b}"] < best[f"p50_ms_b{b}"]
        lines.append(f"{'PASS' if ok else 'MISS'} batch {b}: {ov_int8['config']} {ov_int8[f'p50_ms_b{b}']:.3f} ms vs "
                     f"fastest non-INT8 OpenVINO ({best['config']}) {best[f'p50_ms_b{b}']:.3f} ms "
                     f"({best[f'p50_ms_b{b}'] / ov_int8[f'p50_ms_b{b}']:.2f}x)")
    return lines


def policy_table(folder: Path, calib, x, y, batches, rounds: int, per_round: int) -> list[dict]:
    """The SE policies side by side on model.onnx: ORT and OpenVINO (reading the Q/DQ graph, f32)."""
    from seedge.quantize import measure
    from seedge.quantize.int8 import quantize_onnx_int8
    from seedge.verify.parity import compare

    src = folder / "model.onnx"
    ref = measure.ort_logits(src, x)
    rows, runners = [], {}
    # Runners close (ExitStack) before their files go (TemporaryDirectory): `with` exits in reverse.
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        for policy in ("all", "se-float", "se-range"):
            dst = Path(tmp) / f"{policy}.onnx"
            quantize_onnx_int8(src, dst, calib, policy=policy)
            for kind in ("ORT", "OV"):
                runner = measure.ort_runner(dst, 2) if kind == "ORT" else measure.ov_runner(dst, 2, "f32")
                runners[(policy, kind)] = stack.enter_context(runner)
                out = measure.logits(runners[(policy, kind)], x)
                m = compare(ref, out, y)
                rows.append({"policy": policy, "runtime": kind, "accuracy": m["accuracy"],
                             "top1_agreement": m["top1_agreement"], "mean_abs_diff": float(np.abs(out - ref).mean()),
                             "max_abs_diff": m["max_abs_diff"]})
        for b in batches:
            calls = {key: measure.infer_call(r, x[:b]) for key, r in runners.items()}
            _say(f"timing policies at batch {b}")
            p50 = measure.interleaved_p50_ms(calls, rounds=rounds, per_round=per_round, warmup=20)
            for r in rows:
                r[f"p50_ms_b{b}"] = p50[(r["policy"], r["runtime"])]
    return rows


def markdown(table: dict, batches) -> str:
    head = "| configuration | runs as | accuracy | drop (pts) | agreement | " + \
           " | ".join(f"p50 b{b} (ms)" for b in batches) + " |"
    out = [head, "|" + "---|" * (5 + len(batches))]
    for r in table["rows"]:
        out.append(f"| {r['config']} | {r['ran_as']} | {r['accuracy'] * 100:.2f}% | {r['accuracy_drop_points']:.2f} | "
                   f"{r['top1_agreement'] * 100:.2f}% | " + " | ".join(f"{r[f'p50_ms_b{b}']:.3f}" for b in batches)
                   + " |")
    return "\n".join(out)


def policy_markdown(rows, batches) -> str:
    out = ["| policy | runtime | accuracy | agreement | mean abs dlogit | " +
           " | ".join(f"p50 b{b} (ms)" for b in batches) + " |", "|" + "---|" * (5 + len(batches))]
    for r in rows:
        out.append(f"| {r['policy']} | {r['runtime']} | {r['accuracy'] * 100:.2f}% | {r['top1_agreement'] * 100:.2f}% | "
                   f"{r['mean_abs_diff']:.4f} | " + " | ".join(f"{r[f'p50_ms_b{b}']:.3f}" for b in batches) + " |")
    return "\n".join(out)


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# ---- per family: seedge INT8 against the peers, accuracy only (--family) ---------------------------

FAMILY_SIZE = 32  # the size experiments/train_families.py trains at (digits are 8x8 images)
PEER_THREADS = 2
TABLE_EXPORT_THRESHOLDS = {"int8": {"min_agreement": 0.0, "max_accuracy_drop": None}}


def _eager_logits(checkpoint: Path, x: np.ndarray):
    """(model, logits) of the trained checkpoint as eager FP32 PyTorch."""
    import torch

    from seedge.checkpoint import load_model

    torch.set_num_threads(PEER_THREADS)
    model, _ = load_model(str(checkpoint))
    with torch.no_grad():
        out = np.concatenate([model(torch.from_numpy(x[i:i + 64])).numpy() for i in range(0, len(x), 64)])
    return model.eval(), out


# The peers run as a user runs them: plain sessions / compiles with each runtime's defaults,
# threads pinned, one image at a time (the plain export has a static batch of 1).
def _ort_plain_logits(path: Path, x: np.ndarray) -> np.ndarray:
    from peers import ort_session

    sess = ort_session(path, PEER_THREADS)
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))])


def _ov_plain_logits(model_or_path, x: np.ndarray) -> np.ndarray:
    import openvino as ov

    core = ov.Core()
    model = core.read_model(str(model_or_path)) if isinstance(model_or_path, (str, Path)) else model_or_path
    compiled = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": PEER_THREADS})
    out = compiled.output(0)
    return np.concatenate([compiled(x[i:i + 1])[out] for i in range(len(x))])


def _nncf_accuracy_control(plain: Path, calib: np.ndarray, xv: np.ndarray, yv: np.ndarray,
                           data: str = "digits") -> tuple[Path, dict]:
    """`nncf.quantize_with_accuracy_control` with its defaults (max_drop 0.01, absolute), top-1 accuracy
    on the val split as the metric; cached as IR. Returns (xml, what NNCF was given)."""
    import nncf
    import openvino as ov

    xml = plain.with_name(plain.stem + ".nncf-ac-int8.xml")
    how = {"max_drop": 0.01, "drop_type": "absolute", "validation_images": len(xv),
           "metric": f"top-1 accuracy on the {data} val split"}
    if xml.is_file():
        return xml, how
    items = [(xv[i:i + 1], int(yv[i])) for i in range(len(xv))]

    def validate(compiled, data) -> float:
        out = compiled.output(0)
        hits = [int(np.argmax(compiled(item[0])[out])) == item[1] for item in data]
        return float(np.mean(hits))

    model = ov.Core().read_model(str(plain))
    q = nncf.quantize_with_accuracy_control(
        model, nncf.Dataset([calib[i:i + 1] for i in range(len(calib))]),
        nncf.Dataset(items, lambda item: item[0]), validate)
    ov.save_model(q, str(xml))
    return xml, how


def family_table(arch: str, accuracy_control: bool = True) -> dict:
    """Every INT8 route for one trained family on its data's test split (train_families.DATA,
    digits unless --data), against eager FP32."""
    import train_families
    from _common import CACHE, exported_folder, plain_onnx
    from peers import calibration, ort_int8_plain, ov_int8_plain
    from train_families import FAMILIES, run_dir, run_name

    data = train_families.DATA

    from seedge.data import load_arrays
    from seedge.preprocess import PreprocessSpec
    from seedge.quantize import measure
    from seedge.verify.parity import compare

    checkpoint = run_dir(arch) / "model.safetensors"
    if not checkpoint.is_file():
        raise SystemExit(f"{checkpoint}: not trained yet; run benchmarks/experiments/train_families.py "
                         f"--only {arch} --data {data}")
    size = FAMILIES[arch][0]
    # The INT8 parity gate is opened so the artifacts are published whatever they score: this
    # table is where they are judged (against the target, stricter than the gate).
    folder = exported_folder(arch, ("onnx", "openvino"), ("fp32", "int8"), source=checkpoint, calib=data,
                             folder_name=run_name(arch), progress=lambda m: _say(f"  {m}"),
                             thresholds=TABLE_EXPORT_THRESHOLDS)
    manifest = json.loads((folder / "manifest.json").read_text())
    spec = PreprocessSpec.from_dict(manifest["preprocessing"])
    x, y, _ = load_arrays(data, spec, "test")
    xv, yv, _ = load_arrays(data, spec, "val")
    calib = calibration(folder, manifest)
    arts = {a["id"]: a for a in manifest["artifacts"]}

    _say(f"{arch}: eager FP32 on {len(x)} test images")
    model, ref = _eager_logits(checkpoint, x)
    plain = plain_onnx(model, tuple(spec.input_size), CACHE / "plain" / f"{run_name(arch)}.b1.onnx")
    ov_int8 = arts["openvino-int8"]
    hint = (ov_int8.get("build") or {}).get("inference_precision")
    routes = {
        "eager FP32 (PyTorch)": lambda: ref,
        "seedge onnx-int8 (ORT)": lambda: measure.ort_logits(folder / arts["onnx-int8"]["file"], x),
        f"seedge openvino-int8 (OpenVINO, {(ov_int8.get('build') or {}).get('route', '?')})":
            lambda: measure.ov_logits(folder / ov_int8["file"], x, inference_precision=hint),
        "peer: nncf.quantize defaults (OpenVINO)": lambda: _ov_plain_logits(ov_int8_plain(plain, calib), x),
        "peer: nncf.quantize_with_accuracy_control (OpenVINO)":
            lambda: _ov_plain_logits(_nncf_accuracy_control(plain, calib, xv, yv, data)[0], x),
        "peer: ORT quantize_static defaults (QDQ, per-tensor)": lambda: _ort_plain_logits(ort_int8_plain(plain, calib), x),
        "peer: ORT quantize_static per_channel=True": lambda: _ort_plain_logits(ort_int8_plain(plain, calib, per_channel=True), x),
    }
    if not accuracy_control:  # its search re-validates per quantizer group: tens of minutes on a busy machine
        routes = {k: v for k, v in routes.items() if "accuracy_control" not in k}
    rows = []
    for label, run in routes.items():
        _say(f"{arch}: {label}")
        out = run()
        m = compare(ref, out, y)
        # sqnr_db / kl_divergence: seedge.verify.parity's, as verify reports them
        rows.append({"route": label, **{k: m[k] for k in ("accuracy", "accuracy_drop_points", "top1_agreement",
                                                          "max_abs_diff", "sqnr_db", "kl_divergence")}})
    return {"arch": arch, "data": data, "img_size": size, "checkpoint": str(checkpoint.relative_to(CACHE.parent.parent)),
            "export": str(folder.relative_to(CACHE.parent.parent)), "test_images": len(x),
            "calibration_images": len(calib), "onnx_int8_policy": arts["onnx-int8"]["build"].get("policy_resolved"),
            "openvino_int8_choice": ov_int8["build"].get("why"), "openvino_int8_inference_precision": hint,
            "export_int8_gate": TABLE_EXPORT_THRESHOLDS["int8"], "nncf_accuracy_control": (
                {"max_drop": 0.01, "drop_type": "absolute", "validation_images": len(xv)}
                if accuracy_control else "not run (--no-accuracy-control)"),
            "rows": rows}


def family_markdown(t: dict) -> str:
    out = ["| route | accuracy | drop (pts) | agreement | logit SQNR (dB) | KL | target (<= 0.5 pt, >= 99 %) |",
           "|---|---:|---:|---:|---:|---:|---|"]
    for r in t["rows"]:
        if r["route"].startswith("eager"):
            noise = "— | — | —"
        else:
            ok = r["accuracy_drop_points"] <= 0.5 and r["top1_agreement"] >= 0.99
            noise = f"{r['sqnr_db']:.1f} | {r['kl_divergence']:.2e} | {'met' if ok else 'MISSED'}"
        out.append(f"| {r['route']} | {r['accuracy'] * 100:.2f} % | {r['accuracy_drop_points']:.2f} | "
                   f"{r['top1_agreement'] * 100:.2f} % | {noise} |")
    return "\n".join(out)


def run_families(archs, out: Path, accuracy_control: bool = True) -> None:
    from datetime import datetime, timezone

    import nncf
    import onnxruntime
    import openvino as ov
    from train_families import DATA, data_tag

    out.mkdir(parents=True, exist_ok=True)
    for arch in archs:
        load_before = _loadavg()
        t = family_table(arch, accuracy_control)
        t["environment"] = {"machine": "2-vCPU AMD EPYC (AVX2, no VNNI/AVX-512), shared",
                            "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                            "load_average_before": load_before, "load_average_after": _loadavg(),
                            "python": platform.python_version(), "onnxruntime": onnxruntime.__version__,
                            "openvino": ov.get_version(), "nncf": nncf.__version__}
        t["command"] = (f"python benchmarks/experiments/quantize_table.py --family {arch}"
                        + ("" if DATA == "digits" else f" --data {DATA}")
                        + ("" if accuracy_control else " --no-accuracy-control"))
        md = family_markdown(t)
        stem = f"int8_{arch}" if DATA == "digits" else f"int8_{arch}_{data_tag()}"
        (out / f"{stem}.json").write_text(json.dumps(t, indent=2) + "\n")
        (out / f"{stem}.md").write_text(md + "\n")
        print(f"\n{arch} ({t['img_size']}x{t['img_size']}, {DATA} test split, {t['test_images']} images; "
              f"load average {load_before} -> {t['environment']['load_average_after']})\n\n{md}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--export", default=None, help="Use this existing export folder instead of exporting.")
    ap.add_argument("--keep", default=None, metavar="DIR", help="Export into DIR (kept) instead of a temporary one.")
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--per-round", type=int, default=5)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", type=int, default=2, help="Threads per runtime (the targets are stated for 2).")
    ap.add_argument("--policies", action="store_true", help="Also compare the INT8 SE policies.")
    ap.add_argument("--json", default=None, help="Write all numbers to this JSON file.")
    ap.add_argument("--family", action="append", default=None, metavar="ARCH",
                    help="Accuracy table of seedge INT8 vs the peers for this trained family (repeatable); "
                         "no timing.")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "results"),
                    help="Folder for --family's int8_<arch>.json/.md.")
    ap.add_argument("--no-accuracy-control", action="store_true",
                    help="--family without the nncf.quantize_with_accuracy_control row (its search is slow).")
    ap.add_argument("--data", default="digits",
                    help="--family: the built-in source the families were trained on (train_families.py --data).")
    args = ap.parse_args()
    if args.family:
        import train_families

        train_families.DATA = args.data
        run_families(args.family, Path(args.out), accuracy_control=not args.no_accuracy_control)
        return
    batches = [int(b) for b in args.batches.split(",")]

    import onnxruntime
    import openvino as ov

    from seedge.data import load_arrays
    from seedge.preprocess import PreprocessSpec

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.export) if args.export else export_demo(Path(args.keep or tmp))
        manifest = json.loads((folder / "manifest.json").read_text())
        spec = PreprocessSpec.from_dict(manifest["preprocessing"])
        x, y, _ = load_arrays("digits", spec, "test")
        table = run_table(folder, x, y, batches, args.rounds, args.per_round, args.threads)
        doc = {"environment": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
                               "onnxruntime": onnxruntime.__version__, "openvino": ov.get_version(),
                               "threads": args.threads, "load_average": _loadavg()},
               "table": table, "targets": check_targets(table, batches)}
        if args.policies:
            calib, _, _ = load_arrays("digits", spec, "train", limit=256, seed=0)
            xv, yv, _ = load_arrays("digits", spec, "val")
            doc["policies"] = policy_table(folder, calib, np.concatenate([xv, x]), np.concatenate([yv, y]), batches,
                                           args.rounds // 2, args.per_round)
    print(f"Demo model, digits test split ({table['eval_images']} images); agreement vs ONNX Runtime FP32; "
          f"{args.threads} threads; medians of interleaved rounds; load average {_loadavg()}\n")
    print(markdown(table, batches))
    print(f"\nONNX INT8 policy: {table['onnx_int8_policy']}; OpenVINO INT8: {table['openvino_int8_choice']}\n")
    print("\n".join(doc["targets"]))
    if args.policies:
        print("\nSE policies (model.onnx, 256 calibration images, val+test images):\n")
        print(policy_markdown(doc["policies"], batches))
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
