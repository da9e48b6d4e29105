"""Loading checkpoints users bring from elsewhere, safely, and seedge's own format.

Safe by default: safetensors, or `torch.load(weights_only=True)`. A pickle that needs
arbitrary code is refused with a message; only `allow_pickle=True` (CLI:
`--unsafe-pickle`), asked for explicitly, falls back to full unpickling.

seedge's own checkpoint: `<stem>.safetensors` (weights) + `<stem>.json` (arch,
num_classes, class names, preprocessing). A training run directory holds `model.*`.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

from seedge.artifacts import sha256_file  # noqa: F401  (re-exported: callers hash checkpoints here)
from seedge.errors import SeedgeError, message_line

CHECKPOINT_FORMAT = "seedge-checkpoint"
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "weights", "ema")
_PREFIXES = ("module.", "_orig_mod.", "model.")


def read_state_dict(path: str | os.PathLike, allow_pickle: bool = False) -> dict:
    """Read a state dict from .safetensors / .pt / .pth / .bin, unwrapped and de-prefixed."""
    import torch

    path = Path(path)
    if not path.exists():
        raise SeedgeError(f"{path}: checkpoint file not found")
    if not path.is_file():  # a folder, device or FIFO: opening one can block forever
        raise SeedgeError(f"{path}: not a regular file, so not a checkpoint; pass a .safetensors/.pt/.pth file")
    kind = _sniff(path)
    if kind == "torchscript" and not allow_pickle:
        raise SeedgeError(f"{path}: is a TorchScript archive (torch.jit.save), not a state dict; re-save the "
                          f"weights with torch.save(model.state_dict(), ...), or pass --unsafe-pickle if you trust "
                          f"the file (loading it runs its TorchScript code)")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            obj = load_file(str(path))
        except Exception as e:  # noqa: BLE001 - safetensors raises several types for corrupt files
            raise SeedgeError(f"{path}: not a readable safetensors file ({_first_line(e)})") from None
    else:
        try:
            with warnings.catch_warnings():
                # torch warns on TorchScript archives and unusual pickle protocols before it fails
                # or succeeds; the outcome is reported here in one line either way.
                warnings.simplefilter("ignore")
                obj = torch.load(str(path), map_location="cpu", weights_only=not allow_pickle)
        except Exception as e:  # noqa: BLE001
            raise SeedgeError(_load_failure(path, kind, e, allow_pickle)) from None
    return unwrap_state_dict(obj, path)


def unwrap_state_dict(obj, path: Path | str = "<checkpoint>") -> dict:
    """Find the tensor dict inside common wrappers and strip DataParallel/compile prefixes."""
    import torch

    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    for _ in range(3):  # wrappers can nest: {"model": {"state_dict": ...}}
        if isinstance(obj, dict) and not _is_tensor_dict(obj):
            inner = next((obj[k] for k in _WRAPPER_KEYS if k in obj and isinstance(obj[k], (dict, torch.nn.Module))),
                         None)
            if inner is None:
                break
            obj = inner.state_dict() if isinstance(inner, torch.nn.Module) else inner
    if not isinstance(obj, dict) or not _is_tensor_dict(obj):
        raise SeedgeError(f"{path}: no state dict found (expected tensors, or a dict with one of "
                          f"{', '.join(_WRAPPER_KEYS)})")
    sd = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    for prefix in _PREFIXES:
        if sd and all(k.startswith(prefix) for k in sd):
            sd = {k[len(prefix):]: v for k, v in sd.items()}
    return sd


def _is_tensor_dict(d: dict) -> bool:
    import torch

    return bool(d) and sum(isinstance(v, torch.Tensor) for v in d.values()) >= max(1, len(d) // 2)


def _first_line(e: Exception) -> str:
    return message_line(e, 200)


def _sniff(path: Path) -> str:
    """What a checkpoint file is, from its first bytes: torchscript, zip (torch.save), pickle,
    safetensors, text or unknown. Only used to say clearly what went wrong."""
    import zipfile

    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return "unknown"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return "unknown"
        ts = any(n.endswith("/constants.pkl") or "/code/" in n for n in names)
        return "torchscript" if ts else "zip"
    if head[:1] == b"\x80":
        return "pickle"
    if len(head) >= 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < (100 << 20):
        return "safetensors"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown"
    return "text" if head and "\x00" not in text else "unknown"


def _load_failure(path: Path, kind: str, e: Exception, allow_pickle: bool) -> str:
    """One line saying why torch.load failed on a file, and what to do."""
    text = str(e)
    refused = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if refused:
        return (f"{path}: this pickle needs arbitrary code to load ({refused.group(1)}) and was refused; "
                f"re-save it as a plain state dict or safetensors, or pass --unsafe-pickle if you trust the file")
    if kind == "text":
        return f"{path}: is a text file, not a checkpoint; pass a .safetensors/.pt/.pth file of model weights"
    if kind == "safetensors":
        return f"{path}: looks like a safetensors file; give it the .safetensors extension"
    detail = re.search(r"WeightsUnpickler error:\s*(.+)", text)
    reason = (detail.group(1).strip() if detail else _first_line(e))[:160]
    if kind in ("pickle", "zip") and not allow_pickle:
        return (f"{path}: a pickle the safe loader cannot read ({reason}); re-save it as a plain state dict or "
                f"safetensors, or pass --unsafe-pickle if you trust the file (it may run code)")
    return f"{path}: cannot read checkpoint (not a PyTorch checkpoint: {reason}); pass a .safetensors/.pt/.pth file"


# Linear-based SE blocks (`se.fc.0` / `se.fc.2`, `excitation.0/2`) -> seedge's 1x1-conv `fc1` / `fc2`.
_SE_RENAMES = [
    (re.compile(r"^(.*\.(?:se|se_module))\.(?:fc|excitation)\.0\.(weight|bias)$"), r"\1.fc1.\2"),
    (re.compile(r"^(.*\.(?:se|se_module))\.(?:fc|excitation)\.2\.(weight|bias)$"), r"\1.fc2.\2"),
    (re.compile(r"^(.*\.(?:se|se_module))\.(?:conv_reduce)\.(weight|bias)$"), r"\1.fc1.\2"),
    (re.compile(r"^(.*\.(?:se|se_module))\.(?:conv_expand)\.(weight|bias)$"), r"\1.fc2.\2"),
]


def remap_to_model(sd: dict, target: dict) -> dict:
    """Rename/reshape keys from other naming schemes onto the target model's keys.

    Only renames that land on a key the model has are applied, and a 2-D Linear weight
    becomes a 1x1 conv weight where the model expects one; anything else is left for
    the strict check to report.
    """
    out = {}
    for k, v in sd.items():
        nk = k
        if nk not in target:
            for pattern, repl in _SE_RENAMES:
                cand = pattern.sub(repl, nk)
                if cand != nk and cand in target:
                    nk = cand
                    break
        if nk in target and v.dim() == 2 and target[nk].dim() == 4 and target[nk].shape[2:] == (1, 1) \
                and v.numel() == target[nk].numel():
            v = v.reshape(target[nk].shape)
        out[nk] = v
    return out


def load_into(model, sd: dict, path: Path | str = "<checkpoint>") -> None:
    """Strict load: report missing/unexpected keys and shape mismatches in one line."""
    target = model.state_dict()
    sd = remap_to_model(sd, target)
    classifier = getattr(getattr(model, "seedge_cfg", None), "classifier", None)
    mismatched = [k for k in sd if k in target and sd[k].shape != target[k].shape]
    if mismatched:
        k = mismatched[0]
        if classifier and k.startswith(classifier + "."):
            raise SeedgeError(
                f"{path}: classifier layer '{classifier}' has {sd[k].shape[0]} outputs in the checkpoint but "
                f"the model was built for {target[k].shape[0]} classes; pass --num-classes {sd[k].shape[0]}")
        raise SeedgeError(f"{path}: shape mismatch for '{k}': checkpoint {tuple(sd[k].shape)} vs model "
                          f"{tuple(target[k].shape)} ({len(mismatched)} mismatched tensors); is --model right?")
    missing = [k for k in target if k not in sd and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in sd if k not in target]
    if missing or unexpected:
        arch = getattr(model, "seedge_arch", "the model")
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:3])})")
        raise SeedgeError(f"{path}: checkpoint does not fit {arch}: {'; '.join(parts)}; is --model right?")
    model.load_state_dict({k: v for k, v in sd.items()}, strict=False)


def classifier_outputs(sd: dict, classifier: str) -> int | None:
    w = sd.get(f"{classifier}.weight")
    return int(w.shape[0]) if w is not None and w.dim() >= 1 else None


# --- seedge's own checkpoints ----------------------------------------------------------------

def save_checkpoint(model, stem: str | os.PathLike, class_names: list[str] | None = None,
                    preprocess=None, extra: dict | None = None) -> Path:
    """Write `<stem>.safetensors` + `<stem>.json`. Returns the .safetensors path."""
    from safetensors.torch import save_file

    from seedge.preprocess import PreprocessSpec

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    cfg = model.seedge_cfg
    weights = stem.with_suffix(".safetensors")
    tmp = weights.with_suffix(".safetensors.tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(tmp))
    _readable_like_other_files(tmp)
    os.replace(tmp, weights)
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
    tmp = sidecar.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, sidecar)
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


def load_model(source: str | os.PathLike, arch: str | None = None, num_classes: int | None = None,
               allow_pickle: bool = False):
    """Build the model a checkpoint describes and load its weights strictly.

    Returns (model in eval mode, info dict with arch, num_classes, class_names, preprocess, sha256).
    """
    from seedge.models import create_model, get_config
    from seedge.preprocess import PreprocessSpec

    path = resolve_source(source)
    meta = read_sidecar(path) or {}
    arch = arch or meta.get("arch")
    if not arch:
        raise SeedgeError(f"{path}: a bare state dict does not say its architecture; pass --model ARCH "
                          f"(see `seedge models`)")
    sd = read_state_dict(path, allow_pickle=allow_pickle)
    cfg = get_config(arch)
    n = num_classes or meta.get("num_classes") or classifier_outputs(sd, cfg.classifier) or cfg.num_classes
    model = create_model(arch, num_classes=n)
    load_into(model, sd, path)
    model.eval()
    pre = PreprocessSpec.from_dict(meta["preprocess"]) if meta.get("preprocess") \
        else PreprocessSpec.from_model_cfg(model.seedge_cfg)
    info = {
        "arch": arch,
        "num_classes": n,
        "class_names": meta.get("class_names") or [str(i) for i in range(n)],
        "preprocess": pre,
        "source": str(path),
        "source_sha256": sha256_file(path),
    }
    return model, info
