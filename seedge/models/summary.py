"""What a zoo model costs before any checkpoint exists: parameters, FLOPs at its input size, SE blocks.

FLOPs are counted by torch.utils.flop_counter.FlopCounterMode on one forward pass at batch 1
(a multiply-add counts as 2 FLOPs, as FlopCounterMode does; GMACs = GFLOPs / 2, the unit many
papers quote). The pass runs on the `meta` device (shapes only, no arithmetic) where the
builder allows, else on the CPU.
"""

from __future__ import annotations

from seedge.models.layers import count_params
from seedge.models.registry import create_model, model_info

# Class names of SE modules: seedge's own, torchvision's, timm's and pretrainedmodels'.
SE_MODULE_NAMES = ("SqueezeExcite", "SqueezeExcitation", "SEModule", "EffectiveSEModule", "SEBlock")


def count_se_blocks(model) -> int:
    return sum(1 for m in model.modules() if type(m).__name__ in SE_MODULE_NAMES)


def count_flops(model, input_size: tuple) -> int:
    """FLOPs of one forward pass at batch 1 (`input_size` = (C, H, W)) on the model's device."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    p = next(model.parameters())
    x = torch.zeros((1, *input_size), dtype=p.dtype, device=p.device)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model.eval()(x)
    return int(counter.get_total_flops())


def zoo_summary(arch: str, num_classes: int | None = None, input_size: tuple | None = None) -> dict:
    """{"arch", "parameters", "gflops", "gmacs", "input_size", "se_blocks", "num_classes", ...} of zoo model `arch`."""
    import torch

    info = model_info(arch)
    size = tuple(input_size or info["input_size"])
    try:
        with torch.device("meta"):
            model = create_model(arch, num_classes=num_classes)
        flops = count_flops(model, size)
    except (RuntimeError, NotImplementedError):  # e.g. RegNet computes its widths with tensors: build it for real
        model = create_model(arch, num_classes=num_classes)
        flops = count_flops(model, size)
    return {
        "arch": arch,
        "family": info["family"],
        "description": info["description"],
        "num_classes": model.seedge_cfg.num_classes,
        "input_size": list(size),
        "mean": list(info["mean"]),
        "std": list(info["std"]),
        "parameters": count_params(model),
        "gflops": round(flops / 1e9, 4),
        "gmacs": round(flops / 2e9, 4),
        "se_blocks": count_se_blocks(model),
    }
