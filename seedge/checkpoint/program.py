"""torch.export programs (.pt2) as a source: they carry their own architecture and input size."""

from __future__ import annotations

import os
from pathlib import Path

from seedge.checkpoint.class_names import resolve_class_names
from seedge.checkpoint.pt2_archive import DYNAMIC_EXPORT, load_program_bytes
from seedge.errors import SeedgeError
from seedge.fileio import sha256_file

PROGRAM_SUFFIX = ".pt2"


def load_program_module(path: str | os.PathLike):
    """The runnable module of a torch.export program file (what `torch.export.save` wrote)."""
    path = Path(path)
    program = load_program_bytes(path)  # weights-only: no code from the file runs (seedge.trust)
    shapes = input_shapes(program)
    if len(shapes) == 1 and shapes[0] and isinstance(shapes[0][0], int):
        # The program's guards hold it to that one batch size, and a program carries no code to
        # re-export it from; export, verify and bench feed it other batches.
        raise SeedgeError(
            f"{path}: this torch.export program was exported for batch {shapes[0][0]} only; "
            f"export it with a dynamic batch: {DYNAMIC_EXPORT}"
        )
    module = program.module()
    # module() forbids train()/eval(): the program's ops were fixed when it was exported (eval-mode
    # BatchNorm, no dropout), so those calls could only flip flags nothing reads. Let them.
    for name in ("train", "eval"):
        if name in vars(module):
            delattr(module, name)
    return program, module


def input_shapes(program) -> list[tuple]:
    """The shapes of the program's user inputs (ints, and SymInts for dynamic dimensions)."""
    user_inputs = set(program.graph_signature.user_inputs)
    return [
        tuple(getattr(n.meta.get("val"), "shape", ()))
        for n in program.graph.nodes
        if n.op == "placeholder" and n.name in user_inputs
    ]


def load_program(path: Path, class_names=None):
    """(module, info) for a .pt2 source: input size and class count come from the program itself."""
    from seedge.models.registry import ModelConfig
    from seedge.preprocess import PreprocessSpec

    program, module = load_program_module(path)
    shapes = input_shapes(program)
    if len(shapes) != 1 or len(shapes[0]) != 4 or not all(isinstance(d, int) for d in shapes[0][1:]):
        raise SeedgeError(
            f"{path}: the program takes {len(shapes)} inputs of shapes {shapes}; seedge exports "
            f"programs with one (N, C, H, W) image input of fixed C, H, W"
        )
    output = next(n for n in program.graph.nodes if n.op == "output")
    outs = output.args[0] if isinstance(output.args[0], (tuple, list)) else [output.args[0]]
    shape = tuple(getattr(outs[0].meta.get("val"), "shape", ())) if len(outs) == 1 and hasattr(outs[0], "meta") else ()
    if len(shape) != 2 or not isinstance(shape[1], int):
        raise SeedgeError(
            f"{path}: the program returns {len(outs)} outputs ({shape}); seedge exports classifiers "
            f"that return one (N, classes) tensor of logits"
        )
    c, h, w = (int(d) for d in shapes[0][1:])
    n = int(shape[1])
    module.seedge_cfg = ModelConfig(
        input_size=(c, h, w), num_classes=n, family="pt2", classifier="", description="torch.export program"
    )
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
