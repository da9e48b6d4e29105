"""Models from the user's own code: a live nn.Module, or a class / factory in a Python file.

`--model-file FILE.py:NAME` imports FILE -- running its top-level code, as Python's own import
would -- and calls NAME(**model_args): a class, or a function returning an nn.Module. The
model is registered under `user:<module>.<NAME>` (hidden from `seedge models`) so that train,
evaluate, inspect and export build it the way they build a zoo model, in this process only:
seedge keeps no copy of the code, so an export stores its eager baseline as a torch.export
program that needs none, and a checkpoint trained from it needs the same --model-file again.

Defaults a user model cannot tell: input size (3 channels, or the first conv's, at 224x224
unless given) and the classifier: the last nn.Linear. Its config's ImageNet mean/std is a
placeholder nobody reads unstated: export and evaluate need the normalization stated
(seedge.preprocess.stated), training records what it used.
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from seedge.errors import SeedgeError
from seedge.models.registry import IMAGENET_MEAN, IMAGENET_STD, USER_TAG, ModelConfig, register_model

USER_PREFIX = USER_TAG + ":"
DEFAULT_SIDE = 224


def is_user_arch(arch) -> bool:
    return str(arch or "").startswith(USER_PREFIX)


def user_arch(model) -> str:
    """`user:<module>.<class>` of a live module: where its architecture came from."""
    cls = type(model)
    return f"{USER_PREFIX}{cls.__module__}.{cls.__qualname__}"


def split_user_arch(arch: str) -> tuple[str, str]:
    """'user:pkg.mod.Net' -> ('pkg.mod', 'Net')."""
    module, _, name = arch[len(USER_PREFIX) :].rpartition(".")
    return module, name


# --- --model-file FILE.py:NAME, --model-args JSON -------------------------------------------------


def parse_model_file(spec: str) -> tuple[Path, str]:
    path, sep, name = str(spec).rpartition(":")
    if not sep or not path or not name.isidentifier():
        raise SeedgeError(
            f"--model-file {spec!r}: give FILE.py:NAME, e.g. mynet.py:MyNet (NAME is a class or a "
            f"function that returns the model)"
        )
    p = Path(path)
    if p.suffix != ".py":
        raise SeedgeError(f"--model-file {spec!r}: {p} is not a .py file")
    if not p.is_file():
        raise SeedgeError(f"{p}: model file not found")
    return p, name


def parse_model_args(value) -> dict:
    """--model-args '{"width": 32}' (or a dict) -> keyword arguments for the class or factory."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return dict(value)
    try:
        args = json.loads(value)
    except json.JSONDecodeError as e:
        raise SeedgeError(
            f"--model-args {value!r}: not JSON ({e.msg}); give an object such as '{{\"width\": 32}}'"
        ) from None
    if not isinstance(args, dict):
        raise SeedgeError(f"--model-args {value!r}: give a JSON object of keyword arguments, e.g. '{{\"width\": 32}}'")
    return args


def _message(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0][:200]}" if lines else type(e).__name__


def import_model_file(path: Path):
    """Import `path` as module `<stem>`, its folder first on sys.path meanwhile (for its own imports)."""
    path = path.resolve()
    name = path.stem if path.stem.isidentifier() else "user_model"
    loaded = sys.modules.get(name)
    if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve() != path:
        name = f"seedge_user_{name}"  # a module of that name is already imported from elsewhere
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SeedgeError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses, pickling and torch.export look classes up here
    folder = str(path.parent)
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:  # noqa: BLE001 - the user's code may raise anything
        sys.modules.pop(name, None)
        raise SeedgeError(f"{path}: importing it failed ({_message(e)})") from None
    finally:
        sys.path.remove(folder)
    return module


def load_factory(spec: str):
    """(callable, module name, NAME) for FILE.py:NAME."""
    path, name = parse_model_file(spec)
    module = import_model_file(path)
    factory = getattr(module, name, None)
    if factory is None or not callable(factory):
        import torch.nn as nn

        found = sorted(
            n
            for n, v in vars(module).items()
            if not n.startswith("_")
            and (
                (inspect.isclass(v) and issubclass(v, nn.Module) and v.__module__ == module.__name__)
                or (inspect.isfunction(v) and v.__module__ == module.__name__)
            )
        )
        raise SeedgeError(
            f"{path}: defines no class or function '{name}'"
            + (f" (it defines {', '.join(found[:8])})" if found else "")
        )
    return factory, module.__name__, name


def _accepts(fn, param: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return param in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def build(factory, args: dict, num_classes: int | None = None, where: str = "model"):
    """factory(**args) (with num_classes when it takes one), checked to be an nn.Module; a model that
    cannot be told its class count gets its classifier (the last Linear) resized instead."""
    import torch.nn as nn

    kwargs = dict(args)
    if num_classes is not None and "num_classes" not in kwargs and _accepts(factory, "num_classes"):
        kwargs["num_classes"] = int(num_classes)
    try:
        model = factory(**kwargs)
    except (Exception, SystemExit) as e:  # noqa: BLE001 - the user's code may raise anything, exit(0) too
        shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        raise SeedgeError(
            f"{where}: {getattr(factory, '__name__', 'NAME')}({shown}) failed ({_message(e)}); check --model-args"
        ) from None
    if not isinstance(model, nn.Module):
        raise SeedgeError(
            f"{where}: {getattr(factory, '__name__', 'NAME')}(...) returned a "
            f"{type(model).__name__}, not a torch.nn.Module"
        )
    if num_classes is not None and kwargs.get("num_classes") is None:
        head = classifier_name(model)
        layer: Any = model.get_submodule(head) if head else None  # the classifier: a Linear
        if layer is not None and layer.out_features != num_classes:
            new = nn.Linear(layer.in_features, int(num_classes), bias=layer.bias is not None)
            _set(model, head, new.to(layer.weight.device, layer.weight.dtype))
    return model


def _set(root, dotted: str, new) -> None:
    parent, _, child = dotted.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, child, new)


def classifier_name(model) -> str:
    """The dotted name of the last nn.Linear (the usual classifier), "" if there is none."""
    import torch.nn as nn

    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    return names[-1] if names else ""


def input_channels(model) -> int:
    import torch.nn as nn

    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return int(first.in_channels) if first is not None else 3


def config_for(model, input_size=None, mean=None, std=None, num_classes: int | None = None) -> ModelConfig:
    """The ModelConfig seedge feeds a user model with (see the module docstring for the defaults)."""
    head = classifier_name(model)
    if num_classes is None:
        num_classes = model.get_submodule(head).out_features if head else 1
    c, h, w = (
        (int(v) for v in input_size) if input_size is not None else (input_channels(model), DEFAULT_SIDE, DEFAULT_SIDE)
    )  # adopt() checked it is (C, H, W)
    return ModelConfig(
        input_size=(c, h, w),
        mean=tuple(mean or IMAGENET_MEAN),
        std=tuple(std or IMAGENET_STD),
        num_classes=int(num_classes),
        family="user",
        classifier=head,
        description="from the user's own code",
    )


def register_model_file(spec: str, model_args=None) -> str:
    """Import FILE.py:NAME and register it; returns its arch name `user:<module>.<NAME>`."""
    factory, module_name, name = load_factory(spec)
    args = parse_model_args(model_args)
    probe = build(factory, args, where=spec)
    arch = f"{USER_PREFIX}{module_name}.{name}"

    @register_model(arch, config_for(probe), tags=(USER_TAG,), replace=True)
    def builder(num_classes: int | None = None, **_cfg):
        return build(factory, args, num_classes, where=spec)

    return arch


def adopt(model, input_size, mean=None, std=None):
    """A deep copy of a live module, FP32 on the CPU in eval mode, carrying seedge's config (the
    caller's module is never changed). Its class count is read from its output on a zero input."""
    import torch

    if not isinstance(model, torch.nn.Module):
        raise SeedgeError(f"expected a torch.nn.Module, got a {type(model).__name__}")
    try:
        # The export's baseline is eager FP32 on the CPU, whatever device/dtype the module is on.
        work = copy.deepcopy(model).float().cpu().eval()
    except Exception as e:  # noqa: BLE001 - a module holding something deepcopy cannot copy
        raise SeedgeError(f"{type(model).__name__}: cannot be copied for export ({_message(e)})") from None
    size = tuple(int(v) for v in input_size)
    if len(size) != 3 or min(size) < 1:
        raise SeedgeError(f"input_size {input_size!r}: give (C, H, W), e.g. (3, 224, 224)")
    x = torch.zeros(1, *size)
    try:
        with torch.no_grad():
            out = work(x)
    except Exception as e:  # noqa: BLE001
        raise SeedgeError(
            f"{type(model).__name__}: a forward pass on a 1x{'x'.join(map(str, size))} input failed "
            f"({_message(e)}); is input_size right?"
        ) from None
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        what = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else f"a {type(out).__name__}"
        raise SeedgeError(
            f"{type(model).__name__}: returns {what}; an exported classifier returns one (N, classes) tensor of logits"
        )
    work.seedge_cfg = config_for(work, size, mean, std, num_classes=int(out.shape[1]))
    work.seedge_arch = user_arch(model)
    return work
