"""timm models that contain SE modules, registered as `timm/<name>` when timm is installed.

timm stays optional: nothing here runs until a `timm/` name is asked for (or
`seedge models --timm`). A name is listed when it belongs to an SE-bearing family;
any other timm name can still be created and is accepted if the built model holds an
SE module.
"""

from __future__ import annotations

import re

from seedge.errors import SeedgeError
from seedge.models.registry import IMAGENET_MEAN, IMAGENET_STD, ModelConfig, register_model

# timm families whose blocks carry squeeze-and-excitation.
_SE_FAMILIES = re.compile(
    r"^(legacy_se|seresne|senet|se_|mobilenetv3|tf_mobilenetv3|efficientnet|tf_efficientnet|"
    r"regnety|rexnet|ghostnet|mixnet|tf_mixnet|fbnetv3|lcnet|tinynet|hardcorenas)"
)


def _has_se(model) -> bool:
    names = {type(m).__name__ for m in model.modules()}
    return bool(names & {"SEModule", "SqueezeExcite", "SqueezeExcitation", "EffectiveSEModule", "SEBlock"})


def _register_one(timm, name: str) -> None:
    try:
        pcfg = timm.get_pretrained_cfg(name)
        pcfg = pcfg.to_dict() if hasattr(pcfg, "to_dict") else dict(pcfg or {})
    except Exception:  # noqa: BLE001 - timm has no cfg for some names; fall back to ImageNet defaults
        pcfg = {}
    size = tuple(pcfg.get("input_size") or (3, 224, 224))
    cfg = ModelConfig(
        input_size=size,
        mean=tuple(pcfg.get("mean", IMAGENET_MEAN)),
        std=tuple(pcfg.get("std", IMAGENET_STD)),
        family="timm",
        classifier=pcfg.get("classifier", "fc") or "fc",
        description=f"timm {name}",
    )

    @register_model(f"timm/{name}", cfg, tags=("timm",))
    def build(num_classes: int = 1000, **kw):
        model = timm.create_model(name, pretrained=False, num_classes=num_classes, **kw)
        if not _has_se(model):
            raise SeedgeError(f"timm model '{name}' has no squeeze-and-excitation module; seedge handles SE models")
        return model


def register_timm_se_models() -> None:
    try:
        import timm
    except ImportError:
        return
    for name in timm.list_models():
        if _SE_FAMILIES.match(name):
            _register_one(timm, name)
