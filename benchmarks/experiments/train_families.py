"""Train every SE family of the benchmarks on the built-in `digits`, once, and record how.

    python benchmarks/experiments/train_families.py                 # train what is missing
    python benchmarks/experiments/train_families.py --only regnet_y_400mf --only se_resnet50
    python benchmarks/experiments/train_families.py --list          # the commands and what is cached

Each family is trained from scratch with the real CLI (`python -m seedge train ...`, the
command a user types) into benchmarks/.cache/runs/<arch>_digits<size>/ (ignored by git,
like the benchmarks' other caches). A finished run (model.safetensors, model.json and
history.json in its folder) is kept, so the script is idempotent: rerun it after a failure or to add a family.
Every finished run is recorded in benchmarks/results/trained_families.json: the command, its
wall time, the load average before and after, best epoch and test accuracy (the test split
of `digits`, as `seedge train` reports it for the best weights).

Size: 32x32 and a few epochs (digits are 8x8 images, so 32 px loses nothing), so a model trains in
minutes on two shared cores: at 64 px (default OpenMP wait policy) MobileNetV3-Large took ~3 min
per epoch under this machine's load, at 32 px with OMP_WAIT_POLICY=PASSIVE ~45 s. Trained from scratch (no model hub here); torchvision's
MobileNetV3/EfficientNet keep their BatchNorm momentum of 0.01, which `seedge train` handles by
recomputing BatchNorm statistics before each validation (seedge/train/bn_recalibration.py). No
fine-tuning at 224 px: ~49x the pixels of 32 px, and the INT8 tables run at 32 px.

One training at a time, 2 threads (the machine is shared): runs go one after another in
this process's order, each with --threads 2 and OMP/MKL thread variables set to 2.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _exports import CACHE

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"
RUNS = CACHE / "runs"
THREADS = 2
DATA = "digits"  # --data: the built-in source every family trains on (digits, or e.g. animals,n=300)


def data_tag(data: str | None = None) -> str:
    """'digits' -> 'digits', 'animals,n=300' -> 'animals_n300': the run folders' and results' name part."""
    name, *opts = (data or DATA).split(",")
    return "_".join([name, *(o.replace("=", "") for o in opts)])


def results_path() -> Path:
    """digits keeps its historical file name; another source gets its own file."""
    tag = data_tag()
    return RESULTS_DIR / ("trained_families.json" if tag == "digits" else f"trained_families_{tag}.json")

# arch -> (image size, the options of each `seedge train` stage). Adam lr 1e-3 (seedge's default)
# from scratch on the 1259 training images; the ResNet-50-class models get fewer epochs because an
# epoch costs them more. A family may list more stages: each continues from the previous one's best
# weights (--init). EfficientNet-B0 (71 % test after 8 epochs) and RegNetY-400MF (79 %) were still
# learning fast after one stage, so each gets a second 8-epoch stage from its first stage's best weights.
FAMILIES: dict[str, tuple[int, tuple[tuple[str, ...], ...]]] = {
    "mobilenet_v3_large": (32, (("--epochs", "8"),)),
    "efficientnet_b0": (32, (("--epochs", "8"), ("--epochs", "8"))),
    "regnet_y_400mf": (32, (("--epochs", "8"), ("--epochs", "8"))),
    "se_resnet50": (32, (("--epochs", "5"),)),
    "se_resnext50_32x4d": (32, (("--epochs", "5"),)),
}


def stage_dir(arch: str, stage: int) -> Path:
    return RUNS / f"{run_name(arch)}{f'_s{stage + 1}' if stage else ''}"


def run_name(arch: str) -> str:
    """<arch>_digits32 (the historical name), <arch>_animals_n300_32px for another source."""
    tag, size = data_tag(), FAMILIES[arch][0]
    return f"{arch}_digits{size}" if tag == "digits" else f"{arch}_{tag}_{size}px"


def run_dir(arch: str) -> Path:
    """The run whose weights are the family's trained checkpoint (its last stage)."""
    return stage_dir(arch, len(FAMILIES[arch][1]) - 1)


def command(arch: str, stage: int = 0) -> list[str]:
    size, stages = FAMILIES[arch]
    init = ("--init", str(stage_dir(arch, stage - 1) / "model.safetensors")) if stage else ()
    return [sys.executable, "-m", "seedge", "train", "--model", arch, "--data", DATA, "--img-size", str(size),
            *stages[stage], *init, "--threads", str(THREADS), "--out", str(stage_dir(arch, stage)), "--exist-ok",
            "--json"]


def shown(cmd: list[str]) -> str:
    """The command as a user types it (seedge on PATH, the cache path relative to the repo root)."""
    root = Path(__file__).resolve().parents[2]
    parts = ["seedge"] + cmd[3:]
    return " ".join(str(Path(p).relative_to(root)) if p.startswith(str(root)) else p for p in parts)


def trained(arch: str, stage: int | None = None) -> bool:
    d = run_dir(arch) if stage is None else stage_dir(arch, stage)
    # history.json is written when a run ends; the checkpoint appears at its first best epoch
    return all((d / f).is_file() for f in ("model.safetensors", "model.json", "history.json"))


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _records() -> dict:
    path = results_path()
    return json.loads(path.read_text()) if path.is_file() else {
        "machine": "2-vCPU AMD EPYC (AVX2, no VNNI/AVX-512), shared", "data": DATA, "runs": {}}


def train_one(arch: str, stage: int) -> dict:
    cmd = command(arch, stage)
    # PASSIVE: OpenMP threads sleep at a barrier instead of spinning; on this busy machine the
    # default (spin) made 2-thread torch many times slower (benchmarks/README "Timing under load").
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "MKL_NUM_THREADS": str(THREADS),
           "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    print(f"[{arch}] {shown(cmd)}", file=sys.stderr, flush=True)
    load_before, started = _loadavg(), datetime.now(timezone.utc)
    t0 = time.perf_counter()
    # stderr (progress) passes through; stdout is the one JSON summary of --json.
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"[{arch}] seedge train exited {proc.returncode}; see its message above")
    summary = json.loads(proc.stdout)
    best = summary.get("best") or {}
    return {"arch": arch, "command": shown(cmd), "started_utc": started.isoformat(timespec="seconds"),
            "wall_s": round(wall, 1), "load_average_before": load_before, "load_average_after": _loadavg(),
            "img_size": FAMILIES[arch][0], "epochs_run": summary.get("epochs_run"),
            "best_epoch": summary.get("best_epoch"), "val_accuracy": best.get("val_acc"),
            "test_accuracy": (summary.get("test") or {}).get("accuracy"),
            "checkpoint": str(Path(summary["checkpoint"]).resolve().relative_to(Path(__file__).resolve().parents[2]))}


def record(arch: str, stage: int, rec: dict) -> None:
    """Store one finished stage; the family's entry sums the stages and keeps the last one's accuracy."""
    doc = _records()  # re-read: the JSON stays whole if a later family fails
    entry = doc["runs"].get(arch) or {}
    stages = entry.get("stages") or ([entry] if entry else [])  # a one-stage entry is its own stage 0
    stages = [*stages[:stage], rec]
    doc["runs"][arch] = {**rec, "stages": stages, "commands": [r["command"] for r in stages],
                         "wall_s": round(sum(r["wall_s"] for r in stages), 1)}
    del doc["runs"][arch]["command"]
    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def main() -> None:
    global DATA
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", choices=sorted(FAMILIES), help="Train only these (repeatable).")
    ap.add_argument("--list", action="store_true", help="Print each family's commands and state; train nothing.")
    ap.add_argument("--data", default="digits", help="Built-in source to train on: digits (default) or e.g. "
                    "animals,n=300 (runs in .cache/runs/<arch>_<data>32, results in its own JSON).")
    ap.add_argument("--epochs", type=int, help="One stage of this many epochs per family instead of the table's.")
    args = ap.parse_args()
    DATA = args.data
    if args.epochs:
        for arch, (size, _) in FAMILIES.items():
            FAMILIES[arch] = (size, (("--epochs", str(args.epochs)),))
    archs = args.only or list(FAMILIES)
    for arch in archs:
        for stage in range(len(FAMILIES[arch][1])):
            if args.list:
                print(f"{'cached ' if trained(arch, stage) else 'missing'} {shown(command(arch, stage))}")
            elif trained(arch, stage):
                print(f"[{arch}] stage {stage + 1} cached in {stage_dir(arch, stage)}", file=sys.stderr)
            else:
                rec = train_one(arch, stage)
                record(arch, stage, rec)
                print(f"[{arch}] stage {stage + 1}: test accuracy {rec['test_accuracy']}, {rec['wall_s']} s",
                      file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
