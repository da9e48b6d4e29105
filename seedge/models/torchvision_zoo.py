"""The SE-bearing torchvision families, registered under their torchvision names.

MobileNetV3, EfficientNet (V1 and V2) and RegNetY all use torchvision's
`SqueezeExcitation`; weights are never downloaded: pretrained weights come from the
user's checkpoint.
"""

from __future__ import annotations

from seedge.models.registry import ModelConfig, register_model

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
    family = "mobilenet_v3" if name.startswith("mobilenet") else ("regnet_y" if name.startswith("regnet")
                                                                   else "efficientnet")

    @register_model(name, ModelConfig(input_size=(3, side, side), family=family, classifier=classifier,
                                      description=f"torchvision {name} (SqueezeExcitation)"),
                    tags=("torchvision",))
    def build(num_classes: int = 1000, **cfg):
        import torchvision.models as tvm

        return getattr(tvm, name)(weights=None, num_classes=num_classes, **cfg)


for _name, (_side, _cls) in _TORCHVISION_SE.items():
    _register(_name, _side, _cls)
