"""The one prepared GPU check (issue 16): everything a lent GPU machine can prove, in one call.

    python benchmarks/gpu_check.py --out /some/dir               # on the GPU machine, < 8 min on an H100/H200
    python benchmarks/gpu_check.py --out /some/dir --device cpu  # the dry run CI executes (tiny settings)

What it does, each step in a subprocess with its own time limit inside one hard overall budget
(a failed or timed-out step is recorded and the check goes on):
1. says which of TensorRT / onnxruntime-gpu / OpenVINO / Triton / a C++ compiler are present,
   and which of seedge's dependencies are missing;
2. exports the demo model (random weights of its architecture where the demo cannot be trained
   here, e.g. without scikit-learn's digits) and SE-ResNet-50 (random weights) in every format
   this machine supports, verified against eager on `--device` by the export itself (an artifact
   that fails parity or does not build is dropped and the export retried without it, recorded);
3. benches every exported model at batch 1, 8, 64, 256 against eager FP32 on the device in one
   interleaved run (`seedge bench A B`), with the eager peers (FP16 autocast, channels-last) where
   this seedge has them, then torch.compile max-autotune on SE-ResNet-50 if time is left;
4. writes gpu_check.json (everything, including each step's command, time and error) and
   gpu_check.md (the tables) into --out.

Installing: nothing is installed and the machine's torch is never touched. seedge runs from this
source tree (PYTHONPATH=<repo>), which needs no network and no build backend; `pip install -e .`
would need setuptools from an index. Missing pure-Python dependencies are installed only from a
local wheel folder given with --wheels (`pip install --no-index --no-deps`), never from a network.
"""

from __future__ import annotations

import time

START = time.monotonic()


def say(msg: str) -> None:
    print(f"[{time.monotonic() - START:6.1f}s] {msg}", flush=True)


say("gpu_check starting")

# Imported after the first line is printed: progress shows from the first second.
import argparse
import datetime
import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCHEMA = 1
DEMO = "demo"
DEMO_ARCH = "se_resnet10_cifar_tiny"
BIG = "se_resnet50"
# (import name, distribution) of seedge's dependencies (pyproject.toml), checked before any step.
DEPENDENCIES = (("numpy", "numpy"), ("click", "click"), ("rich", "rich"), ("safetensors", "safetensors"),
                ("onnx", "onnx"), ("onnxscript", "onnxscript"), ("onnxruntime", "onnxruntime"),
                ("onnxslim", "onnxslim"), ("sklearn", "scikit-learn"), ("PIL", "pillow"),
                ("matplotlib", "matplotlib"), ("torchvision", "torchvision"))
# Settings per device: the GPU run is the real one, the CPU dry run proves the script in CI.
PROFILES = {
    "cuda": {"models": (BIG, DEMO), "batches": (1, 8, 64, 256), "precisions": ("fp32", "fp16"),
             "peers": ("fp16", "channels-last"), "compile_peer": True, "warmup": 10, "iters": 30, "rounds": 3,
             "budget_s": 460,
             # Share of the budget each kind of step may take at most (what is left is always the cap);
             # SE-ResNet-50 goes first: its numbers are the targets.
             "shares": {f"export-{BIG}": 0.5, "export-demo": 0.25, "bench": 0.3, "bench-compile": 1.0}},
    # The dry run trains the demo model on first use (about a minute on 2 cores) inside its export.
    "cpu": {"models": (DEMO,), "batches": (1, 8), "precisions": ("fp32",), "peers": ("channels-last",),
            "compile_peer": False, "warmup": 1, "iters": 4, "rounds": 2, "budget_s": 900,
            "shares": {"export-demo": 0.7, "bench": 0.3}},
}
OTHER_SHARE = 0.25  # a model or step kind the profile does not name
RESERVE_S = 5  # kept back for writing the reports


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", required=True, help="folder for gpu_check.json, gpu_check.md and the exports")
    p.add_argument("--device", choices=tuple(PROFILES), default="cuda", help="cuda (default) or cpu (dry run)")
    p.add_argument("--budget-s", type=float, default=None, help="hard overall time limit in seconds "
                   "(default: 460 on cuda, 900 for the CPU dry run)")
    p.add_argument("--models", default=None, help=f"comma list (default cuda: {DEMO},{BIG}; cpu: {DEMO}); "
                   f"'{DEMO}' is the demo model, others are zoo names exported with random weights")
    p.add_argument("--formats", default=None, help="comma list (default: every format this machine supports)")
    p.add_argument("--batches", default=None, help="comma list (default cuda: 1,8,64,256; cpu: 1,8)")
    p.add_argument("--wheels", default=None, help="local folder of wheels for missing pure-Python dependencies")
    return p.parse_args(argv)


# --- what is on this machine -------------------------------------------------------------------

def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def dependencies() -> dict:
    return {dist: (_version(dist) if importlib.util.find_spec(mod) else None) for mod, dist in DEPENDENCIES}


def install_missing(missing: list[str], wheels: str | None) -> dict:
    """pip install --no-index --no-deps from the local wheel folder: never a network, never torch."""
    if not missing or not wheels:
        return {"attempted": False, "missing": missing}
    cmd = [sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--find-links", str(wheels), *missing]
    say(f"installing {', '.join(missing)} from {wheels}")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    return {"attempted": True, "missing": missing, "command": cmd, "ok": proc.returncode == 0,
            "error": None if proc.returncode == 0 else _last_line(proc.stderr)}


def machine(device: str) -> dict:
    """torch, the GPU, and which optional engines are present (each probed without failing)."""
    info = {"python": platform.python_version(), "platform": platform.platform(), "cpu": _cpu_name(),
            "cpus": os.cpu_count(), "device": device}
    try:
        import torch

        info.update({"torch": torch.__version__, "torch_cuda": torch.version.cuda,
                     "cuda_available": torch.cuda.is_available()})
        if torch.cuda.is_available():
            info.update({"gpu": torch.cuda.get_device_name(0),
                         "compute_capability": "{}.{}".format(*torch.cuda.get_device_capability(0)),
                         "gpu_count": torch.cuda.device_count()})
    except Exception as e:  # noqa: BLE001 - a broken torch is a finding, not a crash
        info["torch_error"] = _last_line(str(e))
    return info


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def engines() -> dict:
    out = {}
    try:
        import tensorrt

        out["tensorrt"] = {"present": True, "version": tensorrt.__version__}
    except Exception as e:  # noqa: BLE001 - bindings can import and miss their libraries
        out["tensorrt"] = {"present": False, "why": _last_line(str(e)) or type(e).__name__}
    try:
        import onnxruntime

        providers = onnxruntime.get_available_providers()
        out["onnxruntime-gpu"] = {"present": "CUDAExecutionProvider" in providers, "version": onnxruntime.__version__,
                                  "providers": providers}
    except Exception as e:  # noqa: BLE001 - a broken onnxruntime is a finding too
        out["onnxruntime-gpu"] = {"present": False, "why": _last_line(str(e)) or type(e).__name__}
    out["openvino"] = {"present": importlib.util.find_spec("openvino") is not None, "version": _version("openvino")}
    out["triton"] = {"present": importlib.util.find_spec("triton") is not None, "version": _version("triton")}
    cxx = os.environ.get("CXX") or "g++"
    out["c++ compiler"] = {"present": shutil.which(cxx) is not None, "name": cxx}
    return out


def supported_formats(device: str, eng: dict, deps: dict) -> tuple[list[str], dict]:
    """The formats to export here, and why each other one is left out."""
    onnx_ok = all(deps.get(d) for d in ("onnx", "onnxscript", "onnxruntime"))
    why = {}
    fmts = ["torchscript"]
    if not onnx_ok:
        why["onnx"] = "onnx, onnxscript or onnxruntime missing"
    elif device == "cuda" and not eng["onnxruntime-gpu"]["present"]:
        why["onnx"] = "onnxruntime has no CUDA execution provider (onnxruntime-gpu not installed)"
    else:
        fmts.append("onnx")
    if device == "cpu" and eng["openvino"]["present"] and onnx_ok:
        fmts.append("openvino")
    else:
        why["openvino"] = "OpenVINO runs on the CPU only" if device == "cuda" else "openvino not installed"
    if device == "cuda" and eng["tensorrt"]["present"] and onnx_ok:
        fmts.append("tensorrt")
    else:
        why["tensorrt"] = "TensorRT needs a CUDA GPU" if device == "cpu" else \
            (eng["tensorrt"].get("why") or "onnx tools missing")
    if not eng["c++ compiler"]["present"]:
        why["inductor"] = "AOTInductor needs a C++ compiler"
    elif device == "cuda" and not eng["triton"]["present"]:
        why["inductor"] = "AOTInductor on CUDA needs Triton"
    else:
        fmts.append("inductor")
    return fmts, why


# --- steps ---------------------------------------------------------------------------------------

class Budget:
    """The hard overall limit, and each kind of step's share of it (retries of a kind share it)."""

    def __init__(self, total_s: float, shares: dict[str, float]):
        self.total_s = float(total_s)
        self.shares = shares
        self.spent: dict[str, float] = {}

    def left(self) -> float:
        return self.total_s - (time.monotonic() - START) - RESERVE_S

    def for_step(self, kind: str) -> float:
        return min(self.left(), self.total_s * self.shares.get(kind, OTHER_SHARE) - self.spent.get(kind, 0.0))

    def charge(self, kind: str, seconds: float) -> None:
        self.spent[kind] = self.spent.get(kind, 0.0) + seconds


def run_step(report: dict, name: str, kind: str, argv: list[str], budget: Budget) -> dict:
    """Run `python -m seedge ARGV` under the step's time limit; record it; return the record
    (with "stdout" on success). Never raises: a failed step is a finding."""
    limit = budget.for_step(kind)
    cmd = [sys.executable, "-m", "seedge", *map(str, argv)]
    rec = {"name": name, "command": " ".join(["seedge", *map(str, argv)]), "limit_s": round(max(limit, 0), 1)}
    report["steps"].append(rec)
    if limit < 10:
        rec.update(ok=False, skipped=True, error=f"not run: {max(limit, 0):.0f} s of the budget left")
        say(f"{name}: skipped, the time budget is spent")
        return rec
    say(f"{name}: {rec['command']}  (limit {limit:.0f} s)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    t0 = time.monotonic()
    # Own process group: a timeout ends the compilers and workers the step started, too.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=str(REPO), start_new_session=True)
    try:
        out, err = proc.communicate(timeout=limit)
        rec["timed_out"] = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        rec["timed_out"] = True
    rec["seconds"] = round(time.monotonic() - t0, 1)
    budget.charge(kind, rec["seconds"])
    rec["exit_code"] = proc.returncode
    rec["ok"] = proc.returncode == 0 and not rec["timed_out"]
    for line in (err or "").splitlines()[-12:]:  # the step's own progress, for the log
        print(f"          | {line.rstrip()}", flush=True)
    if rec["ok"]:
        rec["stdout"] = out
        say(f"{name}: ok in {rec['seconds']:.0f} s")
    else:
        rec["error"] = f"timed out after {limit:.0f} s" if rec["timed_out"] else (_last_line(err) or f"exit {proc.returncode}")
        say(f"{name}: FAILED ({rec['error']})")
    return rec


_FAILED_ID = re.compile(r"\b(torchscript|onnx|openvino|tensorrt|inductor)-(fp32|fp16|int8)\b")


def export_model(report: dict, model: str, device: str, formats: list[str], precisions: tuple[str, ...],
                 batches: list[int], out: Path, budget: Budget, demo_trainable: bool) -> Path | None:
    """Export one model; on a failed artifact drop its format (on a timeout: INT8, the slowest
    precision) and try again while this model's share of the budget lasts."""
    entry = report["exports"].setdefault(model, {"dropped": []})
    name = model.replace("/", "_")
    fmts, precisions = list(formats), list(precisions)
    while fmts:
        argv = ["export"]
        if model == DEMO and demo_trainable:
            pass  # no SOURCE: the demo model, trained on digits on first use
        else:
            arch = DEMO_ARCH if model == DEMO else model
            argv += ["--model", arch, "--random-weights"]
            entry["random_weights"] = True
        argv += ["--formats", ",".join(fmts), "--precisions", ",".join(precisions), "--device", device,
                 "--out", out / "exported", "--name", name, "--no-count-nodes", "--no-pt2", "--json"]
        if "tensorrt" in fmts:  # engines whose profile covers every batch the bench times
            argv += ["--batch", ",".join(map(str, batches))]
        if "int8" in precisions:  # calibrated on the built-in digits images, resized
            argv += ["--calib", "digits", "--calib-samples", 64]
        rec = run_step(report, f"export {model} ({','.join(fmts)})", f"export-{model}", argv, budget)
        if rec["ok"]:
            doc = json.loads(rec.pop("stdout"))
            entry.update(folder=doc["folder"], skipped=doc.get("skipped", []), artifacts=[
                {"id": a["id"], "backend": a["backend"], "file": a["file"], "bytes": a.get("bytes"),
                 "build_seconds": (a.get("build") or {}).get("seconds"), "parity": a.get("parity")}
                for a in doc["artifacts"]])
            return Path(doc["folder"])
        if rec.get("timed_out") and "int8" in precisions:
            entry["dropped"].append({"precision": "int8", "why": rec["error"]})
            precisions.remove("int8")
            continue
        if rec.get("skipped") or rec.get("timed_out"):
            return None
        bad = _FAILED_ID.search(rec.get("error") or "")
        if not bad or bad.group(1) not in fmts:
            return None
        entry["dropped"].append({"format": bad.group(1), "why": rec["error"]})
        fmts.remove(bad.group(1))
    return None


def bench(report: dict, name: str, kind: str, folders: list[Path], device: str, batches, peers, profile: dict,
          budget: Budget) -> dict | None:
    argv = ["bench", *folders, "--device", device, "--batch", ",".join(map(str, batches)),
            "--warmup", profile["warmup"], "--iters", profile["iters"], "--rounds", profile["rounds"], "--json"]
    if peers:
        argv += ["--peers", ",".join(peers)]
    rec = run_step(report, name, kind, argv, budget)
    return json.loads(rec.pop("stdout")) if rec["ok"] else None


def has_peers() -> bool:
    """This seedge's bench has eager peers (--peers): seedge/bench/peers.py is there."""
    return (REPO / "seedge" / "bench" / "peers.py").is_file()


# --- reports -------------------------------------------------------------------------------------

def targets(rows: list[dict], compile_rows: list[dict]) -> dict:
    """Issue 16's targets on SE-ResNet-50, judged only from rows this run measured."""
    big = [r for r in rows if BIG in str(r.get("model") or r.get("folder") or "")]
    at = {b: [r for r in big if r["batch"] == b and r.get("artifact") != "eager" and r.get("peer") is None]
          for b in (1, 256)}
    out = {}
    if at[1]:
        best = max(at[1], key=lambda r: r["speedup_vs_eager"])
        out["batch1_best_vs_eager"] = {"artifact": best["artifact"], "speedup": round(best["speedup_vs_eager"], 2),
                                       "target": 10.0, "met": best["speedup_vs_eager"] >= 10.0}
    if at[256]:
        best = max(at[256], key=lambda r: r["throughput_ips"])
        out["batch256_best_ips"] = {"artifact": best["artifact"], "images_per_s": round(best["throughput_ips"]),
                                    "target": 35000, "met": best["throughput_ips"] >= 35000}
        comp = [r for r in compile_rows if r["batch"] == 256 and r.get("peer") == "compile"]
        if comp:
            ratio = comp[0]["p50_ms"] / min(r["p50_ms"] for r in at[256])
            out["batch256_vs_compile_max_autotune"] = {"ratio": round(ratio, 2), "target": 1.3, "met": ratio >= 1.3,
                                                       "note": "compile timed in its own run (bench-compile step)"}
    return out


def markdown(report: dict) -> str:
    m, eng = report["machine"], report["engines"]
    where = m.get("gpu") if report["device"] == "cuda" else m.get("cpu")
    lines = [f"# seedge GPU check ({report['device']}{', dry run' if report['device'] == 'cpu' else ''})", "",
             f"- date: {report['started']}", f"- device: {where}; torch {m.get('torch')} (CUDA {m.get('torch_cuda')})",
             f"- command: `{report['command']}`", f"- total: {report['seconds']:.0f} s of a {report['budget_s']:.0f} s budget",
             "- engines: " + ", ".join(f"{k} {'yes' if v.get('present') else 'no'}" for k, v in eng.items()),
             f"- formats exported: {', '.join(report['plan']['formats'])}"
             + "".join(f"; {k} left out: {v}" for k, v in report["plan"]["left_out"].items()), ""]
    lines += ["## Steps", "", "| step | result | seconds | note |", "|---|---|---:|---|"]
    for s in report["steps"]:
        result = "ok" if s["ok"] else ("skipped" if s.get("skipped") else "FAILED")
        lines.append(f"| {s['name']} | {result} | {s.get('seconds', 0):.0f} | {(s.get('error') or '').replace('|', '/')} |")
    for title, doc in (("Latency", report.get("bench")), ("torch.compile max-autotune", report.get("bench_compile"))):
        if not doc:
            continue
        lines += ["", f"## {title} (eager {report['device']} FP32 in the same interleaved run)", "",
                  "| model | artifact | backend | precision | batch | p50 ms | p99 ms | images/s | vs eager |",
                  "|---|---|---|---|---:|---:|---:|---:|---:|"]
        for r in doc["results"]:
            lines.append(f"| {r.get('model') or doc['settings'].get('model')} | {r['artifact']} | {r['backend']} | "
                         f"{r['precision']} | {r['batch']} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | "
                         f"{r['throughput_ips']:.0f} | {r['speedup_vs_eager']:.2f}x |")
        env = doc.get("environment") or {}
        lines.append(f"\ncontended: {env.get('contended')}")
    if report.get("targets"):
        lines += ["", "## Targets (SE-ResNet-50)", ""]
        lines += [f"- {k}: {json.dumps(v)}" for k, v in report["targets"].items()]
    return "\n".join(lines) + "\n"


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text or "").splitlines() if ln.strip()]
    return lines[-1][:400] if lines else ""


def write_reports(report: dict, out: Path) -> None:
    report["seconds"] = round(time.monotonic() - START, 1)
    report["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    (out / "gpu_check.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (out / "gpu_check.md").write_text(markdown(report))
    say(f"wrote {out / 'gpu_check.json'} and {out / 'gpu_check.md'}")


# --- main ----------------------------------------------------------------------------------------

def main(argv=None) -> int:
    args = parse_args(argv)
    profile = PROFILES[args.device]
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    budget = Budget(args.budget_s or profile["budget_s"], profile["shares"])
    report = {"schema": SCHEMA, "device": args.device, "budget_s": budget.total_s,
              "command": " ".join(["python", "benchmarks/gpu_check.py", *(argv if argv is not None else sys.argv[1:])]),
              "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "steps": [], "exports": {}}
    say("checking dependencies")
    deps = dependencies()
    report["install"] = install_missing([d for d, v in deps.items() if v is None], args.wheels)
    if report["install"].get("attempted"):
        deps = dependencies()
    report["dependencies"] = deps
    say("probing torch and the engines")
    report["machine"] = machine(args.device)
    report["engines"] = eng = engines()
    for k, v in eng.items():
        say(f"  {k}: {'present' if v.get('present') else 'absent'} {v.get('version') or ''}")
    if args.device == "cuda" and not report["machine"].get("cuda_available"):
        report["steps"].append({"name": "cuda", "ok": False, "error": "torch sees no CUDA GPU here; use --device cpu "
                                "for the dry run"})
        say("no CUDA GPU visible to torch: nothing to measure")
        write_reports(report, out)
        return 1
    formats, left_out = supported_formats(args.device, eng, deps)
    if args.formats:
        asked = [f.strip() for f in args.formats.split(",") if f.strip()]
        left_out.update({f: "not asked for (--formats)" for f in formats if f not in asked})
        left_out.update({f: "not supported here" for f in asked if f not in formats})
        formats = [f for f in formats if f in asked]
    precisions = list(profile["precisions"])
    calib_ok = bool(deps.get("scikit-learn"))
    if args.device == "cuda" and "tensorrt" in formats and calib_ok:
        precisions.append("int8")  # TensorRT INT8: explicit Q/DQ calibrated on the digits images
    models = [m.strip() for m in (args.models.split(",") if args.models else profile["models"]) if m.strip()]
    batches = [int(b) for b in args.batches.split(",")] if args.batches else list(profile["batches"])
    peers = list(profile["peers"]) if has_peers() else []
    report["plan"] = {"models": models, "formats": formats, "left_out": left_out, "precisions": precisions,
                      "batches": batches, "peers": peers or "none (this seedge's bench has no --peers)"}
    say(f"plan: models {models}, formats {formats}, precisions {precisions}, batches {batches}")

    folders = {}
    for model in models:
        folder = export_model(report, model, args.device, formats, tuple(precisions), batches, out, budget,
                              demo_trainable=calib_ok)
        if folder is not None:
            folders[model] = folder
    if folders:
        paths = list(folders.values())
        report["bench"] = bench(report, f"bench {' + '.join(folders)}", "bench", paths, args.device, batches, peers,
                                profile, budget)
        if profile["compile_peer"] and BIG in folders and has_peers():
            # max-autotune tunes every convolution for each batch size (minutes): only the largest
            # batch, the one issue 16's "1.3x torch.compile" target is about.
            report["bench_compile"] = bench(report, f"bench {BIG} vs torch.compile max-autotune", "bench-compile",
                                            [folders[BIG]], args.device, [max(batches)], ["compile"], profile,
                                            budget)
    rows = (report.get("bench") or {}).get("results", [])
    report["targets"] = targets(rows, (report.get("bench_compile") or {}).get("results", []))
    write_reports(report, out)
    failed = [s["name"] for s in report["steps"] if not s["ok"]]
    say(f"done in {time.monotonic() - START:.0f} s; {len(failed)} step(s) failed" + (f": {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
