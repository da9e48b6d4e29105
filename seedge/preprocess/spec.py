"""One preprocessing spec, stored with every model and reused by train, export and verify.

It says how an image file becomes the network's input tensor: resize, optional center
crop, channel order, scale to [0, 1], then (x - mean) / std, layout NCHW, float32.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from seedge.errors import SeedgeError


@dataclass(frozen=True)
class PreprocessSpec:
    input_size: tuple[int, int, int] = (3, 224, 224)  # C, H, W fed to the network
    resize: tuple[int, int] | None = None  # (H, W) before cropping; None: straight to input size
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    color_order: str = "RGB"
    scale: float = 1.0 / 255.0
    layout: str = "NCHW"
    extra: dict = field(default_factory=dict)
    # Where mean/std came from (seedge.preprocess.stated): "model config", "stated", "preset NAME",
    # "training run", "recipe NAME"...; None: nobody knows (a user model, until its owner states it).
    source: str | None = None

    @property
    def height(self) -> int:
        return self.input_size[1]

    @property
    def width(self) -> int:
        return self.input_size[2]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        d["resize"] = list(self.resize) if self.resize else None
        d["mean"], d["std"] = list(self.mean), list(self.std)
        if self.source is None:
            del d["source"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> PreprocessSpec:
        d = dict(d)
        d["input_size"] = tuple(d["input_size"])
        d["resize"] = tuple(d["resize"]) if d.get("resize") else None
        d["mean"], d["std"] = tuple(d["mean"]), tuple(d["std"])
        return cls(**d)

    @classmethod
    def from_model_cfg(cls, cfg, img_size: int | tuple[int, int] | None = None) -> PreprocessSpec:
        c, h, w = cfg.input_size
        if img_size is not None:
            h, w = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        # A zoo family knows its normalization; a user model's or a .pt2's config only guesses it.
        source = None if cfg.family in ("user", "pt2") else "model config"
        return cls(input_size=(c, h, w), mean=tuple(cfg.mean), std=tuple(cfg.std), source=source)


def spec_dict(spec) -> dict:
    """Accept a PreprocessSpec or its dict form (a manifest's "preprocessing"); check the fields
    the pipeline relies on."""
    d = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec)
    c = int(d["input_size"][0])
    if c not in (1, 3):
        raise SeedgeError(f"preprocessing: {c} input channels; images have 1 (L) or 3 (RGB/BGR)")
    if len(d["mean"]) < c or len(d["std"]) < c:
        raise SeedgeError(f"preprocessing: mean/std have {len(d['mean'])}/{len(d['std'])} values for {c} channels")
    if str(d.get("layout", "NCHW")).upper() != "NCHW":
        raise SeedgeError(f"preprocessing: layout {d.get('layout')} is not supported (NCHW only)")
    if str(d.get("color_order", "RGB")).upper() not in ("RGB", "BGR"):
        raise SeedgeError(f"preprocessing: color order {d.get('color_order')} is not RGB or BGR")
    return d
