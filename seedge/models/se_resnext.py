"""SE-ResNeXt-50 (32x4d) in the `pretrainedmodels` / timm `legacy_seresnext50_32x4d` layout.

Keys are `layer0.conv1`, `layer0.bn1`, `layerN.M.conv1..3`, `layerN.M.se_module.fc1/fc2`,
`layerN.M.downsample.0/1`, `last_linear`, so checkpoints trained the way transfer-learning
projects do it (pretrainedmodels backbone, new `last_linear`) load as they are.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

from seedge.models.layers import SqueezeExcite, se_residual
from seedge.models.registry import ModelConfig, register_model


class SEResNeXtBottleneck(nn.Module):
    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        groups: int,
        reduction: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        base_width: int = 4,
    ):
        super().__init__()
        width = math.floor(planes * (base_width / 64)) * groups
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.se_module = SqueezeExcite(planes * 4, planes * 4 // reduction)
        self.downsample = downsample
        self.fused_tail = False  # set by the `fuse_se_residual` pass

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return se_residual(out, shortcut, self.se_module, self.relu, self.fused_tail)


class SEResNeXt(nn.Module):
    def __init__(
        self,
        layers: list[int],
        groups: int = 32,
        reduction: int = 16,
        num_classes: int = 1000,
        base_width: int = 4,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.inplanes = 64
        self.layer0 = nn.Sequential(
            OrderedDict(
                [
                    ("conv1", nn.Conv2d(3, 64, 7, 2, 3, bias=False)),
                    ("bn1", nn.BatchNorm2d(64)),
                    ("relu1", nn.ReLU(inplace=True)),
                    ("pool", nn.MaxPool2d(3, stride=2, ceil_mode=True)),
                ]
            )
        )
        kw = dict(groups=groups, reduction=reduction, base_width=base_width)
        self.layer1 = self._make_layer(64, layers[0], 1, **kw)
        self.layer2 = self._make_layer(128, layers[1], 2, **kw)
        self.layer3 = self._make_layer(256, layers[2], 2, **kw)
        self.layer4 = self._make_layer(512, layers[3], 2, **kw)
        # pretrainedmodels uses AvgPool2d(7); adaptive pooling is identical at 224 and works at any size.
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.last_linear = nn.Linear(512 * 4, num_classes)

    def _make_layer(self, planes: int, blocks: int, stride: int, **kw) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False),
                nn.BatchNorm2d(planes * 4),
            )
        layers = [SEResNeXtBottleneck(self.inplanes, planes, stride=stride, downsample=downsample, **kw)]
        self.inplanes = planes * 4
        layers += [SEResNeXtBottleneck(self.inplanes, planes, **kw) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer0(x)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avg_pool(self.forward_features(x)).flatten(1)
        return self.last_linear(self.dropout(x))


@register_model(
    "se_resnext50_32x4d",
    ModelConfig(
        family="se_resnext",
        classifier="last_linear",
        description="SE-ResNeXt-50 32x4d, pretrainedmodels / timm legacy key layout",
    ),
)
def se_resnext50_32x4d(num_classes: int = 1000, **cfg) -> SEResNeXt:
    return SEResNeXt([3, 4, 6, 3], num_classes=num_classes, **cfg)
