"""Reading a state dict from a file safely, and saying in one line why a file cannot be read.

Safe by default: safetensors, or `torch.load(weights_only=True)`. A pickle that needs
arbitrary code is refused with a message; only `allow_pickle=True` (CLI: `--unsafe-pickle`),
asked for explicitly, falls back to full unpickling.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

from seedge.errors import SeedgeError, message_line

# Where state dicts sit inside the dicts training scripts save, and the prefixes that
# DataParallel (`module.`), torch.compile (`_orig_mod.`) and Lightning-style wrappers (`model.`) add.
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
        raise SeedgeError(
            f"{path}: {TORCHSCRIPT_REFUSED}, or to read only its weights pass --unsafe-pickle (it "
            f"runs the file's TorchScript code: only for files you trust) with --model/--model-file"
        )
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


# Why a TorchScript archive is not exported as a model: its SE blocks cannot be found or rewritten
# (torch.fx does not trace ScriptModules) and its eager baseline cannot be kept as a torch.export
# program (torch.export does not take them either), so no honest export of it exists.
TORCHSCRIPT_REFUSED = (
    "is a TorchScript archive (torch.jit.save): seedge exports a model from its Python code "
    "(torch.fx finds and rewrites the SE blocks, torch.export keeps the baseline; neither reads "
    "TorchScript); export from the code with seedge.export(model, input_size=...) or save a "
    "torch.export program (.pt2)"
)


def read_pickled_module(path: Path):
    """The torch.nn.Module a full pickle holds (`torch.save(model, ...)`, or {"model": model, ...}),
    else None. Unpickling runs code from the file: callers pass here only with --unsafe-pickle."""
    import torch

    if _sniff(path) not in ("pickle", "zip", "torchscript"):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001
        raise SeedgeError(_load_failure(path, _sniff(path), e, True)) from None
    if isinstance(obj, dict):
        obj = next((obj[k] for k in _WRAPPER_KEYS if isinstance(obj.get(k), torch.nn.Module)), obj)
    if isinstance(obj, torch.jit.ScriptModule):
        raise SeedgeError(f"{path}: {TORCHSCRIPT_REFUSED}, or read only its weights with --model/--model-file")
    return obj if isinstance(obj, torch.nn.Module) else None


def unwrap_state_dict(obj, path: Path | str = "<checkpoint>") -> dict:
    """Find the tensor dict inside common wrappers and strip DataParallel/compile prefixes."""
    import torch

    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    for _ in range(3):  # wrappers can nest: {"model": {"state_dict": ...}}
        if isinstance(obj, dict) and not _is_tensor_dict(obj):
            inner = next(
                (obj[k] for k in _WRAPPER_KEYS if k in obj and isinstance(obj[k], (dict, torch.nn.Module))), None
            )
            if inner is None:
                break
            obj = inner.state_dict() if isinstance(inner, torch.nn.Module) else inner
    if not isinstance(obj, dict) or not _is_tensor_dict(obj):
        raise SeedgeError(
            f"{path}: no state dict found (expected tensors, or a dict with one of {', '.join(_WRAPPER_KEYS)})"
        )
    sd = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    for prefix in _PREFIXES:
        if sd and all(k.startswith(prefix) for k in sd):
            sd = {k[len(prefix) :]: v for k, v in sd.items()}
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
    if head and "\x00" not in text:
        return "pickle" if _is_protocol_0_pickle(path) else "text"
    return "unknown"


def _is_protocol_0_pickle(path: Path, limit: int = 16 << 20) -> bool:
    """True for a protocol-0 pickle (plain ASCII opcodes, e.g. pickle.dumps(obj, protocol=0)):
    pickletools only parses the opcodes, it never runs them; big files are not parsed."""
    import pickletools

    try:
        if path.stat().st_size > limit:
            return False
        ops = list(pickletools.genops(path.read_bytes()))
    except Exception:  # noqa: BLE001 - anything pickletools cannot parse is simply not a pickle
        return False
    return bool(ops) and ops[-1][0].name == "STOP"


def _load_failure(path: Path, kind: str, e: Exception, allow_pickle: bool) -> str:
    """One line saying why torch.load failed on a file, and what to do."""
    text = str(e)
    # torch names the refused global in one of two phrasings, inside a paragraph of its own advice
    refused = re.search(r"(?:Unsupported global: GLOBAL|unsupported GLOBAL) (\S+)", text)
    if refused:
        return (
            f"{path}: this pickle needs arbitrary code to load ({refused.group(1)}) and was refused; "
            f"re-save it as a plain state dict or safetensors, or pass --unsafe-pickle if you trust the file"
        )
    if kind == "text":
        return f"{path}: is a text file, not a checkpoint; pass a .safetensors/.pt/.pth file of model weights"
    if kind == "safetensors":
        return f"{path}: looks like a safetensors file; give it the .safetensors extension"
    if allow_pickle and isinstance(e, (ModuleNotFoundError, AttributeError)):
        # A pickled module names its class by module path; a class defined in a script is "__main__.Net".
        return (
            f"{path}: the pickled model's class cannot be found ({_first_line(e)}); run where its module "
            f"imports, or save model.state_dict() and pass --model-file FILE.py:NAME"
        )
    detail = re.search(r"WeightsUnpickler error:\s*(.+)", text)
    reason = (detail.group(1).strip() if detail else _first_line(e))[:160]
    if kind in ("pickle", "zip") and not allow_pickle:
        return (
            f"{path}: a pickle the safe loader cannot read ({reason}); re-save it as a plain state dict or "
            f"safetensors, or pass --unsafe-pickle if you trust the file (it may run code)"
        )
    return f"{path}: cannot read checkpoint (not a PyTorch checkpoint: {reason}); pass a .safetensors/.pt/.pth file"
