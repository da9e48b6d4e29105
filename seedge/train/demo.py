"""The demo model: se_resnet10_cifar_tiny trained on the built-in `digits` at 32x32.

`demo_checkpoint()` returns its model.safetensors (with the model.json sidecar), training
it on first use and caching it in seedge.fileio.cache_root()/demo (default ~/.cache/seedge/demo).
The recipe is fixed (CPU, one thread, seed 0), so every machine trains the same model;
the cache folder name carries a hash of the recipe, so a changed recipe retrains.

Concurrency: the first caller takes a file lock and trains into a temporary folder that
is renamed into place when complete; other callers wait on the lock and then reuse it.
A cached folder whose weights no longer match the sidecar's sha256 is trained again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

DEMO_ARCH = "se_resnet10_cifar_tiny"
# Measured on 2 shared CPU cores: see the training report in history.json (seconds, test accuracy).
# TrainOptions keywords (values of several types); kept a plain dict so recipe_key hashes its JSON.
DEMO_RECIPE: dict[str, Any] = {
    "data": "digits",
    "model": DEMO_ARCH,
    "img_size": (32, 32),
    "epochs": 10,
    "batch_size": 64,
    "optimizer": "adam",
    "lr": 3e-3,
    "weight_decay": 1e-4,
    "scheduler": "step",
    "step_size": 7,
    "gamma": 0.1,
    "patience": 0,
    "monitor": "val_loss",
    "augment": "crop",
    "seed": 0,
    # One thread on the CPU: identical weights everywhere, and no OpenMP slowdown on busy machines.
    "device": "cpu",
    "threads": 1,
}


def cache_dir() -> Path:
    from seedge.fileio import cache_root

    return cache_root("demo")


def recipe_key() -> str:
    from seedge import __version__

    blob = json.dumps({"recipe": DEMO_RECIPE, "seedge": __version__}, sort_keys=True, default=list)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def demo_dir() -> Path:
    return cache_dir() / f"{DEMO_ARCH}-{recipe_key()}"


def demo_checkpoint(progress: bool = True) -> Path:
    """Path of the cached demo checkpoint (model.safetensors), trained on first use."""
    final = demo_dir()
    if _is_complete(final):
        return final / "model.safetensors"
    final.parent.mkdir(parents=True, exist_ok=True)
    with _locked(final.parent / f".{final.name}.lock"):
        if _is_complete(final):  # another process finished while we waited
            return final / "model.safetensors"
        tmp = final.parent / f".tmp-{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            _train_into(tmp, progress)
            if final.exists():  # incomplete or corrupt leftover
                shutil.rmtree(final)
            os.rename(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return final / "model.safetensors"


def _train_into(folder: Path, progress: bool) -> dict:
    from seedge.train import TrainOptions, train

    if progress:
        from rich.console import Console

        Console(stderr=True).print(
            f"seedge: training the demo model ({DEMO_ARCH} on digits) on first use; cached in {demo_dir()}",
            markup=False,
            soft_wrap=True,
        )
    opts = TrainOptions(
        **{**DEMO_RECIPE, "img_size": tuple(DEMO_RECIPE["img_size"])},
        out=str(folder),
        progress=progress,
        extra={"demo": {"recipe_key": recipe_key()}},
    )
    return train(opts)


def _is_complete(folder: Path) -> bool:
    """Weights, sidecar and history present, and the weights match the sidecar's sha256."""
    from seedge.fileio import sha256_file

    weights, sidecar = folder / "model.safetensors", folder / "model.json"
    if not (weights.is_file() and sidecar.is_file() and (folder / "history.json").is_file()):
        return False
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return meta.get("weights_sha256") == sha256_file(weights)


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive advisory lock (fcntl); on systems without fcntl the atomic rename still
    keeps the cache whole, two processes may just both train."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
