"""SE-ResNet-18/34/50/101/152 (Hu et al., reduction 16) and SE-ResNet-18 for 32x32 input.

Parameter names follow torchvision's / timm's ResNet (`conv1`, `bn1`, `layerN.M.conv1`,
`layerN.M.se.fc1`, `fc`), so timm `seresnet*` state dicts load without remapping.
The SE block sits on the residual branch before the addition, as in the paper.
"""

from __future__ import annotations

import torch
from torch import nn

from seedge.models.layers import SqueezeExcite, se_hidden, se_residual
from seedge.models.registry import ModelConfig, register_model

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


class SEBasicBlock(nn.Module):
    expansion = 1

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None, reduction: int = 16
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.se = SqueezeExcite(planes, se_hidden(planes, reduction))
        self.downsample = downsample
        self.fused_tail = False  # set by the `fuse_se_residual` pass

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return se_residual(out, shortcut, self.se, self.relu, self.fused_tail)


class SEBottleneck(nn.Module):
    expansion = 4

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None, reduction: int = 16
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.se = SqueezeExcite(planes * 4, se_hidden(planes * 4, reduction))
        self.downsample = downsample
        self.fused_tail = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return se_residual(out, shortcut, self.se, self.relu, self.fused_tail)


class SEResNet(nn.Module):
    def __init__(
        self,
        block,
        layers: list[int],
        num_classes: int = 1000,
        reduction: int = 16,
        cifar_stem: bool = False,
        width: int = 64,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.inplanes = width
        if cifar_stem:  # 3x3 stride-1 stem and no max-pool: 32x32 input keeps its resolution
            self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
            self.maxpool: nn.Module = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        widths = [width, width * 2, width * 4, width * 8]
        self.layer1 = self._make_layer(block, widths[0], layers[0], 1, reduction)
        self.layer2 = self._make_layer(block, widths[1], layers[1], 2, reduction)
        self.layer3 = self._make_layer(block, widths[2], layers[2], 2, reduction)
        self.layer4 = self._make_layer(block, widths[3], layers[3], 2, reduction)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(widths[3] * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _make_layer(self, block, planes: int, blocks: int, stride: int, reduction: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample, reduction)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, 1, None, reduction) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.forward_features(x)).flatten(1)
        return self.fc(self.dropout(x))


_DEPTHS = {
    18: (SEBasicBlock, [2, 2, 2, 2]),
    34: (SEBasicBlock, [3, 4, 6, 3]),
    50: (SEBottleneck, [3, 4, 6, 3]),
    101: (SEBottleneck, [3, 4, 23, 3]),
    152: (SEBottleneck, [3, 8, 36, 3]),
}


def _register_depth(depth: int) -> None:
    block, layers = _DEPTHS[depth]

    @register_model(
        f"se_resnet{depth}",
        ModelConfig(family="se_resnet", classifier="fc", description=f"SE-ResNet-{depth}, reduction 16"),
    )
    def build(num_classes: int = 1000, **cfg) -> SEResNet:
        return SEResNet(block, layers, num_classes=num_classes, **cfg)


for _d in _DEPTHS:
    _register_depth(_d)


@register_model(
    "se_resnet18_cifar",
    ModelConfig(
        input_size=(3, 32, 32),
        mean=CIFAR_MEAN,
        std=CIFAR_STD,
        num_classes=10,
        family="se_resnet",
        classifier="fc",
        description="SE-ResNet-18 for 32x32 input: 3x3 stem, no max-pool",
    ),
)
def se_resnet18_cifar(num_classes: int = 10, **cfg) -> SEResNet:
    return SEResNet(SEBasicBlock, [2, 2, 2, 2], num_classes=num_classes, cifar_stem=True, **cfg)


@register_model(
    "se_resnet10_cifar_tiny",
    ModelConfig(
        input_size=(3, 32, 32),
        mean=CIFAR_MEAN,
        std=CIFAR_STD,
        num_classes=10,
        family="se_resnet",
        classifier="fc",
        description="Small SE-ResNet for 32x32 input (width 16, one block per stage): "
        "the demo model, trains in minutes on a CPU",
    ),
)
def se_resnet10_cifar_tiny(num_classes: int = 10, **cfg) -> SEResNet:
    cfg = {"width": 16, "reduction": 4, **cfg}
    return SEResNet(SEBasicBlock, [1, 1, 1, 1], num_classes=num_classes, cifar_stem=True, **cfg)
