"""Exported folders for benchmarking, built with seedge's own pipeline and cached.

Shared by the pytest-benchmark suite (conftest.py) and the experiment scripts
(experiments/): a zoo model with random weights (latency does not depend on weight values)
or a given checkpoint, exported once into benchmarks/.cache/exported/ and reused.
"""

from __future__ import annotations

from pathlib import Path

from seedge.backends.table import BACKENDS

CACHE = Path(__file__).resolve().parent / ".cache"

# backend -> the format of the artifacts exported for it (its first readable format), from the one
# backend table; the eager baseline has no artifact to export.
BACKEND_FORMAT = {name: b.reads[0] for name, b in BACKENDS.items() if "eager" not in b.reads}


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
                    folder_name: str | None = None, thresholds: dict | None = None) -> Path:
    """`root/<folder_name>` exported by `seedge.export.pipeline.export_model`.

    source None: `name` with random weights (RANDOM_WEIGHT_THRESHOLDS apply); else that
    checkpoint / training run with seedge's default parity thresholds, or `thresholds`. Reused when its
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
    from seedge.export.options import ExportOptions
    from seedge.export.pipeline import export_model

    options = ExportOptions(formats=tuple(formats), precisions=tuple(precisions),
                            calib=calib if "int8" in precisions else None, out=root, name=folder_name,
                            img_size=img_size, thresholds=thresholds if source else RANDOM_WEIGHT_THRESHOLDS)
    return export_model(str(source or random_checkpoint(name)), options,
                        progress=(lambda msg, *_kind: progress(msg)) if progress else None)
