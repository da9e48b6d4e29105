"""Read a torch.export program (.pt2) as data: weights-only from end to end (seedge.trust).

`torch.export.load` trusts the archive: it retries the sample inputs with `weights_only=False`
when the safe load fails, unpickles weights and constants marked `use_pickle` with
`weights_only=False`, `pickle.loads` opaque-object constants, loads an AOTInductor shared library
found inside, falls back to an older format (more pickles) on any RuntimeError, hands the
graph's symbolic shape expressions to `sympy.sympify`, which evaluates them as Python, resolves
each node's target by getattr from `torch` (`torch.os.system` resolves) and calls it when the
module runs, and exec()s the program's `guards_code` into the module's guard function.

So seedge reads the file once into memory, checks every part of those bytes with torch's own
archive reader, and refuses in one line naming the part anything that needs code:
- a pickled part (sample inputs, a `use_pickle` weight or constant) that does not load with
  `weights_only=True`; an opaque or TorchBind object constant; a legacy-format pickle;
- an AOTInductor / ExecuTorch / MTIA payload (native code; a package is `--formats inductor`);
- a symbolic expression that is not plain arithmetic on names and numbers;
- a node that calls anything but a torch operator; a guard that is not a comparison of sizes.
Then it deserializes those same bytes with `load_pt2` (no legacy fallback) while torch.load is
forced weights-only (TORCH_FORCE_WEIGHTS_ONLY_LOAD) and torch's loggers are quiet: a check this
module missed still cannot unpickle code, and a refusal is seedge's one line, not torch's log.
"""

from __future__ import annotations

import ast
import io
import json
import logging
import os
import re
from contextlib import contextmanager
from pathlib import Path

from seedge.errors import SeedgeError, message_line
from seedge.fileio import os_error_text, read_bounded

# How to write a program seedge reads: one image input whose batch is dynamic.
DYNAMIC_EXPORT = (
    'torch.export.save(torch.export.export(model, (x,), dynamic_shapes={"x": {0: '
    'torch.export.Dim("batch")}}), "model.pt2") (name the key after forward\'s argument)'
)
MODEL = "model"  # the program torch.export.save writes, and the one torch.export.load returns
MAX_EXPR_CHARS = 4096
MAX_PROGRAM_BYTES = 1 << 34  # read whole into memory (once, so what is checked is what torch loads)
_GLOBAL = re.compile(r"Unsupported global: GLOBAL ([\w.]+)")  # the name torch's weights-only unpickler refused
# Parts of an archive that only hold code seedge never runs from a .pt2.
_NATIVE_DIRS = ("AOTINDUCTOR_DIR", "EXECUTORCH_DIR", "MTIA_DIR")
# Operator namespaces a program seedge reads may call; aten's file-mapping op is not an inference op.
_OP_NAMESPACES = ("aten", "prims", "higher_order", "quantized_decomposed")
_FILE_OPS = ("aten::from_file",)
# What a guard may use: input size methods and the functions torch's guard printer writes.
_SIZE_METHODS = ("size", "stride", "storage_offset", "dim", "numel")
_GUARD_FUNCTIONS = (
    "Max",
    "Min",
    "Abs",
    "floor",
    "ceiling",
    "FloorDiv",
    "CeilDiv",
    "Mod",
    "PythonMod",
    "int",
    "float",
    "abs",
    "min",
    "max",
    "sym_max",
    "sym_min",
    "sym_float",
    "sym_int",
)
_SYMBOLS = ("Symbol", "Dummy")  # how sympy's srepr, which torch writes, spells a named symbol
_OPERATORS = (
    ast.Expression,
    ast.keyword,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.Call,
    ast.Name,
    ast.Constant,
    ast.Load,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
)


def load_program_bytes(path: Path):
    """The ExportedProgram in the .pt2 file `path`, loaded weights-only (see the module doc)."""
    from torch.export.pt2_archive import PT2ArchiveReader

    try:
        size = path.stat().st_size
    except OSError as e:
        raise SeedgeError(f"{path}: cannot read the torch.export program ({os_error_text(e)})") from None
    if size > MAX_PROGRAM_BYTES:
        raise SeedgeError(
            f"{path}: {size} bytes is more than a torch.export program seedge reads ({MAX_PROGRAM_BYTES} bytes)"
        )
    data = read_bounded(path, size, "torch.export program")  # a FIFO or device is refused, not read forever
    try:
        with _quiet_torch():
            reader = PT2ArchiveReader(io.BytesIO(data))
            names = set(reader.get_file_names())
    except Exception as e:  # noqa: BLE001 - the zip reader raises RuntimeError/AssertionError/...
        raise SeedgeError(
            f"{path}: not a torch.export program archive ({message_line(e, 160)}); write one with {DYNAMIC_EXPORT}"
        ) from None
    _check_parts(path, reader, names)
    return _deserialize(path, data)


def _check_parts(path: Path, reader, names: set[str]) -> None:
    from torch.export.pt2_archive import constants as c

    for d in _NATIVE_DIRS:
        native = sorted(n for n in names if n.startswith(getattr(c, d)))
        if native:
            raise _refuse(
                path,
                native[0],
                "holds compiled native code (an AOTInductor or other package), which "
                "seedge never runs from a .pt2 source; export the program itself with "
                "torch.export.save",
            )
    models = sorted(n for n in names if n.startswith(c.MODELS_DIR))
    if models != [c.MODELS_FILENAME_FORMAT.format(MODEL)]:
        raise SeedgeError(
            f"{path}: a torch.export program archive holds one program named '{MODEL}' "
            f"(what torch.export.save writes); this one holds {models[:5]}"
        )
    for legacy in (f"{c.WEIGHTS_DIR}{MODEL}.pt", f"{c.CONSTANTS_DIR}{MODEL}.pt"):
        if legacy in names:
            raise _refuse(
                path,
                legacy,
                "is in torch's legacy pickled format; re-save the program with torch.export.save from this torch",
            )
    _check_pickle(path, reader, c.SAMPLE_INPUTS_FILENAME_FORMAT.format(MODEL))
    for config_name, folder in (
        (c.WEIGHTS_CONFIG_FILENAME_FORMAT, c.WEIGHTS_DIR),
        (c.CONSTANTS_CONFIG_FILENAME_FORMAT, c.CONSTANTS_DIR),
    ):
        _check_payloads(path, reader, config_name.format(MODEL), folder, c)
    program = _read_json(path, reader, c.MODELS_FILENAME_FORMAT.format(MODEL))
    _check_expressions(path, program)
    _check_operators(path, program)
    _check_guards(path, program.get("guards_code"))


def _check_payloads(path: Path, reader, config_file: str, folder: str, c) -> None:
    """Every weight or constant is a raw tensor payload or a weights-only pickle of one."""
    config = _read_json(path, reader, config_file).get("config")
    if not isinstance(config, dict):
        raise _refuse(path, config_file, "is not a payload config ({'config': {...}})")
    for fqn, meta in config.items():
        meta = meta if isinstance(meta, dict) else {}
        name = str(meta.get("path_name", ""))
        if name.startswith((c.CUSTOM_OBJ_FILENAME_PREFIX, c.OPAQUE_OBJ_FILENAME_PREFIX)):
            raise _refuse(
                path,
                folder + name,
                f"(constant '{fqn}') is a pickled Python object, which needs code to load; seedge reads tensors only",
            )
        if meta.get("use_pickle"):
            _check_pickle(path, reader, folder + name)


def _check_pickle(path: Path, reader, part: str) -> None:
    import torch

    try:
        blob = reader.read_bytes(part)
    except Exception:  # noqa: BLE001 - a missing record
        raise _refuse(path, part, "is missing") from None
    try:
        with _quiet_torch():
            torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - UnpicklingError and whatever a damaged pickle raises
        found = _GLOBAL.search(str(e))
        why = f"it needs {found.group(1)}" if found else message_line(e, 120)
        raise _refuse(
            path, part, f"is a pickle that does not load weights-only ({why}); seedge never unpickles code from a .pt2"
        ) from None


def _read_json(path: Path, reader, part: str) -> dict:
    try:
        doc = json.loads(reader.read_bytes(part))
    except Exception as e:  # noqa: BLE001 - missing record, bad UTF-8, bad JSON, too deep
        raise _refuse(path, part, f"is not readable JSON ({message_line(e, 120)})") from None
    if not isinstance(doc, dict):
        raise _refuse(path, part, "is not a JSON object")
    return doc


def _check_expressions(path: Path, doc: dict) -> None:
    """Symbolic shapes (`expr_str`, sympy's srepr: "Symbol('s77', positive=True, integer=True)") are
    handed to sympy.sympify, which evaluates Python: allow only arithmetic, comparisons and sympy
    classes called by name on symbols, numbers and boolean assumptions."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "expr_str" and not _plain_expression(value):
                    raise _refuse(
                        path,
                        "models/model.json",
                        f"has a symbolic expression that is not plain arithmetic: {str(value)[:80]!r}",
                    )
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)


def _check_operators(path: Path, doc: dict) -> None:
    """A node's target (and an operator argument) names what the module calls when it runs: torch
    resolves it by getattr from `torch`, `_operator` or `math` and calls whatever it finds
    (`torch.os.system` included). Allow only torch operators and torch's symbolic-size functions."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            targets = [node.get("target")] if "target" in node and "inputs" in node else []
            targets += [node["as_operator"]] if "as_operator" in node else []
            for target in targets:
                if not _operator(target):
                    raise _refuse(
                        path,
                        "models/model.json",
                        f"calls {str(target)[:80]!r}, which is not a torch operator; seedge runs only torch's own ops",
                    )
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _operator(target) -> bool:
    import torch
    from torch._export.serde.serialize import _SYM_OPS

    if not isinstance(target, str) or not target or len(target) > 200:
        return False
    root, *names = target.split(".")
    modules = {"torch": torch, "_operator": __import__("operator"), "math": __import__("math")}
    if root not in modules or any(not n.isidentifier() or n.startswith("__") for n in names):
        return False
    if root == "torch" and names[:1] == ["ops"] and (len(names) < 2 or names[1] not in _OP_NAMESPACES):
        return False
    found: object = modules[root]
    for name in names:
        found = getattr(found, name, None)
        if found is None:
            return False
    if found in _SYM_OPS:
        return True
    ops = (torch._ops.OpOverload, torch._ops.HigherOrderOperator)
    return isinstance(found, ops) and names[:1] == ["ops"] and getattr(found, "_name", "") not in _FILE_OPS


def _check_guards(path: Path, guards) -> None:
    """torch.export writes each guard as Python source, and program.module() exec()s it into the
    module's guard function: allow only comparisons of input sizes (`L['x'].size()[0] >= 2`)."""
    if guards in (None, []):
        return
    if not isinstance(guards, list):
        raise _refuse(path, "models/model.json", "has guards_code that is not a list of expressions")
    for guard in guards:
        if not _plain_guard(guard):
            raise _refuse(
                path, "models/model.json", f"has a guard that is not a comparison of input sizes: {str(guard)[:80]!r}"
            )


def _plain_guard(text) -> bool:
    if not isinstance(text, str) or len(text) > MAX_EXPR_CHARS or not text.isprintable() or '"' in text or "\\" in text:
        return False
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            ok = node.id in ("L", "math") or node.id in _GUARD_FUNCTIONS
        elif isinstance(node, ast.Attribute):
            ok = node.attr in _SIZE_METHODS or (
                isinstance(node.value, ast.Name) and node.value.id == "math" and not node.attr.startswith("_")
            )
        elif isinstance(node, ast.Constant):
            ok = type(node.value) in (int, float, bool) or (isinstance(node.value, str) and node.value.isidentifier())
        elif isinstance(node, ast.Call):
            ok = not node.keywords
        else:
            ok = isinstance(node, (*_OPERATORS, ast.Subscript, ast.Attribute, ast.Tuple))
        if not ok:
            return False
    return True


def _plain_expression(text) -> bool:
    if not isinstance(text, str) or len(text) > MAX_EXPR_CHARS:
        return False
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    names = [
        n.args[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in _SYMBOLS and len(n.args) == 1
    ]
    for node in ast.walk(tree):
        if not isinstance(node, _OPERATORS):
            return False
        if isinstance(node, ast.Name) and (node.id.startswith("_") or not node.id.isidentifier()):
            return False
        if (
            isinstance(node, ast.Constant)
            and type(node.value) not in (int, float, bool)
            and not (isinstance(node.value, str) and node.value.isidentifier() and any(node is n for n in names))
        ):
            return False  # the one string: a Symbol's name
        if isinstance(node, ast.Call) and not (
            _sympy_function(node.func)
            and all(isinstance(k.value, ast.Constant) and type(k.value.value) is bool for k in node.keywords)
        ):
            return False  # sympy classes, with assumptions (positive=True) as keywords
    return True


def _sympy_function(func) -> bool:
    """A called name is a sympy class (Max, Eq, FloorDiv...) or one of torch's sympy functions."""
    import sympy
    import torch.utils._sympy.functions as torch_functions

    if not isinstance(func, ast.Name):
        return False
    target = getattr(torch_functions, func.id, None) or getattr(sympy, func.id, None)
    return isinstance(target, type) and issubclass(target, sympy.Basic)


def _deserialize(path: Path, data: bytes):
    from torch.export.pt2_archive._package import load_pt2

    try:
        with _quiet_torch(), _weights_only():
            contents = load_pt2(io.BytesIO(data))
        return contents.exported_programs[MODEL]
    except Exception as e:  # noqa: BLE001 - torch raises many types for files it cannot read
        raise SeedgeError(
            f"{path}: not a loadable torch.export program ({message_line(e, 200)}); write one with {DYNAMIC_EXPORT}"
        ) from None


def _refuse(path: Path, part: str, why: str) -> SeedgeError:
    return SeedgeError(f"{path}: part {part} of this torch.export program {why}")


@contextmanager
def _weights_only():
    """torch.load is weights-only inside, whatever its caller asks (the caller here is torch)."""
    saved = {k: os.environ.pop(k, None) for k in ("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")}
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        yield
    finally:
        os.environ.pop("TORCH_FORCE_WEIGHTS_ONLY_LOAD", None)
        os.environ.update({k: v for k, v in saved.items() if v is not None})


@contextmanager
def _quiet_torch():
    """torch logs tracebacks and warnings while it reads archives; seedge says its own one line."""
    import warnings

    log = logging.getLogger("torch")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        log.setLevel(level)
