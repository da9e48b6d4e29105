"""A zoo model exported untrained: `seedge export --model ARCH --random-weights`.

For latency work (bench) and for checking that an architecture exports at all, before any
training. The weights are drawn with a fixed seed and saved once as a seedge checkpoint in
seedge.fileio.cache_root()/random-weights (default ~/.cache/seedge), so the manifest's source and its
sha256 name a real file and a second export is identical.

Parity of random weights: their logits are near-uniform, so the top-1 class flips under any
rounding (MobileNetV3's INT8 agreed on 0% of images) and top-1 agreement or accuracy drop
say nothing; FP16 and INT8 are gated on the cosine of the logits instead, which still fails
a broken artifact. FP32 keeps its gates (exact arithmetic must agree).
"""

from __future__ import annotations

from pathlib import Path

from seedge.errors import SeedgeError

RANDOM_WEIGHT_SEED = 0
RANDOM_WEIGHT_THRESHOLDS = {
    "fp16": {"min_agreement": None, "min_cosine": 0.99},
    "int8": {"min_agreement": None, "max_accuracy_drop": None, "min_cosine": 0.9},
}
RANDOM_WEIGHT_NOTE = (
    "random weights: fp16/int8 parity is gated on logit cosine, not top-1 agreement or accuracy "
    "(random logits are near-uniform; their top-1 is meaningless); export a trained "
    "checkpoint for accuracy parity"
)


def cache_root() -> Path:
    from seedge import fileio

    return fileio.cache_root()


def random_weight_checkpoint(arch: str, num_classes: int | None = None, seed: int = RANDOM_WEIGHT_SEED) -> Path:
    """model.safetensors (+ model.json) of zoo model `arch` with weights drawn from `seed`."""
    import torch

    from seedge.checkpoint import save_checkpoint
    from seedge.models import create_model, get_config

    cfg = get_config(arch)  # an unknown name fails here, before any work
    if arch.startswith("user:"):
        raise SeedgeError("--random-weights builds a zoo model (--model ARCH); for your own code pass a checkpoint")
    n = cfg.num_classes if num_classes is None else int(num_classes)
    folder = cache_root() / "random-weights" / f"{arch.replace('/', '_')}-{n}classes-seed{seed}"
    weights = folder / "model.safetensors"
    if weights.is_file() and (folder / "model.json").is_file():
        return weights
    torch.manual_seed(seed)
    model = create_model(arch, num_classes=n).eval()
    return save_checkpoint(
        model, folder / "model", class_names=[str(i) for i in range(n)], extra={"random_weights": {"seed": seed}}
    )


def merged_thresholds(thresholds: dict | None) -> dict:
    """RANDOM_WEIGHT_THRESHOLDS with the caller's per-precision overrides on top."""
    out = {p: dict(t) for p, t in RANDOM_WEIGHT_THRESHOLDS.items()}
    for precision, t in (thresholds or {}).items():
        out[precision] = {**out.get(precision, {}), **t}
    return out
