"""Synthetic shapes at any size: a labelled image source for tests and odd input sizes.

`shapes` or `shapes:245x457,n=300,classes=3,seed=0` (SRC syntax). Each image is a
filled shape (circle, square, triangle, cross) of random size, position and colour on
a noisy background, drawn from (seed, index) alone, so any subset is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seedge.data.source import Row, Source, build_source
from seedge.errors import SeedgeError

SHAPES = ("circle", "square", "triangle", "cross")
DEFAULTS = {"size": (64, 64), "n": 400, "classes": 4, "seed": 0}


def render_shape(kind: str, size: tuple[int, int] = (64, 64), seed: int = 0, mode: str = "RGB"):
    """One PIL image (H, W = size) of `kind`, deterministic in `seed`; mode RGB, L or RGBA."""
    from PIL import Image, ImageDraw

    h, w = size
    rng = np.random.default_rng(seed)
    bg = rng.integers(0, 90, size=3)
    noise = rng.normal(0, 12, size=(h, w, 3))
    base = np.clip(bg[None, None, :] + noise, 0, 255).astype(np.uint8)
    img = Image.fromarray(base, "RGB")
    draw = ImageDraw.Draw(img)
    s = min(h, w)
    r = rng.uniform(0.18, 0.32) * s
    cx = rng.uniform(r + 1, w - r - 1)
    cy = rng.uniform(r + 1, h - r - 1)
    color = tuple(int(c) for c in rng.integers(140, 256, size=3))
    if kind == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=color)
    elif kind == "square":
        draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=color)
    elif kind == "triangle":
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=color)
    elif kind == "cross":
        t = max(1.0, r / 3)
        draw.rectangle([cx - r, cy - t, cx + r, cy + t], fill=color)
        draw.rectangle([cx - t, cy - r, cx + t, cy + r], fill=color)
    else:
        raise ValueError(f"unknown shape {kind!r}; one of {SHAPES}")
    if mode == "L":
        return img.convert("L")
    if mode == "RGBA":
        rgba = img.convert("RGBA")
        rgba.putalpha(Image.fromarray(np.full((h, w), 200, np.uint8)))
        return rgba
    return img


@dataclass(frozen=True)
class ShapeItem:
    """A lazily drawn image: rows stay cheap and any subset renders identically."""

    kind: str
    size: tuple[int, int]
    seed: int

    def load(self):
        return render_shape(self.kind, self.size, self.seed)


def parse_shapes_src(src: str) -> dict:
    """'shapes[:HxW][,n=N][,classes=K][,seed=S]' -> options."""
    opts: dict = dict(DEFAULTS)
    spec = src.split(":", 1)[1] if ":" in src else ""
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, _, val = part.partition("=")
        try:
            if not _:
                opts["size"] = parse_size(key)
            elif key in ("n", "classes", "seed"):
                opts[key] = int(val)
            elif key == "size":
                opts["size"] = parse_size(val)
            else:
                raise ValueError(key)
        except ValueError:
            raise SeedgeError(f"{src}: cannot parse '{part}'; use shapes[:HxW][,n=N][,classes=K][,seed=S]") from None
    if not 2 <= opts["classes"] <= len(SHAPES):
        raise SeedgeError(f"{src}: classes must be 2..{len(SHAPES)}")
    if opts["n"] < opts["classes"]:
        raise SeedgeError(f"{src}: n must be at least the number of classes")
    return opts


def parse_size(text: str) -> tuple[int, int]:
    """'245x457' -> (245, 457) (height x width); '32' -> (32, 32)."""
    parts = text.lower().split("x")
    if len(parts) == 1:
        parts = parts * 2
    h, w = (int(p) for p in parts)
    if h < 4 or w < 4:
        raise ValueError(text)
    return h, w


def open_shapes(src: str = "shapes", class_names: list[str] | None = None, fractions=None) -> Source:
    o = parse_shapes_src(src)
    kinds = SHAPES[: o["classes"]]
    rows = []
    for i in range(o["n"]):
        kind = kinds[i % len(kinds)]
        rows.append(Row(ShapeItem(kind, o["size"], o["seed"] * 1_000_003 + i), kind, f"{src}[{i}]"))
    return build_source(src, "shapes", {"all": rows}, class_names, fractions=fractions)
