"""What an export starts from, loaded and checked before anything is written; and the eager
baseline the export folder keeps of it.

A source is one of:
  - a seedge checkpoint or training run (its sidecar names the architecture),
  - a bare state dict with --model ARCH (the zoo) or --model-file FILE.py:NAME [--model-args JSON]
    (the user's own class or factory, imported and run),
  - a torch.export program (.pt2): architecture and weights in one file, no Python code,
  - a live torch.nn.Module (`seedge.export(module, input_size=...)`).

The baseline verify, bench and the runtime compare against must run from the folder alone:
a seedge checkpoint (model.safetensors + model.json) when the zoo can rebuild the
architecture, else a torch.export program (baseline.pt2) -- for the user's own code, which
seedge does not keep, and for .pt2 sources (copied as they are).
"""

from __future__ import annotations

import hashlib
import io
import logging
import shutil
import warnings
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seedge.errors import SeedgeError

if TYPE_CHECKING:
    import torch

    from seedge.preprocess import PreprocessSpec

BASELINE_PROGRAM = "baseline.pt2"


@dataclass(frozen=True)
class ModelSource:
    """How to turn SOURCE into a model when it does not say so itself."""

    model_file: str | None = None  # FILE.py:NAME, a class or factory of the user's
    model_args: object = None  # JSON text or dict of keyword arguments for it
    key_map: tuple[str, ...] = ()  # REGEX=REPLACEMENT renames of the checkpoint's keys
    class_names: object = None  # list, "a,b,c" or a file: the classes in output order
    input_size: tuple | None = None  # (C, H, W) of a live module
    # the user's statement (seedge.preprocess.stated: preset, mean, std, resize, color_order; a live
    # module's input_size), every key optional; a PreprocessSpec states all it holds
    preprocessing: PreprocessSpec | dict | None = None


@dataclass
class Loaded:
    model: torch.nn.Module  # the eager FP32 model, eval mode, with seedge_cfg / seedge_arch
    info: dict  # arch, num_classes, class_names, preprocess, source, source_sha256
    program_file: Path | None = None  # a .pt2 source: it is the baseline as it is
    program: Any = None  # torch.export program of a user model (made by baseline_program)


def is_live(source) -> bool:
    try:
        import torch
    except ImportError:
        return False
    return isinstance(source, torch.nn.Module)


def load_source(
    source,
    arch: str | None,
    num_classes: int | None,
    spec: ModelSource,
    allow_pickle: bool = False,
    need_normalization: bool = True,
) -> Loaded:
    """Load `source` (a resolved checkpoint path, a .pt2 path, or a live module). A model whose
    normalization nobody knows (the user's code) needs it stated (spec.preprocessing), unless
    `need_normalization` is False (inspect shows it unstated)."""
    from seedge.checkpoint import PROGRAM_SUFFIX, load_model
    from seedge.models.user import is_user_arch, register_model_file, split_user_arch
    from seedge.preprocess.stated import stated_preprocess

    if is_live(source):
        if arch or spec.model_file or spec.key_map:
            raise SeedgeError("a live module is its own architecture and weights: drop arch/model_file/key_map")
        return _live(source, spec, need_normalization)
    if spec.model_args and not spec.model_file:
        raise SeedgeError("--model-args goes with --model-file FILE.py:NAME")
    if spec.model_file:
        if arch:
            raise SeedgeError("give --model ARCH (the zoo) or --model-file FILE.py:NAME (your code), not both")
        arch = register_model_file(spec.model_file, spec.model_args)
    model, info = load_model(
        source,
        arch=arch,
        num_classes=num_classes,
        allow_pickle=allow_pickle,
        key_map=spec.key_map,
        class_names=spec.class_names,
    )
    info["preprocess"] = stated_preprocess(info, spec.preprocessing, need_normalization)
    path = Path(info["source"])
    if is_user_arch(info["arch"]):
        module, cls = split_user_arch(info["arch"])
        info["name"] = cls
        info["code"] = {
            "module": module,
            "class": cls,
            "file": str(spec.model_file or "").rpartition(":")[0],
            "args": _args(spec.model_args),
        }
        if info.get("pickled_module"):  # the architecture came from the pickle, not from a --model-file
            info["code"]["pickle"] = str(path)
    return Loaded(model, info, program_file=path if path.suffix == PROGRAM_SUFFIX else None)


def _args(value) -> dict:
    from seedge.models.user import parse_model_args

    return parse_model_args(value)


def _live(module, spec: ModelSource, need_normalization: bool = True) -> Loaded:
    from seedge.checkpoint import resolve_class_names
    from seedge.models.user import adopt, split_user_arch
    from seedge.preprocess import PreprocessSpec
    from seedge.preprocess.stated import check_statement, stated_preprocess

    size = spec.input_size or (check_statement(spec.preprocessing) or {}).get("input_size")
    if size is None:
        raise SeedgeError("seedge.export(module): give input_size=(C, H, W) or example_input=<a tensor>")
    model = adopt(module, size)
    cfg = model.seedge_cfg
    n = cfg.num_classes
    arch = model.seedge_arch
    module_name, cls = split_user_arch(arch)
    info = {
        "arch": arch,
        "num_classes": n,
        "class_names": resolve_class_names(spec.class_names, None, n, f"{cls} (it returns {n} logits)"),
        "preprocess": PreprocessSpec.from_model_cfg(cfg),
        "source": arch,
        "source_sha256": weights_sha256(model),
        "name": cls,
        "code": {"module": module_name, "class": cls},
    }
    info["preprocess"] = stated_preprocess(info, spec.preprocessing, need_normalization)
    return Loaded(model, info)


def weights_sha256(model) -> str:
    """sha256 over the state dict (names, dtypes, shapes, bytes): a live module's fingerprint."""
    import torch

    h = hashlib.sha256()
    for k, v in model.state_dict().items():
        t = v.detach().cpu().contiguous()
        h.update(f"{k}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.flatten().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def rebuilt_by_zoo(info: dict) -> bool:
    """Whether seedge's registry can rebuild the architecture from a checkpoint later."""
    from seedge.models.user import is_user_arch

    arch = str(info["arch"])
    return not is_user_arch(arch) and not arch.startswith("pt2:")


def baseline_program(loaded: Loaded, input_size: tuple, seed: int = 0) -> None:
    """For a model the zoo cannot rebuild (user code), export it now as a torch.export program
    with a dynamic batch and check it gives the model's logits: if that fails, the export stops
    here, before anything is written."""
    import torch

    from seedge.onnx.batch import batch_mismatch, export_failure

    if rebuilt_by_zoo(loaded.info) or loaded.program_file is not None:
        return
    model = loaded.model
    example = torch.randn(2, *input_size, generator=torch.Generator().manual_seed(seed))
    batch = torch.export.Dim("batch", min=1, max=4096)
    try:
        with torch.no_grad(), _quiet_torch():
            program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
            # Batch 1 too: torch traces sizes from 2 up, so a batch-1 path in forward is not in the program.
            runs = [(len(x), program.module()(x), model(x)) for x in (example, example[:1])]
    except Exception as e:  # noqa: BLE001 - torch.export raises many types; one line says which
        raise SeedgeError(
            f"{loaded.info['arch']}: torch.export cannot capture the model "
            f"({export_failure(e, model, example)}); seedge stores a user model's "
            f"eager baseline as a torch.export program, so that verify and bench run it without "
            f"your code"
        ) from None
    for n, got, want in runs:
        scale, diff = max(float(want.abs().max()), 1e-12), float((got - want).abs().max())
        if diff > 1e-5 * scale and n == 1:
            what = f"{loaded.info['arch']}: its torch.export program"
            raise SeedgeError(batch_mismatch(what, n, diff, scale, model, example))
        if diff > 1e-5 * scale:
            raise SeedgeError(
                f"{loaded.info['arch']}: its torch.export program does not give the model's logits; "
                f"the eager baseline cannot be stored"
            )
    loaded.program = program


@contextmanager
def _quiet_torch():
    """torch.export logs tracebacks and prints progress of what it tries; the outcome is reported
    here in one line, so keep stdout/stderr to that."""
    saved = logging.getLogger("torch").level
    logging.getLogger("torch").setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.getLogger("torch").setLevel(saved)


def save_baseline(loaded: Loaded, stage: Path, class_names, preprocess, extra: dict) -> dict:
    """Write the eager FP32 baseline into `stage`; returns the manifest's "baseline" entry."""
    from seedge import fileio

    if rebuilt_by_zoo(loaded.info):
        from seedge.checkpoint import save_checkpoint

        weights = save_checkpoint(
            loaded.model, stage / "model", class_names=class_names, preprocess=preprocess, extra=extra
        )
        sidecar = weights.with_suffix(".json")
        return {
            "file": weights.name,
            "sidecar": sidecar.name,
            "sha256": fileio.sha256_file(weights),
            # the sidecar rebuilds the baseline (arch, classes): hashed so verify/bench hold it too
            "sidecar_sha256": fileio.sha256_file(sidecar),
            "format": "safetensors",
            "precision": "fp32",
        }
    path = stage / BASELINE_PROGRAM
    if loaded.program_file is not None:
        shutil.copyfile(loaded.program_file, path)
    else:
        import torch

        torch.export.save(loaded.program, str(path))
    entry = {"file": path.name, "sha256": fileio.sha256_file(path), "format": "pt2", "precision": "fp32"}
    code = loaded.info.get("code")
    if code:  # where the architecture came from: the user's module and class
        entry.update({"module": code["module"], "class": code["class"]})
    return entry
