"""A registry of small model builders (timm's habit): name -> builder + default config.

Every model seedge creates carries its config as `model.seedge_cfg`, so export and
verify know the input size and normalization without being told again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from seedge.errors import SeedgeError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelConfig:
    """Defaults a model is built and fed with."""

    input_size: tuple[int, int, int] = (3, 224, 224)  # C, H, W
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    num_classes: int = 1000
    family: str = ""
    classifier: str = "fc"  # dotted name of the final Linear, used for head swaps and error messages
    description: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Entry:
    builder: Callable
    cfg: ModelConfig
    tags: tuple[str, ...] = field(default_factory=tuple)


_REGISTRY: dict[str, _Entry] = {}
_LAZY_SOURCES_LOADED = {"timm": False}


# Models from the user's own code (seedge.models.user) carry this tag: they build like the zoo's
# but are not part of it (`seedge models` does not list them).
USER_TAG = "user"


def register_model(name: str, cfg: ModelConfig, tags: tuple[str, ...] = (), replace: bool = False):
    """Decorator: register `builder(num_classes=..., **cfg)` under `name`. Duplicates raise unless
    `replace` (a user's model file registered again in the same process)."""

    def wrap(builder: Callable) -> Callable:
        if name in _REGISTRY and not replace:
            raise ValueError(f"model '{name}' is already registered")
        _REGISTRY[name] = _Entry(builder, cfg, tuple(tags))
        return builder

    return wrap


def _ensure_timm(name: str) -> None:
    if name.startswith("timm/") and not _LAZY_SOURCES_LOADED["timm"]:
        from seedge.models import timm_zoo

        timm_zoo.register_timm_se_models()
        _LAZY_SOURCES_LOADED["timm"] = True


def get_config(name: str) -> ModelConfig:
    _ensure_timm(name)
    if name not in _REGISTRY:
        if name.startswith(USER_TAG + ":"):
            raise SeedgeError(
                f"model '{name}' comes from your own code, which seedge does not keep: pass "
                f"--model-file FILE.py:{name.rsplit('.', 1)[-1]} (the file that defines it)"
            )
        raise SeedgeError(f"unknown model '{name}': run `seedge models` to list the registered names")
    return _REGISTRY[name].cfg


def create_model(name: str, num_classes: int | None = None, **cfg):
    """Build model `name` with `num_classes` outputs (default: the registry's)."""
    base = get_config(name)
    n = base.num_classes if num_classes is None else int(num_classes)
    if n < 1:
        raise SeedgeError(f"num_classes must be at least 1, got {n}")
    model = _REGISTRY[name].builder(num_classes=n, **cfg)
    model.seedge_cfg = ModelConfig(**{**base.to_dict(), "num_classes": n})
    model.seedge_arch = name
    return model


def list_models(include_timm: bool = False) -> list[str]:
    if include_timm:
        _ensure_timm("timm/")
    # timm's ~180 names stay out unless asked for, also once an earlier `timm/` lookup in this
    # process registered them (else `seedge models` would list, and count, them all).
    return sorted(n for n, e in _REGISTRY.items() if USER_TAG not in e.tags and (include_timm or "timm" not in e.tags))


def model_info(name: str) -> dict:
    cfg = get_config(name)
    return {"name": name, **cfg.to_dict(), "tags": list(_REGISTRY[name].tags)}
