"""Shared helpers for the benchmark scripts (not part of the seedge package).

- `build_model` / `plain_onnx`: the model with random weights (seed 0; latency does not
  depend on weight values) or the weights of an exported folder, and a *plain*
  `torch.onnx.export` of it: no seedge passes, torch's default exporter settings.
- `interleaved`: time several callables in interleaved rounds with seedge's own timing
  primitives, so ratios between them hold on a shared, noisy machine.
"""

from __future__ import annotations

import gc
import io
import logging
import warnings
from contextlib import redirect_stdout
from pathlib import Path
from typing import Callable

import numpy as np

from seedge.bench.timing import summarize, time_calls, warm_up

CACHE = Path(__file__).resolve().parent / ".cache"


def build_model(name: str | None = None, folder: str | Path | None = None):
    """(model, (C, H, W)): from an exported folder's baseline, else `name` with random weights."""
    import torch

    if folder is not None:
        from seedge.checkpoint import load_model

        model, info = load_model(str(Path(folder) / "model.safetensors"))
        return model.eval(), tuple(info["preprocess"].input_size)
    from seedge.models import create_model

    torch.manual_seed(0)
    model = create_model(name).eval()
    return model, tuple(model.seedge_cfg.input_size)


def plain_onnx(model, input_size, path: str | Path, batch: int = 1) -> Path:
    """`torch.onnx.export(model, (x,), path)` with the exporter's defaults (static shape)."""
    import torch

    path = Path(path)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    x = torch.randn(batch, *input_size)
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        torch.onnx.export(model, (x,), str(path), input_names=["input"], output_names=["logits"])
    return path


def random_input(batch: int, input_size, seed: int = 0) -> np.ndarray:
    return np.ascontiguousarray(np.random.default_rng(seed).standard_normal((batch, *input_size), dtype=np.float32))


def interleaved(fns: dict[str, Callable[[], object]], batch: int, warmup: int = 5, rounds: int = 5,
                iters: int = 10, progress: Callable[[str], None] | None = None) -> dict[str, dict]:
    """Time each callable `iters` calls per round for `rounds` rounds, order rotating per round.

    Returns name -> summarize(...) plus "round_p50_ms" (one median per round).
    """
    names = list(fns)
    for n in names:
        warm_up(fns[n], warmup)
    samples = {n: [] for n in names}
    per_round = {n: [] for n in names}
    for r in range(rounds):
        for n in names[r % len(names):] + names[:r % len(names)]:
            warm_up(fns[n], 1)
            gc.disable()
            try:
                s = time_calls(fns[n], iters)
            finally:
                gc.enable()
            samples[n] += s
            per_round[n].append(float(np.median(s)) / 1e6)
        if progress:
            progress(f"round {r + 1}/{rounds}: " + ", ".join(f"{n} {per_round[n][-1]:.2f} ms" for n in names))
    return {n: {**summarize(samples[n], batch), "round_p50_ms": per_round[n]} for n in names}


def ratio_median(a: dict, b: dict) -> float:
    """Median over rounds of a's round p50 / b's round p50 (how many times slower a is)."""
    return float(np.median([x / y for x, y in zip(a["round_p50_ms"], b["round_p50_ms"])]))


# --- exported folders for benchmarking (built with seedge's own pipeline) -------------------------

BACKEND_FORMAT = {"torchscript": "torchscript", "onnxruntime": "onnx", "openvino": "openvino", "tensorrt": "tensorrt"}


def random_checkpoint(name: str, root: Path = CACHE) -> Path:
    """A seedge checkpoint of `name` with random weights (seed 0): latency needs no training."""
    import torch

    from seedge.checkpoint import save_checkpoint
    from seedge.models import create_model

    stem = root / "checkpoints" / name.replace("/", "_")
    path = stem.with_suffix(".safetensors")
    if path.is_file() and stem.with_suffix(".json").is_file():
        return path
    torch.manual_seed(0)
    model = create_model(name).eval()
    save_checkpoint(model, stem, class_names=[str(i) for i in range(model.seedge_cfg.num_classes)])
    return path


# Random weights give near-constant, near-uniform logits whose top-1 flips under any
# rounding (MobileNetV3's INT8 IR agreed on 0% of digits images with random weights), so
# for latency-only exports of random weights agreement is not required; a cosine bar
# still fails a broken artifact. Exports of trained weights keep seedge's defaults.
RANDOM_WEIGHT_THRESHOLDS = {
    "fp16": {"min_agreement": 0.9, "min_cosine": 0.99},
    "int8": {"min_agreement": 0.0, "max_accuracy_drop": None, "min_cosine": 0.9},
}


def exported_folder(name: str, formats, precisions, root: Path = CACHE / "exported", calib: str = "digits",
                    progress=None, source: str | Path | None = None, img_size=None,
                    folder_name: str | None = None) -> Path:
    """`root/<folder_name>` exported by `seedge.export.pipeline.export_model`.

    source None: `name` with random weights (RANDOM_WEIGHT_THRESHOLDS apply); else that
    checkpoint / training run with seedge's default parity thresholds. Reused when its
    manifest already holds every requested artifact (export is slow on big models); INT8
    calibrates on the built-in `digits` images (real images, resized).
    """
    from seedge.artifacts import MANIFEST, read_manifest

    folder_name = folder_name or name.replace("/", "_")
    folder = root / folder_name
    wanted = {f"{f}-{p}" for f in formats for p in precisions}
    if (folder / MANIFEST).is_file():
        manifest = read_manifest(folder)
        have = {a["id"] for a in manifest["artifacts"]} | {s["id"] for s in manifest.get("skipped", [])}
        if wanted <= have:
            return folder
    from seedge.export.pipeline import export_model

    return export_model(source=str(source or random_checkpoint(name)), formats=tuple(formats),
                        precisions=tuple(precisions), calib=calib if "int8" in precisions else None, out=root,
                        name=folder_name, img_size=img_size,
                        thresholds=None if source else RANDOM_WEIGHT_THRESHOLDS,
                        progress=(lambda msg, *_kind: progress(msg)) if progress else None)
