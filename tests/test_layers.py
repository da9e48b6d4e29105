"""The package's layers only point down, and torch never reaches the torch-free zone.

Every `import` in seedge/ (module level and inside functions: a lazy import is still a
dependency) is read with `ast`. An import of a package that sits in a later layer than the
importing module's package fails the test, and so does torch (or a torch-importing seedge
package) imported from the torch-free zone: the device runtime and what it stands on.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "seedge"

# Lowest first. A module may import its own package and anything in an earlier layer.
# backends/verify/bench sit below train/quantize/export: they only read files, and export and
# quantize use them to judge candidates before anything is published.
LAYERS: list[set[str]] = [
    {"errors", "fileio", "hostcpu"},
    {"artifacts", "contract", "bench_record", "publishing", "preprocess", "options", "trust"},
    {"models"},
    {"checkpoint"},
    {"data"},
    {"onnx"},
    {"passes"},
    {"backends"},
    {"verify"},
    {"bench"},
    {"train"},
    {"evaluate"},
    {"quantize"},
    {"export"},
    {"runtime"},
    {"cli", "__main__", "__init__"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}

# Modules that must import and run where `import torch` fails (the device install).
TORCH_FREE = {
    "seedge.__init__", "seedge.errors", "seedge.fileio", "seedge.hostcpu", "seedge.artifacts", "seedge.contract", "seedge.bench_record", "seedge.publishing", "seedge.options",
    "seedge.trust",
    "seedge.preprocess", "seedge.verify", "seedge.runtime",
    "seedge.backends.__init__", "seedge.backends.base", "seedge.backends.table", "seedge.backends.open",
    "seedge.backends.onnxruntime", "seedge.backends.openvino", "seedge.backends.tensorrt",
    "seedge.backends.cpu_features",
}
TORCH_PACKAGES = ("torch", "torchvision", "timm")
# (module, import) pairs allowed in the zone, each with why.
ALLOWED = {
    # CUDA memory comes from cuda-python; torch's allocator is only the fallback where torch is
    # already installed (a GPU server). A device install with cuda-python never reaches it.
    ("seedge.backends.tensorrt", "torch"),
    # `seedge.export(...)` is the Python API: the root resolves the name on first use (PEP 562
    # __getattr__) to the export package, which is callable and imports torch only when called
    # (tests/export/test_user_model.py checks `import seedge; seedge.export` where torch is blocked).
    ("seedge.__init__", "seedge.export"),
}


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, lazy ones included."""
    tree = ast.parse(path.read_text(), str(path))
    own = _module_name(path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
            if mod == "seedge":  # `from seedge import artifacts` imports seedge.artifacts
                out += [(node.lineno, f"seedge.{a.name}") for a in node.names if a.name != "__version__"]
    return out


def _top(module: str) -> str:
    """seedge.verify.parity -> verify; seedge.__init__ -> __init__; seedge -> __init__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _in_zone(module: str) -> bool:
    """seedge.verify.run is in the zone when seedge.verify is; seedge.backends is its __init__."""
    module = module.removesuffix(".__init__")
    return any(module == z.removesuffix(".__init__") or module.startswith(z + ".") for z in TORCH_FREE)


def _files():
    return sorted(ROOT.rglob("*.py"))


def test_every_seedge_package_has_a_layer():
    tops = {_top(_module_name(p)) for p in _files()}
    assert tops - set(RANK) == set(), "add the new package to LAYERS"


def test_no_import_points_up_a_layer():
    bad = []
    for path in _files():
        me = _module_name(path)
        for line, mod in _imports(path):
            if mod.split(".")[0] != "seedge" or mod == "seedge":
                continue
            if RANK[_top(mod)] > RANK[_top(me)]:
                bad.append(f"{path.relative_to(ROOT.parent)}:{line} imports {mod} "
                           f"(layer {_top(mod)} is above {_top(me)})")
    assert bad == []


def test_torch_free_zone_imports_no_torch():
    bad = []
    for path in _files():
        me = _module_name(path)
        if not _in_zone(me):
            continue
        for line, mod in _imports(path):
            root = mod.split(".")[0]
            if (me, mod) in ALLOWED:
                continue
            if root in TORCH_PACKAGES or (root == "seedge" and mod != "seedge" and not _in_zone(mod)):
                bad.append(f"{path.relative_to(ROOT.parent)}:{line} imports {mod}")
    assert bad == []


@pytest.mark.parametrize("module", ["seedge.runtime", "seedge.verify", "seedge.artifacts", "seedge.contract",
                                    "seedge.preprocess", "seedge.backends.onnxruntime",
                                    "seedge.backends.openvino", "seedge.backends.tensorrt", "seedge.cli"])
def test_torch_free_modules_import_where_torch_cannot(module):
    # A finder that refuses torch: importing it (directly or through a seedge module) fails.
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'torchvision', 'timm'):\n"
        "            raise ImportError('torch is blocked in this test')\n"
        "sys.meta_path.insert(0, Block())\n"
        f"import {module}\n"
        "assert 'torch' not in sys.modules\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
