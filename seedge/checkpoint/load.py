"""A model and what it is (arch, classes, preprocessing, source hash) from any checkpoint source."""

from __future__ import annotations

import os
from pathlib import Path

from seedge.checkpoint.class_names import (
    check_num_classes,
    classifier_outputs,
    last_linear_outputs,
    resolve_class_names,
)
from seedge.checkpoint.fit import load_into
from seedge.checkpoint.key_map import apply_key_map, parse_key_map
from seedge.checkpoint.own import read_sidecar, resolve_source
from seedge.checkpoint.program import PROGRAM_SUFFIX, load_program
from seedge.checkpoint.read import read_pickled_module, read_state_dict
from seedge.errors import SeedgeError
from seedge.fileio import sha256_file


def load_model(
    source: str | os.PathLike,
    arch: str | None = None,
    num_classes: int | None = None,
    allow_pickle: bool = False,
    key_map=(),
    class_names=None,
):
    """Build the model a checkpoint describes and load its weights strictly.

    `source` may also be a torch.export program (.pt2): it carries its own architecture.
    key_map: --key-map rules ("REGEX=REPLACEMENT") applied to the checkpoint's keys first.
    class_names: the classes in output order (a list, "a,b,c" or a file with one per line),
    for a checkpoint that does not record them.
    Returns (model in eval mode, info dict with arch, num_classes, class_names, preprocess, sha256).
    """
    from seedge.models import create_model, get_config
    from seedge.preprocess import PreprocessSpec

    check_num_classes(num_classes)
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
        # A file that is no state dict at all says so first (a pickled module, TorchScript); read as
        # the user allowed, so a pickle --unsafe-pickle already opened is not refused for want of it.
        read_state_dict(path, allow_pickle=allow_pickle)
        raise SeedgeError(
            f"{path}: a bare state dict does not say its architecture; pass --model ARCH "
            f"(see `seedge models`) or --model-file FILE.py:CLASS (your own code)"
        )
    sd = apply_key_map(read_state_dict(path, allow_pickle=allow_pickle), parse_key_map(key_map), path)
    cfg = get_config(arch)
    n = (
        num_classes
        or meta.get("num_classes")
        or classifier_outputs(sd, cfg.classifier)
        or last_linear_outputs(sd)
        or cfg.num_classes
    )
    model = create_model(arch, num_classes=n)
    load_into(model, sd, path)
    model.eval()
    pre = (
        # recorded by seedge: a training run's is its own; another checkpoint keeps what it says
        PreprocessSpec.from_dict(
            {
                **meta["preprocess"],
                "source": "training run" if meta.get("training") else meta["preprocess"].get("source") or "checkpoint",
            }
        )
        if meta.get("preprocess")
        else PreprocessSpec.from_model_cfg(model.seedge_cfg)
    )
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
