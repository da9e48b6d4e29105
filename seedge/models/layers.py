"""Building blocks shared by seedge's own model families.

`SqueezeExcite` is written directly in the canonical form that the export passes
rewrite every other SE flavour into: mean over H,W (keepdim) -> 1x1 conv -> act ->
1x1 conv -> gate -> multiply. Its parameter names (`fc1`, `fc2`) match timm's
`SEModule` and pretrainedmodels' `SEModule`, so their checkpoints load as they are.
"""

from __future__ import annotations

import torch
from torch import nn


class SqueezeExcite(nn.Module):
    """Channel attention: x * gate(fc2(act(fc1(mean_hw(x)))))."""

    def __init__(self, channels: int, hidden: int, act: type[nn.Module] = nn.ReLU, gate: type[nn.Module] = nn.Sigmoid):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, hidden, kernel_size=1, bias=True)
        self.act = act(inplace=True) if act in (nn.ReLU, nn.SiLU, nn.Hardswish) else act()
        self.fc2 = nn.Conv2d(hidden, channels, kernel_size=1, bias=True)
        self.gate = gate()

    def scale(self, x: torch.Tensor) -> torch.Tensor:
        """The per-channel gate, shape (N, C, 1, 1); blocks that fuse the tail use it directly."""
        s = x.mean((2, 3), keepdim=True)
        return self.gate(self.fc2(self.act(self.fc1(s))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale(x)


def se_residual(
    out: torch.Tensor, shortcut: torch.Tensor, se: SqueezeExcite, act: nn.Module, fused: bool
) -> torch.Tensor:
    """The tail of a residual SE block: act(se(out) + shortcut).

    `fused` (set by the `fuse_se_residual` pass) writes scale + add as one addcmul, an
    expression backends and torch.compile turn into one kernel; the result is the same.
    """
    if fused:
        return act(torch.addcmul(shortcut, out, se.scale(out)))
    return act(se(out) + shortcut)


def se_hidden(channels: int, reduction: int) -> int:
    """Bottleneck width of an SE block: channels // reduction, at least 1 (SE paper, r=16)."""
    return max(1, channels // reduction)


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    """Conv (no bias) followed by BatchNorm: the pair the fold-BN pass turns into one conv."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    )


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
