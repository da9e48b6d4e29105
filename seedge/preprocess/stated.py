"""The normalization a model is fed with, stated by its owner: presets, --mean/--std, and the
rule that a model from the user's own code is never given a default.

A zoo model knows its mean/std (its ModelConfig) and a seedge training run records what it
trained with; a model from the user's code (--model-file, a live module, a .pt2, a pickled
module) does not say, and a wrong guess passes every parity check (both sides get the same
tensors) while the device answers differently from the user's own pipeline. So its
normalization is stated -- `--mean/--std`, a `--preprocessing` preset, or the API's
`preprocessing={...}` (every key optional, over the model's own input size) -- or the command
stops in one line. `PreprocessSpec.source` records where the normalization came from.
"""

from __future__ import annotations

from dataclasses import replace

from seedge.errors import SeedgeError, unknown
from seedge.preprocess.spec import PreprocessSpec

# name -> (mean, std, meaning); the CLI's --preprocessing choices and help come from here.
PRESETS: dict[str, tuple[tuple[float, ...], tuple[float, ...], str]] = {
    "imagenet": (PreprocessSpec.mean, PreprocessSpec.std, "ImageNet mean/std (torchvision and timm weights)"),
    "unit": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), "ToTensor() only: pixels in [0, 1], mean 0, std 1"),
    "half": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), "Normalize(0.5, 0.5): pixels in [-1, 1]"),
}
# The keys a statement may hold (the API's preprocessing={...}; the CLI fills preset/mean/std).
KEYS = ("preset", "mean", "std", "input_size", "resize", "color_order")
HOW = (
    "state its normalization: --mean/--std (one number, or one per channel) or --preprocessing "
    f"{'|'.join(PRESETS)} (Python: preprocessing={{'mean': [...], 'std': [...]}} or {{'preset': 'imagenet'}})"
)


def numbers(value, flag: str) -> tuple[float, ...]:
    """'0.5', '0.485,0.456,0.406', 0.5 or a list -> floats (one value is for every channel)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (float(value),)
    try:
        parts = value.split(",") if isinstance(value, str) else list(value)
        out = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        out = ()
    if not out:
        raise SeedgeError(f"{flag} {_shown(value)}: give one number, or one per channel (e.g. 0.485,0.456,0.406)")
    return out


def _shown(value) -> str:
    return (
        value
        if isinstance(value, str)
        else ",".join(map(str, value))
        if isinstance(value, (list, tuple))
        else str(value)
    )


def check_statement(value) -> dict | None:
    """A statement (a dict of KEYS, or a whole PreprocessSpec / its dict) checked and normalized;
    None when nothing is stated. Bad input is one SeedgeError line."""
    if value is None:
        return None
    if isinstance(value, str):  # preprocessing="unit": a preset by name
        value = {"preset": value}
    if not isinstance(value, (dict, PreprocessSpec)):
        raise SeedgeError(
            f"preprocessing: give a dict (mean, std, preset ...), a preset name or a PreprocessSpec, "
            f"not a {type(value).__name__}"
        )
    d = value.to_dict() if isinstance(value, PreprocessSpec) else dict(value)
    # A whole spec (or its dict) also holds what seedge fixes: accepted at those values only, so
    # no statement is dropped without a word.
    d.pop("source", None)
    d.pop("extra", None)
    if abs(float(d.pop("scale", PreprocessSpec.scale)) - PreprocessSpec.scale) > 1e-12:
        raise SeedgeError("preprocessing: seedge scales pixels by 1/255 before mean/std; give mean/std for that scale")
    if str(d.pop("layout", "NCHW")).upper() != "NCHW":
        raise SeedgeError("preprocessing: layout NCHW only")
    bad = [k for k in d if k not in KEYS]
    if bad:
        raise SeedgeError(
            f"preprocessing: unknown key{'s' if len(bad) > 1 else ''} {', '.join(bad)}; known: {', '.join(KEYS)}"
        )
    d = {k: v for k, v in d.items() if v is not None}
    if "preset" in d and d["preset"] not in PRESETS:
        raise unknown("preprocessing preset", d["preset"], PRESETS)
    for key in ("mean", "std"):
        if key in d:
            d[key] = numbers(d[key], f"--{key}")
    if any(v == 0 for v in d.get("std", ())):
        raise SeedgeError(
            f"--std {_shown(value['std'] if isinstance(value, dict) else d['std'])}: a std of 0 divides by zero"
        )
    for key in ("input_size", "resize"):
        if key in d:
            d[key] = tuple(int(v) for v in d[key])
    if "color_order" in d:
        d["color_order"] = str(d["color_order"]).upper()
    return d or None


def apply_statement(base: PreprocessSpec, stated: dict | None, who: str, required: bool = True) -> PreprocessSpec:
    """`base` (the model's own preprocessing; source None when nobody knows its normalization)
    with what was stated over it. A model whose normalization is neither known nor stated is
    refused when `required`, naming the options; otherwise (inspect) it stays unstated."""
    stated = check_statement(stated) or {}
    preset = stated.get("preset")
    mean = stated.get("mean") or (PRESETS[preset][0] if preset else None)
    std = stated.get("std") or (PRESETS[preset][1] if preset else None)
    if base.source is None and (mean is None or std is None):
        if not required:
            return base
        given = "--mean without --std" if mean else "--std without --mean" if std else "no normalization"
        raise SeedgeError(
            f"{who}: seedge cannot know how its images were normalized ({given} stated); {HOW}. "
            f"A wrong guess passes parity and still answers differently from your own pipeline"
        )
    if not stated:
        return base
    c = int(stated.get("input_size", base.input_size)[0])
    mean, std = _per_channel(mean or base.mean, c, "--mean"), _per_channel(std or base.std, c, "--std")
    parts = []
    if base.source and not (preset or ("mean" in stated and "std" in stated)):
        parts.append(base.source)  # some of the normalization is still the model's own
    if preset:
        parts.append(f"preset {preset}")
    if set(stated) - {"preset"}:
        parts.append("stated")
    return replace(
        base,
        mean=mean,
        std=std,
        input_size=tuple(stated.get("input_size", base.input_size)),
        resize=stated.get("resize", base.resize),
        color_order=stated.get("color_order", base.color_order),
        source=", ".join(parts),
    )


def _per_channel(values: tuple[float, ...], c: int, flag: str) -> tuple[float, ...]:
    if len(values) == 1:
        return values * c
    if len(values) < c:
        raise SeedgeError(f"{flag} {','.join(f'{v:g}' for v in values)}: give {c} numbers (one per channel) or one")
    return tuple(values)


def stated_preprocess(info: dict, stated, required: bool = True) -> PreprocessSpec:
    """A loaded model's preprocessing (info["preprocess"]) with the user's statement over it; the
    input size stays the loaded model's (--img-size / input_size= change it)."""
    from seedge.preprocess.spec import spec_dict

    d = check_statement(stated) or {}
    d.pop("input_size", None)
    who = f"{info.get('name') or info['arch']} (not a zoo model nor a seedge training run)"
    pre = apply_statement(info["preprocess"], d, who, required)
    return PreprocessSpec.from_dict(spec_dict(pre))  # checks channels, layout, color order
