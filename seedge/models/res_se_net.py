"""The custom residual SE network from the seed documents (lung PET-CT classifier).

Six stages alternate ResidualSEBlock and NormalConvBlock (channels 16..512), each stage
followed by 2x2 max-pooling and Dropout2d (0.3, 0.3, 0.3, 0.4, 0.4, 0.4); global average
pooling; then Linear 512->256, LeakyReLU, Dropout 0.6, Linear 256->N. Default input 245x457.
"""

from __future__ import annotations

import torch
from torch import nn

from seedge.models.layers import SqueezeExcite, conv_bn, se_hidden, se_residual
from seedge.models.registry import ModelConfig, register_model

# (block, in, out, stride, dropout) -- the seed's layer table, row by row.
LAYER_TABLE = [
    ("residual_se", 3, 16, 2, 0.3),
    ("normal", 16, 32, 1, 0.3),
    ("residual_se", 32, 64, 1, 0.3),
    ("normal", 64, 128, 1, 0.4),
    ("residual_se", 128, 256, 1, 0.4),
    ("normal", 256, 512, 1, 0.4),
]


class ResidualSEBlock(nn.Module):
    """conv-bn-leaky, conv-bn, SE, + shortcut (identity or 1x1 conv-bn), leaky."""

    def __init__(self, cin: int, cout: int, stride: int = 1, reduction: int = 16):
        super().__init__()
        self.conv1 = conv_bn(cin, cout, 3, stride)
        self.act = nn.LeakyReLU(0.01, inplace=True)
        self.conv2 = conv_bn(cout, cout, 3, 1)
        self.se = SqueezeExcite(cout, se_hidden(cout, reduction))
        self.shortcut = nn.Identity() if (cin == cout and stride == 1) else conv_bn(cin, cout, 1, stride)
        self.fused_tail = False  # set by the `fuse_se_residual` pass

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.act(self.conv1(x)))
        return se_residual(out, self.shortcut(x), self.se, self.act, self.fused_tail)


class NormalConvBlock(nn.Module):
    """Two conv-bn-leaky layers, no shortcut."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = conv_bn(cin, cout, 3, stride)
        self.act1 = nn.LeakyReLU(0.01, inplace=True)
        self.conv2 = conv_bn(cout, cout, 3, 1)
        self.act2 = nn.LeakyReLU(0.01, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act2(self.conv2(self.act1(self.conv1(x))))


class ResSENet(nn.Module):
    def __init__(self, num_classes: int = 2, reduction: int = 16):
        super().__init__()
        stages = []
        for kind, cin, cout, stride, p in LAYER_TABLE:
            block = (
                ResidualSEBlock(cin, cout, stride, reduction)
                if kind == "residual_se"
                else NormalConvBlock(cin, cout, stride)
            )
            stages.append(nn.Sequential(block, nn.MaxPool2d(2), nn.Dropout2d(p)))
        self.features = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(512, 256),
            nn.LeakyReLU(0.01, inplace=True),
            nn.Dropout(0.6),
            nn.Linear(256, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))


@register_model(
    "res_se_net",
    ModelConfig(
        # The seed feeds ToTensor() output unnormalized: mean 0, std 1.
        input_size=(3, 245, 457),
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        num_classes=2,
        family="res_se_net",
        classifier="classifier.3",
        description="Custom residual SE net (alternating Res-SE / plain conv blocks)",
    ),
)
def res_se_net(num_classes: int = 2, **cfg) -> ResSENet:
    return ResSENet(num_classes=num_classes, **cfg)
