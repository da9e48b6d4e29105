"""SE classifiers written the ways people write them, none of them seedge's: the user models of
the bring-your-own-model tests (the SE pattern pass, `seedge.export(module)`, `--model-file`).

Every network is small (a few thousand parameters) so that a full export runs in seconds, and
each writes its SE in another style:

  SENetStyleNet     senet.pytorch's SELayer: AdaptiveAvgPool2d -> view -> Sequential(Linear (no bias),
                    ReLU, Linear (no bias), Sigmoid) -> view -> x * y.expand_as(x)
  SeedStyleNet      the custom residual SE network of seed 000 (layer1..layer6 alternating a residual
                    block whose SE is two Linear layers written inline, and a plain conv block; head
                    fc1/fc2), at its native 245x457 input
  MeanSiLUNet       x.mean((2, 3)) without keepdim -> Linear (bias) -> F.silu -> Linear -> torch.sigmoid
                    -> [:, :, None, None]
  ConvSENet         x.mean((2, 3), keepdim=True) -> 1x1 Conv -> nn.ReLU -> 1x1 Conv -> nn.Sigmoid, in a
                    Sequential kept as `self.excite`
  MobileV3StyleNet  MobileNetV3 inverted-residual blocks whose SE gate is a hand-written h_sigmoid
                    module (relu6(x + 3) / 6), one block with F.hardsigmoid, one with
                    relu6(y + 3.) / 6. inline
  UntraceableNet    a block whose forward branches on a tensor value (fx cannot trace it) holding an
                    SE module, and one with the SE inline (left alone, reported)
  CBAMNet           CBAM channel attention (avg and max squeeze through a shared MLP): SE-like, not
                    an SE, left alone
  ECANet            ECA attention (a Conv1d across the channels of the pooled vector, no MLP) in
                    residual blocks of a tiny SE-ResNet-like net: not an SE, left alone; torch
                    specializes its batch when traced at batch 1 (issue 23)
  BatchBranchNet    `if x.shape[0] == 1:` in forward: a model whose graph fixes the batch
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn_relu(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


# --- senet.pytorch style -------------------------------------------------------------------------

class SELayer(nn.Module):
    def __init__(self, channel, reduction=4):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(channel, channel // reduction, bias=False), nn.ReLU(inplace=True),
                                nn.Linear(channel // reduction, channel, bias=False), nn.Sigmoid())

    def forward(self, x):
        b, c, _, _ = x.size()
        y = self.avg_pool(x).view(b, c)
        y = self.fc(y).view(b, c, 1, 1)
        return x * y.expand_as(x)


class SEBasic(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.se = SELayer(cout)
        self.downsample = None if cin == cout and stride == 1 else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.se(self.bn2(self.conv2(out)))
        return self.relu(out + residual)


class SENetStyleNet(nn.Module):
    def __init__(self, num_classes=5, width=8):
        super().__init__()
        self.stem = conv_bn_relu(3, width)
        self.layer1 = SEBasic(width, width)
        self.layer2 = SEBasic(width, 2 * width, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * width, num_classes)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# --- seed 000 style: residual SE blocks with the SE inline, plain conv blocks, fc1/fc2 head -------

class ResidualSEBlock(nn.Module):
    def __init__(self, cin, cout, stride=1, reduction=4):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.fc1 = nn.Linear(cout, cout // reduction)
        self.fc2 = nn.Linear(cout // reduction, cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.leaky_relu(self.bn1(self.conv1(x)), 0.01)
        out = self.bn2(self.conv2(out))
        b, c, _, _ = out.size()
        w = F.adaptive_avg_pool2d(out, 1).view(b, c)
        w = F.relu(self.fc1(w))
        w = torch.sigmoid(self.fc2(w)).view(b, c, 1, 1)
        out = out * w
        return F.leaky_relu(out + self.shortcut(x), 0.01)


class NormalConvBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x):
        x = F.leaky_relu(self.bn1(self.conv1(x)), 0.01)
        return F.leaky_relu(self.bn2(self.conv2(x)), 0.01)


class SeedStyleNet(nn.Module):
    """Seed 000's layer table at a fraction of its width (4..32 channels instead of 16..512)."""

    def __init__(self, num_classes=2, width=4):
        super().__init__()
        w = [width * k for k in (1, 2, 2, 4, 4, 8)]
        self.layer1 = ResidualSEBlock(3, w[0], stride=2)
        self.layer2 = NormalConvBlock(w[0], w[1])
        self.layer3 = ResidualSEBlock(w[1], w[2])
        self.layer4 = NormalConvBlock(w[2], w[3])
        self.layer5 = ResidualSEBlock(w[3], w[4])
        self.layer6 = NormalConvBlock(w[4], w[5])
        self.pool = nn.MaxPool2d(2)
        self.drops = nn.ModuleList(nn.Dropout2d(p) for p in (0.3, 0.3, 0.3, 0.4, 0.4, 0.4))
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(w[5], 4 * width)
        self.drop = nn.Dropout(0.6)
        self.fc2 = nn.Linear(4 * width, num_classes)

    def forward(self, x):
        layers = (self.layer1, self.layer2, self.layer3, self.layer4, self.layer5, self.layer6)
        for layer, drop in zip(layers, self.drops):
            x = drop(self.pool(layer(x)))
        x = self.gap(x).view(x.size(0), -1)
        return self.fc2(self.drop(F.leaky_relu(self.fc1(x), 0.01)))


# --- mean without keepdim, Linear with bias, SiLU, [:, :, None, None] ------------------------------

class MeanSiLUBlock(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.conv = conv_bn_relu(c, c)
        self.reduce = nn.Linear(c, hidden)
        self.expand = nn.Linear(hidden, c)

    def forward(self, x):
        x = self.conv(x)
        s = torch.sigmoid(self.expand(F.silu(self.reduce(x.mean((2, 3))))))
        return x * s[:, :, None, None]


class MeanSiLUNet(nn.Module):
    def __init__(self, num_classes=4, width=8):
        super().__init__()
        self.stem = conv_bn_relu(3, width, 2)
        self.blocks = nn.Sequential(MeanSiLUBlock(width, 4), MeanSiLUBlock(width, 2))
        self.head = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)).mean((2, 3)))


# --- 1x1 convs in a Sequential the block keeps as `excite` ------------------------------------------

class ConvSEBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = conv_bn_relu(c, c)
        self.excite = nn.Sequential(nn.AdaptiveAvgPool2d((1, 1)), nn.Conv2d(c, c // 2, 1), nn.ReLU(inplace=True),
                                    nn.Conv2d(c // 2, c, 1), nn.Sigmoid())

    def forward(self, x):
        y = self.conv(x)
        return self.excite(y) * y + x


class ConvSENet(nn.Module):
    def __init__(self, num_classes=3, width=8):
        super().__init__()
        self.stem = conv_bn_relu(3, width)
        self.block = ConvSEBlock(width)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.block(self.stem(x)), 1).flatten(1))


# --- MobileNetV3 style: inverted residuals, hard-swish, hard-sigmoid SE gates ------------------------

class h_sigmoid(nn.Module):  # noqa: N801 - the name MobileNetV3 code gives it
    def __init__(self, inplace=True):
        super().__init__()
        self.relu = nn.ReLU6(inplace=inplace)

    def forward(self, x):
        return self.relu(x + 3) / 6


class HSigmoidSE(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(c, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, c), h_sigmoid())

    def forward(self, x):
        b, c, _, _ = x.size()
        y = self.avg_pool(x).view(b, c)
        return x * self.fc(y).view(b, c, 1, 1)


class FunctionalHardSE(nn.Module):
    """1x1 convs, F.hardsigmoid; `written` uses relu6(y + 3.) / 6. instead."""

    def __init__(self, c, hidden, written=False):
        super().__init__()
        self.conv_reduce = nn.Conv2d(c, hidden, 1)
        self.conv_expand = nn.Conv2d(hidden, c, 1)
        self.written = written

    def forward(self, x):
        y = F.relu(self.conv_reduce(F.adaptive_avg_pool2d(x, 1)))
        y = self.conv_expand(y)
        y = F.relu6(y + 3.0) / 6.0 if self.written else F.hardsigmoid(y)
        return x * y


class InvertedResidual(nn.Module):
    def __init__(self, c, expand, se):
        super().__init__()
        self.expand = nn.Sequential(nn.Conv2d(c, expand, 1, bias=False), nn.BatchNorm2d(expand), nn.Hardswish())
        self.dw = nn.Sequential(nn.Conv2d(expand, expand, 3, 1, 1, groups=expand, bias=False),
                                nn.BatchNorm2d(expand), nn.Hardswish())
        self.se = se
        self.project = nn.Sequential(nn.Conv2d(expand, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.project(self.se(self.dw(self.expand(x))))


class MobileV3StyleNet(nn.Module):
    def __init__(self, num_classes=6, width=8):
        super().__init__()
        e = 2 * width
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width), nn.Hardswish())
        self.features = nn.Sequential(InvertedResidual(width, e, HSigmoidSE(e, 8)),
                                      InvertedResidual(width, e, FunctionalHardSE(e, 4)),
                                      InvertedResidual(width, e, FunctionalHardSE(e, 4, written=True)))
        self.classifier = nn.Sequential(nn.Linear(width, 16), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(16, num_classes))

    def forward(self, x):
        return self.classifier(self.features(self.stem(x)).mean((2, 3)))


# --- forwards torch.fx cannot trace -----------------------------------------------------------------

class BranchyBlock(nn.Module):
    """Branches on a tensor value: fx cannot trace it; its SE child module is found on its own,
    and with `inline=True` the SE is in this forward itself (left alone, reported)."""

    def __init__(self, c, inline=False):
        super().__init__()
        self.conv = conv_bn_relu(c, c)
        self.inline = inline
        self.se = None if inline else SELayer(c)
        self.fc1, self.fc2 = (nn.Linear(c, c // 4), nn.Linear(c // 4, c)) if inline else (None, None)

    def forward(self, x):
        y = self.conv(x)
        if y.abs().sum() > 0:  # data-dependent Python: symbolic tracing stops here
            y = y * 1.0
        if self.inline:
            g = torch.sigmoid(self.fc2(F.relu(self.fc1(y.mean((2, 3))))))
            return y * g[:, :, None, None]
        return self.se(y)


class UntraceableNet(nn.Module):
    def __init__(self, num_classes=3, width=8):
        super().__init__()
        self.stem = conv_bn_relu(3, width)
        self.a = BranchyBlock(width)
        self.b = BranchyBlock(width, inline=True)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.fc(self.b(self.a(self.stem(x))).mean((2, 3)))


# --- CBAM channel attention: looks like SE, is not one ------------------------------------------------

class ChannelAttention(nn.Module):
    def __init__(self, c, r=4):
        super().__init__()
        self.mlp = nn.Sequential(nn.Conv2d(c, c // r, 1, bias=False), nn.ReLU(), nn.Conv2d(c // r, c, 1, bias=False))

    def forward(self, x):
        a = self.mlp(F.adaptive_avg_pool2d(x, 1)) + self.mlp(F.adaptive_max_pool2d(x, 1))
        return x * torch.sigmoid(a)


class CBAMNet(nn.Module):
    def __init__(self, num_classes=3, width=8):
        super().__init__()
        self.stem = conv_bn_relu(3, width)
        self.ca = ChannelAttention(width)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.fc(self.ca(self.stem(x)).mean((2, 3)))


# --- ECA (Efficient Channel Attention) and a forward that branches on the batch --------------------

class ECALayer(nn.Module):
    def __init__(self, k_size=3):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv1d(1, 1, kernel_size=k_size, padding=(k_size - 1) // 2, bias=False)

    def forward(self, x):
        y = self.avg_pool(x)
        y = self.conv(y.squeeze(-1).transpose(-1, -2)).transpose(-1, -2).unsqueeze(-1)
        return x * y.sigmoid()


class ECABasic(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.body = nn.Sequential(conv_bn_relu(cin, cout, stride), nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(cout))
        self.eca = ECALayer()
        self.shortcut = nn.Identity() if cin == cout and stride == 1 else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return F.relu(self.eca(self.body(x)) + self.shortcut(x))


class ECANet(nn.Module):
    def __init__(self, num_classes=4, width=8):
        super().__init__()
        self.stem = conv_bn_relu(3, width)
        self.layer1 = ECABasic(width, width)
        self.layer2 = ECABasic(width, 2 * width, stride=2)
        self.fc = nn.Linear(2 * width, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.layer2(self.layer1(self.stem(x))), 1), 1))


class BatchBranchNet(nn.Module):
    def __init__(self, num_classes=3, width=8):
        super().__init__()
        self.stem = conv_bn_relu(3, width)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x):
        x = self.stem(x)
        if x.shape[0] == 1:  # a single image gets another path: the graph depends on the batch
            x = x * 2
        return self.fc(x.mean((2, 3)))


def make_factory(num_classes=2, width=4):
    """A factory function (not a class), for `--model-file FILE.py:make_factory`."""
    return SeedStyleNet(num_classes=num_classes, width=width)


def with_bn_stats(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random BatchNorm statistics and affine parameters (fresh BN is the identity, which would hide
    folding mistakes), in eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.2, 0.2, generator=gen)
                m.running_var.uniform_(0.5, 1.5, generator=gen)
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.uniform_(-0.2, 0.2, generator=gen)
    return model.eval()


def user_model(name: str, seed: int = 0, **kwargs) -> nn.Module:
    """The named network, seeded, with BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    return with_bn_stats(globals()[name](**kwargs), seed)


# name -> (C, H, W) each network is tested at; SeedStyleNet at seed 000's native 245x457.
INPUT_SIZES = {
    "SENetStyleNet": (3, 32, 32),
    "SeedStyleNet": (3, 245, 457),
    "MeanSiLUNet": (3, 32, 32),
    "ConvSENet": (3, 16, 16),
    "MobileV3StyleNet": (3, 32, 32),
    "UntraceableNet": (3, 16, 16),
    "CBAMNet": (3, 16, 16),
    "ECANet": (3, 16, 16),
    "BatchBranchNet": (3, 16, 16),
}
# name -> the canonical SqueezeExcite modules the SE pass must leave, by module path.
CANONICAL_SE = {
    "SENetStyleNet": ["layer1.se", "layer2.se"],
    "SeedStyleNet": ["layer1.se", "layer3.se", "layer5.se"],
    "MeanSiLUNet": ["blocks.0.se", "blocks.1.se"],
    "ConvSENet": ["block.excite"],
    "MobileV3StyleNet": ["features.0.se", "features.1.se", "features.2.se"],
}


# --- senet.pytorch's SE-ResNet-18 layout (torchvision ResNet names, bias-less Linear SE) ---------------

class SENetPyTorchBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, reduction=16):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.se = SELayer(planes, reduction)
        self.downsample = downsample

    def forward(self, x):
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.se(self.bn2(self.conv2(out)))
        return self.relu(out + residual)


class SENetPyTorchResNet18(nn.Module):
    """SE-ResNet-18 as senet.pytorch builds it: torchvision's ResNet with SEBasicBlock, whose SE is
    `fc = Sequential(Linear(c, c // 16, bias=False), ReLU, Linear(c // 16, c, bias=False), Sigmoid)`."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, 2)
        self.layer2 = self._make_layer(128, 2, stride=2)
        self.layer3 = self._make_layer(256, 2, stride=2)
        self.layer4 = self._make_layer(512, 2, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
        layers = [SENetPyTorchBasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [SENetPyTorchBasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))
