"""torchvision families, registered under their torchvision names.

MobileNetV3, EfficientNet (V1 and V2) and RegNetY all use torchvision's
`SqueezeExcitation`. The plain ResNets (resnet18/34/50, and resnet18_cifar with the 3x3
CIFAR stem) have no SE: they are the baselines the seed projects compare SE models with,
tagged BASELINE_TAG so `seedge models` marks them. Weights are never downloaded:
pretrained weights come from the user's checkpoint.
"""

from __future__ import annotations

from seedge.models.registry import ModelConfig, register_model
from seedge.models.se_resnet import CIFAR_MEAN, CIFAR_STD

BASELINE_TAG = "no-se"  # a model without squeeze-and-excitation, registered to compare SE models against

# name -> (default input side, dotted name of the final Linear)
_TORCHVISION_SE = {
    "mobilenet_v3_small": (224, "classifier.3"),
    "mobilenet_v3_large": (224, "classifier.3"),
    "efficientnet_b0": (224, "classifier.1"),
    "efficientnet_b1": (240, "classifier.1"),
    "efficientnet_b2": (288, "classifier.1"),
    "efficientnet_b3": (300, "classifier.1"),
    "efficientnet_b4": (380, "classifier.1"),
    "efficientnet_b5": (456, "classifier.1"),
    "efficientnet_b6": (528, "classifier.1"),
    "efficientnet_b7": (600, "classifier.1"),
    "efficientnet_v2_s": (384, "classifier.1"),
    "efficientnet_v2_m": (480, "classifier.1"),
    "efficientnet_v2_l": (480, "classifier.1"),
    "regnet_y_400mf": (224, "fc"),
    "regnet_y_800mf": (224, "fc"),
    "regnet_y_1_6gf": (224, "fc"),
    "regnet_y_3_2gf": (224, "fc"),
    "regnet_y_8gf": (224, "fc"),
    "regnet_y_16gf": (224, "fc"),
    "regnet_y_32gf": (224, "fc"),
    "regnet_y_128gf": (224, "fc"),
}


def _register(name: str, side: int, classifier: str) -> None:
    family = (
        "mobilenet_v3"
        if name.startswith("mobilenet")
        else ("regnet_y" if name.startswith("regnet") else "efficientnet")
    )

    @register_model(
        name,
        ModelConfig(
            input_size=(3, side, side),
            family=family,
            classifier=classifier,
            description=f"torchvision {name} (SqueezeExcitation)",
        ),
        tags=("torchvision",),
    )
    def build(num_classes: int = 1000, **cfg):
        import torchvision.models as tvm

        return getattr(tvm, name)(weights=None, num_classes=num_classes, **cfg)


for _name, (_side, _cls) in _TORCHVISION_SE.items():
    _register(_name, _side, _cls)


def _register_baseline(name: str) -> None:
    @register_model(
        name,
        ModelConfig(family="resnet", classifier="fc", description=f"torchvision {name}, no SE (baseline)"),
        tags=("torchvision", BASELINE_TAG),
    )
    def build(num_classes: int = 1000, **cfg):
        import torchvision.models as tvm

        return getattr(tvm, name)(weights=None, num_classes=num_classes, **cfg)


for _name in ("resnet18", "resnet34", "resnet50"):
    _register_baseline(_name)


@register_model(
    "resnet18_cifar",
    ModelConfig(
        input_size=(3, 32, 32),
        mean=CIFAR_MEAN,
        std=CIFAR_STD,
        num_classes=10,
        family="resnet",
        classifier="fc",
        description="torchvision ResNet-18 for 32x32 input: 3x3 stem, no max-pool, no SE (baseline of "
        "se_resnet18_cifar)",
    ),
    tags=("torchvision", BASELINE_TAG),
)
def resnet18_cifar(num_classes: int = 10, **cfg):
    import torchvision.models as tvm
    from torch import nn

    model = tvm.resnet18(weights=None, num_classes=num_classes, **cfg)
    # The stem se_resnet18_cifar has: 32x32 input keeps its resolution into layer1.
    model.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    model.maxpool = nn.Identity()
    return model
