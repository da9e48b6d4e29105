"""seedge's own checkpoint: `<stem>.safetensors` (weights) + `<stem>.json` (arch, num_classes,
class names, preprocessing). A training run directory holds `model.*`."""

from __future__ import annotations

import json
import os
from pathlib import Path

from seedge.errors import SeedgeError
from seedge.fileio import atomic_target, atomic_write, sha256_file

CHECKPOINT_FORMAT = "seedge-checkpoint"


def save_checkpoint(
    model, stem: str | os.PathLike, class_names: list[str] | None = None, preprocess=None, extra: dict | None = None
) -> Path:
    """Write `<stem>.safetensors` + `<stem>.json`. Returns the .safetensors path."""
    from safetensors.torch import save_file

    from seedge.preprocess import PreprocessSpec

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    cfg = model.seedge_cfg
    weights = stem.with_suffix(".safetensors")
    with atomic_target(weights) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(tmp))
        _readable_like_other_files(tmp)
    pre = preprocess or PreprocessSpec.from_model_cfg(cfg)
    meta = {
        "format": CHECKPOINT_FORMAT,
        "version": 1,
        "arch": model.seedge_arch,
        "num_classes": cfg.num_classes,
        "class_names": list(class_names) if class_names else [str(i) for i in range(cfg.num_classes)],
        "preprocess": pre.to_dict(),
        "weights": weights.name,
        "weights_sha256": sha256_file(weights),
        **(extra or {}),
    }
    sidecar = stem.with_suffix(".json")
    atomic_write(sidecar, json.dumps(meta, indent=2))
    return weights


def _readable_like_other_files(path: Path) -> None:
    """safetensors writes 0600; give the file the mode open() would (0666 minus the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def resolve_source(source: str | os.PathLike) -> Path:
    """A checkpoint file, or a training run directory holding `model.safetensors`."""
    p = Path(source)
    if p.is_dir():
        cand = p / "model.safetensors"
        if not cand.is_file():
            raise SeedgeError(f"{p}: directory holds no model.safetensors (not a seedge training run)")
        return cand
    if not p.exists():
        raise SeedgeError(f"{p}: checkpoint not found")
    return p


def read_sidecar(weights: Path) -> dict | None:
    side = weights.with_suffix(".json")
    if not side.is_file():
        return None
    try:
        meta = json.loads(side.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise SeedgeError(f"{side}: unreadable checkpoint metadata ({e})") from None
    return meta if meta.get("format") == CHECKPOINT_FORMAT else None
