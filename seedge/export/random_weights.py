"""A zoo model exported untrained: `seedge export --model ARCH --random-weights`.

For latency work (bench) and for checking that an architecture exports at all, before any
training. The weights are drawn with a fixed seed and saved once as a seedge checkpoint in
seedge.fileio.cache_root()/random-weights (default ~/.cache/seedge), so the manifest's source and its
sha256 name a real file and a second export is identical.

Parity of random weights: their logits are near-uniform, so the top-1 class flips under any
rounding (MobileNetV3's INT8 agreed on 0% of images) and top-1 agreement or accuracy drop
say nothing; FP16 and INT8 are gated on the cosine of the logits instead, which still fails
a broken artifact. FP32 keeps its gates (exact arithmetic must agree).

Sane scale: a freshly built deep residual net in eval mode has BatchNorm running statistics
(0, 1), so every BN is the identity and each residual block roughly doubles the activations'
variance: untrained se_resnet152 had logits near 1e4, where FP32 rounding alone moved the logits
by 45 % of their scale under BN folding. So the BN running statistics are set from one pass of
noise images (settle_batchnorm): every BN then normalizes its input as in training, activations
and logits stay O(1) in every family, and every branch and SE gate still carries signal (zeroing
each residual branch's last BN, torchvision's zero_init_residual, would also keep the scale but
makes every branch output exactly 0, so a random-weight export would no longer exercise the SE
blocks or check the passes on them).
"""

from __future__ import annotations

from pathlib import Path

from seedge.errors import SeedgeError

RANDOM_WEIGHT_SEED = 0
# In the cache folder's name: weights drawn by an older rule (no BN settling) are never reused.
INIT_RULE = "bn-settled"
SETTLE_BATCH = 2
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
    folder = cache_root() / "random-weights" / f"{arch.replace('/', '_')}-{n}classes-seed{seed}-{INIT_RULE}"
    weights = folder / "model.safetensors"
    if weights.is_file() and (folder / "model.json").is_file():
        return weights
    torch.manual_seed(seed)
    model = create_model(arch, num_classes=n).eval()
    settle_batchnorm(model, cfg.input_size)  # at the model's own size: BN statistics of deep layers depend on it
    return save_checkpoint(
        model,
        folder / "model",
        class_names=[str(i) for i in range(n)],
        extra={"random_weights": {"seed": seed, "init": INIT_RULE}},
    )


def settle_batchnorm(model, input_size) -> int:
    """Set every BatchNorm's running statistics from one batch of N(0, 1) noise images of
    `input_size` (C, H, W) (the rest of the model in eval mode: no dropout or stochastic depth);
    returns how many BN layers were set. Draws from torch's global generator (seeded by the caller)."""
    import torch
    from torch.nn.modules.batchnorm import _BatchNorm

    bns = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    if not bns:
        return 0
    momenta = [m.momentum for m in bns]
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: after one batch, exactly that batch's statistics
        m.train()
    try:
        with torch.no_grad():
            model(torch.randn(SETTLE_BATCH, *tuple(input_size)))
    finally:
        for m, momentum in zip(bns, momenta, strict=True):
            m.momentum = momentum
        model.eval()
    return len(bns)


def merged_thresholds(thresholds: dict | None) -> dict:
    """RANDOM_WEIGHT_THRESHOLDS with the caller's per-precision overrides on top."""
    out = {p: dict(t) for p, t in RANDOM_WEIGHT_THRESHOLDS.items()}
    for precision, t in (thresholds or {}).items():
        out[precision] = {**out.get(precision, {}), **t}
    return out
