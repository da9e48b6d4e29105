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
        raise SeedgeError(f"{path}: {TORCHSCRIPT_REFUSED}, or to read only its weights pass --unsafe-pickle (it "
                          f"runs the file's TorchScript code: only for files you trust) with --model/--model-file")
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
TORCHSCRIPT_REFUSED = ("is a TorchScript archive (torch.jit.save): seedge exports a model from its Python code "
                       "(torch.fx finds and rewrites the SE blocks, torch.export keeps the baseline; neither reads "
                       "TorchScript); export from the code with seedge.export(model, input_size=...) or save a "
                       "torch.export program (.pt2)")


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
    if allow_pickle and isinstance(e, (ModuleNotFoundError, AttributeError)):
        # A pickled module names its class by module path; a class defined in a script is "__main__.Net".
        return (f"{path}: the pickled model's class cannot be found ({_first_line(e)}); run where its module "
                f"imports, or save model.state_dict() and pass --model-file FILE.py:NAME")
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
    optional = _se_bias_keys(model)
    missing = _zero_se_biases(model, sd, target, missing, path)
    unexpected = [k for k in sd if k not in target]
    if missing or unexpected:
        arch = getattr(model, "seedge_arch", "the model")
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:3])})")
        raise SeedgeError(f"{path}: checkpoint does not fit {arch}: {'; '.join(parts)}; "
                          f"{layout_hint(sd, target, optional)}")
    model.load_state_dict({k: v for k, v in sd.items()}, strict=False)


def _se_bias_keys(model) -> set[str]:
    """State-dict keys of seedge SE biases, which a bias-less checkpoint may lack."""
    from seedge.models.layers import SqueezeExcite

    return {f"{name}.{fc}.bias".lstrip(".") for name, m in model.named_modules() if isinstance(m, SqueezeExcite)
            for fc in ("fc1", "fc2") if getattr(m, fc).bias is not None}


def _zero_se_biases(model, sd: dict, target: dict, missing: list[str], path) -> list[str]:
    """Bias-less SE layers (senet.pytorch's `Linear(c, c // r, bias=False)`) load into seedge's SE
    with zero biases: the same function. Fills `sd`, says so in one line on stderr, and returns
    the keys still missing."""
    import sys

    import torch

    from seedge.models.layers import SqueezeExcite

    wanted = set(missing)
    blocks = 0
    for name, m in model.named_modules():
        if not isinstance(m, SqueezeExcite):
            continue
        prefix = f"{name}." if name else ""
        keys = [f"{prefix}{fc}.bias" for fc in ("fc1", "fc2")]
        if all(k in wanted and k.replace(".bias", ".weight") in sd for k in keys):
            for k in keys:
                sd[k] = torch.zeros_like(target[k])
            blocks += 1
    if blocks:
        print(f"seedge: note: {path}: {blocks} SE blocks have no biases in the checkpoint (bias-less Linear SE, "
              f"as senet.pytorch writes it); they load with zero biases, which computes the same", file=sys.stderr)
    return [k for k in missing if k not in sd]


def _last_linear_outputs(sd: dict) -> int | None:
    """Outputs of the last 2-D weight: the classifier of a checkpoint that names it otherwise
    (`last_linear`, `head.fc`), so its key map can be found at the right class count."""
    weights = [v for k, v in sd.items() if k.endswith("weight") and v.dim() == 2]
    return int(weights[-1].shape[0]) if weights else None


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
               allow_pickle: bool = False, key_map=(), class_names=None):
    """Build the model a checkpoint describes and load its weights strictly.

    `source` may also be a torch.export program (.pt2): it carries its own architecture.
    key_map: --key-map rules ("REGEX=REPLACEMENT") applied to the checkpoint's keys first.
    class_names: the classes in output order (a list, "a,b,c" or a file with one per line),
    for a checkpoint that does not record them.
    Returns (model in eval mode, info dict with arch, num_classes, class_names, preprocess, sha256).
    """
    from seedge.models import create_model, get_config
    from seedge.preprocess import PreprocessSpec

    path = resolve_source(source)
    if path.suffix == PROGRAM_SUFFIX:
        if arch:
            raise SeedgeError(f"{path}: a torch.export program carries its architecture; drop --model/--model-file")
        return load_program(path, class_names)
    meta = read_sidecar(path) or {}
    arch = arch or meta.get("arch")
    if not arch and allow_pickle:
        module = read_pickled_module(path)
        if module is not None:  # a whole pickled module: its own architecture, like a live one
            return _pickled_module(module, path, class_names)
    if not arch:
        read_state_dict(path)  # a file that is no state dict at all says so first (a pickled module, TorchScript)
        raise SeedgeError(f"{path}: a bare state dict does not say its architecture; pass --model ARCH "
                          f"(see `seedge models`) or --model-file FILE.py:CLASS (your own code)")
    sd = apply_key_map(read_state_dict(path, allow_pickle=allow_pickle), parse_key_map(key_map), path)
    cfg = get_config(arch)
    n = num_classes or meta.get("num_classes") or classifier_outputs(sd, cfg.classifier) \
        or _last_linear_outputs(sd) or cfg.num_classes
    model = create_model(arch, num_classes=n)
    load_into(model, sd, path)
    model.eval()
    pre = PreprocessSpec.from_dict(meta["preprocess"]) if meta.get("preprocess") \
        else PreprocessSpec.from_model_cfg(model.seedge_cfg)
    info = {
        "arch": arch,
        "num_classes": n,
        "class_names": resolve_class_names(class_names, meta.get("class_names"), n, path),
        "preprocess": pre,
        "source": str(path),
        "source_sha256": sha256_file(path),
    }
    return model, info


def _pickled_module(module, path: Path, class_names=None):
    """(model, info) for a pickled whole module, recorded as the user's code like a live module. Its
    input size is not in the file: the user-model default (first conv's channels, 224x224) until
    the caller's --img-size."""
    from seedge.models.user import DEFAULT_SIDE, adopt, input_channels, split_user_arch
    from seedge.preprocess import PreprocessSpec

    model = adopt(module, (input_channels(module), DEFAULT_SIDE, DEFAULT_SIDE))
    n = model.seedge_cfg.num_classes
    info = {
        "arch": model.seedge_arch,
        "num_classes": n,
        "class_names": resolve_class_names(class_names, None, n, path),
        "preprocess": PreprocessSpec.from_model_cfg(model.seedge_cfg),
        "source": str(path),
        "source_sha256": sha256_file(path),
        "name": split_user_arch(model.seedge_arch)[1],
        "pickled_module": True,
    }
    return model, info


# --- torch.export programs (.pt2) as a source --------------------------------------------------------

PROGRAM_SUFFIX = ".pt2"


def load_program_module(path: str | os.PathLike):
    """The runnable module of a torch.export program file (what `torch.export.save` wrote)."""
    import torch

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.export.load(str(path))
    except Exception as e:  # noqa: BLE001 - torch raises many types for files it cannot read
        raise SeedgeError(f"{path}: not a loadable torch.export program ({_first_line(e)}); write one with "
                          f"torch.export.save(torch.export.export(model, (x,)), 'model.pt2')") from None
    module = program.module()
    # module() forbids train()/eval(): the program's ops were fixed when it was exported (eval-mode
    # BatchNorm, no dropout), so those calls could only flip flags nothing reads. Let them.
    for name in ("train", "eval"):
        if name in vars(module):
            delattr(module, name)
    return program, module


def load_program(path: Path, class_names=None):
    """(module, info) for a .pt2 source: input size and class count come from the program itself."""
    from seedge.models.registry import ModelConfig
    from seedge.preprocess import PreprocessSpec

    program, module = load_program_module(path)
    user_inputs = [n for n in program.graph.nodes if n.op == "placeholder"
                   and n.name in set(program.graph_signature.user_inputs)]
    shapes = [tuple(getattr(n.meta.get("val"), "shape", ())) for n in user_inputs]
    if len(shapes) != 1 or len(shapes[0]) != 4 or not all(isinstance(d, int) for d in shapes[0][1:]):
        raise SeedgeError(f"{path}: the program takes {len(shapes)} inputs of shapes {shapes}; seedge exports "
                          f"programs with one (N, C, H, W) image input of fixed C, H, W")
    output = next(n for n in program.graph.nodes if n.op == "output")
    outs = output.args[0] if isinstance(output.args[0], (tuple, list)) else [output.args[0]]
    shape = tuple(getattr(outs[0].meta.get("val"), "shape", ())) if len(outs) == 1 and hasattr(outs[0], "meta") else ()
    if len(shape) != 2 or not isinstance(shape[1], int):
        raise SeedgeError(f"{path}: the program returns {len(outs)} outputs ({shape}); seedge exports classifiers "
                          f"that return one (N, classes) tensor of logits")
    c, h, w = (int(d) for d in shapes[0][1:])
    n = int(shape[1])
    module.seedge_cfg = ModelConfig(input_size=(c, h, w), num_classes=n, family="pt2", classifier="",
                                    description="torch.export program")
    module.seedge_arch = f"pt2:{path.stem}"
    info = {
        "arch": module.seedge_arch,
        "num_classes": n,
        "class_names": resolve_class_names(class_names, None, n, path),
        "preprocess": PreprocessSpec.from_model_cfg(module.seedge_cfg),
        "source": str(path),
        "source_sha256": sha256_file(path),
        "name": path.stem,
    }
    return module, info


# --- class names for checkpoints that do not record them ---------------------------------------------

def parse_class_names(value) -> list[str] | None:
    """--class-names: "a,b,c", a file with one name per line, or a list; None when not given."""
    if value is None or value == "" or value == ():
        return None
    if isinstance(value, (list, tuple)):
        names = [str(v).strip() for v in value]
        where = "class_names"
    elif os.path.isfile(str(value)):
        try:
            text = Path(value).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise SeedgeError(f"--class-names {value}: cannot read the file ({e})") from None
        names = [line.strip() for line in text.splitlines() if line.strip()]
        where = f"--class-names {value}"
    else:
        names = [v.strip() for v in str(value).split(",")]
        where = f"--class-names {value!r}"
        if len(names) == 1 and ("/" in names[0] or names[0].endswith((".txt", ".csv"))):
            raise SeedgeError(f"{where}: no such file; give the names comma-separated or a file with one per line")
    if not names or any(not n for n in names):
        raise SeedgeError(f"{where}: empty class name; give names like cat,dog or a file with one per line")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise SeedgeError(f"{where}: class name '{repeated[0]}' appears twice")
    return names


def resolve_class_names(given, recorded, n: int, path) -> list[str]:
    """The model's class names: given ones (checked against the count and what the checkpoint
    records), else the recorded ones, else "0".."n-1"."""
    names = parse_class_names(given)
    generic = [str(i) for i in range(n)]
    if names is None:
        return list(recorded) if recorded else generic
    if len(names) != n:
        raise SeedgeError(f"--class-names gives {len(names)} names but {path} has {n} outputs")
    if recorded and list(recorded) != generic and list(recorded) != names:
        raise SeedgeError(f"--class-names {','.join(names[:4])}... differs from the names {path} records "
                          f"({','.join(list(recorded)[:4])}...); drop --class-names")
    return names


# --- --key-map, and what to suggest when keys do not fit ------------------------------------------------

def parse_key_map(items) -> list[tuple[re.Pattern, str, str]]:
    """["REGEX=REPLACEMENT", ...] -> [(compiled, replacement, the text given)]."""
    rules = []
    for item in items or ():
        pattern, sep, repl = str(item).partition("=")
        if not sep or not pattern:
            raise SeedgeError(f"--key-map {item!r}: give REGEX=REPLACEMENT, e.g. '^features\\.=layer.'")
        try:
            rules.append((re.compile(pattern), repl, str(item)))
        except re.error as e:
            raise SeedgeError(f"--key-map {item!r}: not a regular expression ({e})") from None
    return rules


def apply_key_map(sd: dict, rules, path) -> dict:
    """Rename every key through each rule in turn (re.sub); a rule that renames nothing is an error."""
    if not rules:
        return sd
    used = [0] * len(rules)
    out, origin = {}, {}
    for k, v in sd.items():
        nk = k
        for i, (pattern, repl, text) in enumerate(rules):
            try:
                renamed = pattern.sub(repl, nk)
            except (re.error, IndexError) as e:
                raise SeedgeError(f"--key-map {text!r}: bad replacement ({e})") from None
            used[i] += renamed != nk
            nk = renamed
        if nk in out:
            raise SeedgeError(f"{path}: --key-map renames both '{origin[nk]}' and '{k}' to '{nk}'")
        out[nk], origin[nk] = v, k
    for (_, _, text), n in zip(rules, used):
        if n == 0:
            raise SeedgeError(f"--key-map {text!r} renames no key of {path} (its keys look like "
                              f"{', '.join(list(sd)[:3])})")
    return out


# Naming schemes of SE classifiers in the wild: (name, a key pattern only that scheme writes).
KNOWN_LAYOUTS = (
    ("senet.pytorch (se.fc.0/se.fc.2 Linear SE)", re.compile(r"\.se\.fc\.[02]\.weight$")),
    ("timm / seedge (se.fc1/se.fc2, conv_reduce/conv_expand)",
     re.compile(r"\.se\.(fc[12]|conv_reduce|conv_expand)\.weight$")),
    ("pretrainedmodels (layer0, se_module, last_linear)", re.compile(r"^(layer0\.|last_linear\.)|\.se_module\.")),
    ("torchvision (features.N..., SqueezeExcitation fc1/fc2, classifier.N)",
     re.compile(r"^features\.\d+\..*\.fc[12]\.weight$|^classifier\.\d+\.weight$")),
    ("a custom residual SE net with its SE inline (layerN.fc1/fc2 Linear, fc1/fc2 head)",
     re.compile(r"^layer\d+\.fc[12]\.weight$")),
)


def layout_hint(sd: dict, target: dict, optional=frozenset()) -> str:
    """The end of a does-not-fit error: the closest known layout and a --key-map that would fit."""
    scores = [(sum(bool(rx.search(k)) for k in sd), name) for name, rx in KNOWN_LAYOUTS]
    hits, closest = max(scores)
    parts = [f"closest known layout: {closest}" if hits else "the keys follow none of the layouts seedge knows"]
    rules = suggest_key_map(sd, target, optional)
    if rules:
        shown = " ".join(f"--key-map '{r}'" for r in rules[:8])
        parts.append(f"a key map that fits: {shown}" + (f" (+{len(rules) - 8} more)" if len(rules) > 8 else ""))
    else:
        parts.append("no renaming makes it fit: is --model right? For a checkpoint of your own class, pass "
                     "--model-file FILE.py:CLASS")
    return "; ".join(parts)


def _signature(key: str, tensor) -> tuple:
    """What aligns a checkpoint key with a model key: parameter kind and shape (a Linear's 2-D
    weight and a 1x1 conv's 4-D one alike, as remap_to_model converts between them)."""
    shape = tuple(tensor.shape)
    while len(shape) > 2 and shape[-1] == 1:
        shape = shape[:-1]
    return key.rsplit(".", 1)[-1], shape


def suggest_key_map(sd: dict, target: dict, optional=frozenset()) -> list[str] | None:
    """REGEX=REPLACEMENT rules that rename `sd`'s keys onto `target`'s, or None when none do.

    Unexpected and missing keys are aligned in order by (parameter kind, shape); where a pair's
    dotted names differ (`features.1` vs `layer1`, `stage` vs `layer`) the differing part becomes
    a rule, one rule for all pairs with the same difference up to numbers (`features\\.(\\d+)\\.`).
    If those do not fit, one rule per module path. The rules are checked: after them (and the
    automatic renames) the checkpoint's keys must be exactly the model's; `optional` model keys
    (SE biases a bias-less checkpoint lacks) may stay missing.
    """
    import difflib

    unexpected = [k for k in sd if k not in target and not k.endswith("num_batches_tracked")]
    missing = [k for k in target if k not in sd and not k.endswith("num_batches_tracked")]
    if not unexpected or not missing:
        return None
    a = [_signature(k, sd[k]) for k in unexpected]
    b = [_signature(k, target[k]) for k in missing]
    pairs = []
    for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        pairs += [(unexpected[block.a + i], missing[block.b + i]) for i in range(block.size)]
    paired = {new for _, new in pairs}
    if len(pairs) != len(unexpected) or any(k not in paired and k not in optional for k in missing):
        return None
    differences, exact = {}, {}
    for old, new in pairs:
        o, n = old.split("."), new.split(".")
        exact[".".join(o[:-1])] = ".".join(n[:-1])
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, o, n, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            if i1 == i2:  # an inserted level: anchor it on the component before
                if i1 == 0:
                    differences[None] = None  # nothing to anchor on: only exact rules can say it
                    continue
                i1, j1 = i1 - 1, j1 - 1
            differences[".".join(o[i1:i2])] = ".".join(n[j1:j2])
    if None not in differences:
        general = _general_rules(differences)
        if _fits(general, sd, target, optional):
            # Drop rules the automatic renames make unnecessary (se.fc.0 -> se.fc1).
            for rule in list(general):
                fewer = [r for r in general if r != rule]
                if fewer and _fits(fewer, sd, target, optional):
                    general = fewer
            return general
    rules = [_prefix_rule(o, n) for o, n in exact.items() if o != n]
    return rules if rules and _fits(rules, sd, target, optional) else None


def _general_rules(differences: dict) -> list[str]:
    """old -> new path parts as rules that match them anywhere in a key; parts that differ only in
    numbers they share (`stage1`/`layer1`, `stage2`/`layer2`) become one rule with groups."""
    groups: dict = {}
    for old, new in differences.items():
        numbers = re.findall(r"\d+", old)
        if numbers and numbers == re.findall(r"\d+", new):
            key = (re.sub(r"\d+", "#", old), re.sub(r"\d+", "#", new))
        else:
            key = (old, new)
        groups.setdefault(key, []).append((old, new))
    rules = []
    for (old_t, new_t), members in groups.items():
        if len(members) == 1 or "#" not in old_t:
            rules += [_anywhere_rule(o, n) for o, n in members]
            continue
        pattern = re.escape(old_t).replace("\\#", "#").replace("#", "(\\d+)")
        groups_seen = iter(range(2, 100))
        repl = re.sub("#", lambda _m: f"\\g<{next(groups_seen)}>", new_t)
        rules.append(f"(^|\\.){pattern}\\.=\\g<1>{repl}." if new_t else f"(^|\\.){pattern}\\.=\\g<1>")
    return rules


def _anywhere_rule(old: str, new: str) -> str:
    """Rename path part `old` to `new` wherever it stands between dots."""
    return f"(^|\\.){re.escape(old)}\\.=\\g<1>{new}." if new else f"(^|\\.){re.escape(old)}\\.=\\g<1>"


def _prefix_rule(old: str, new: str) -> str:
    """Rename keys starting with module path `old` to start with `new`."""
    return f"^{re.escape(old)}\\.={new}." if new else f"^{re.escape(old)}\\.="


def _fits(rules: list[str], sd: dict, target: dict, optional=frozenset()) -> bool:
    """Whether `rules`, then the automatic renames, turn `sd` into exactly `target`."""
    try:
        renamed = remap_to_model(apply_key_map(sd, parse_key_map(rules), "<checkpoint>"), target)
    except SeedgeError:
        return False
    need = {k for k in target if not k.endswith("num_batches_tracked") and k not in optional}
    return need <= set(renamed) <= set(target) and all(renamed[k].shape == target[k].shape for k in renamed)
