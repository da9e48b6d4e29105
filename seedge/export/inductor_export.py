"""AOTInductor export: torch.export -> `torch._inductor.aoti_compile_and_package` -> model.inductor.pt2.

The package holds the model compiled ahead of time into a shared library (C++/OpenMP kernels on
the CPU, Triton kernels on CUDA) plus its weights; `torch._inductor.aoti_load_package` runs it
without the model's Python code. It is torch's own engine: the torch-native choice on a GPU
machine without TensorRT, and on a CPU it is built, verified and benched like any other format.

The file is named model.inductor.pt2 so it never clashes with model.pt2 (the plain torch.export
program written beside model.ts). A package is compiled for one device family, one CPU
instruction set or GPU architecture, and one torch release: the build facts record all three and
seedge.backends.inductor checks them before it loads the package.
"""

from __future__ import annotations

import copy
import io
import logging
import platform
import shutil
import tempfile
import warnings
from contextlib import redirect_stdout
from pathlib import Path

from seedge.errors import SeedgeError, message_line

INDUCTOR_FILE = "model.inductor.pt2"
MAX_BATCH = 4096  # the dynamic batch range, as for the torch.export program (model.pt2)
# Kernels read the OpenMP thread count when they run (omp_get_max_threads), not the count
# torch had when they were compiled: so the runner's pinned thread count is what they use.
INDUCTOR_CONFIGS = {"cpp.dynamic_threads": True}


def export_inductor(model, path: str | Path, input_shape: tuple[int, int, int], device: str = "cpu") -> dict:
    """Compile `model` (eval mode, FP32, after passes; left unchanged) for `device` into `path`.

    Returns the build facts: method, torch version, device family (and the GPU name and compute
    capability on CUDA), machine and CPU instruction set, the dynamic batch range and the max
    abs difference from eager at a batch size the compile did not see.
    """
    import torch

    from seedge.backends.inductor import cpu_isa_here, package_facts, temp_root
    from seedge.backends.table import device_family
    from seedge.backends.torch_eager import torch_device

    path = Path(path)
    family = device_family(device)
    dev = torch_device(device if family == "cuda" else "cpu")
    if family == "cpu":
        _require_compiler()
    # A copy: the other builders of this export still trace the CPU model.
    module = copy.deepcopy(model).to(dev).eval() if family == "cuda" else model
    gen = torch.Generator().manual_seed(0)
    example = torch.randn(2, *input_shape, generator=gen).to(dev)  # batch 2: 1 would be specialized
    probe = torch.randn(3, *input_shape, generator=torch.Generator().manual_seed(1)).to(dev)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    with _quiet(), torch.no_grad(), _fp32_on_cuda(torch, family):
        try:
            program = torch.export.export(module, (example,), dynamic_shapes=({0: batch},))
            torch._inductor.aoti_compile_and_package(
                program, package_path=str(path), inductor_configs=dict(INDUCTOR_CONFIGS)
            )
            # Unpacked in a folder of seedge's own, gone afterwards even when the load fails.
            with tempfile.TemporaryDirectory(prefix="seedge-aoti-") as unpacked, temp_root(unpacked):
                compiled = torch._inductor.aoti_load_package(str(path))
                diff = float((compiled(probe) - module(probe)).abs().max())
                metadata = dict(compiled.get_metadata())
        except Exception as e:  # noqa: BLE001 - export/inductor/the C++ compiler raise many types
            path.unlink(missing_ok=True)
            raise SeedgeError(
                f"AOTInductor compile of {getattr(model, 'seedge_arch', 'the model')} for {family} "
                f"failed: {message_line(e)[:300]}"
            ) from None
    facts = {
        "method": "torch._inductor.aoti_compile_and_package",
        "torch": torch.__version__,
        "device": family,
        "machine": platform.machine(),
        "inductor_configs": dict(INDUCTOR_CONFIGS),
        "dynamic_batch": {"min": 1, "max": MAX_BATCH},
        "compile_max_abs_diff": diff,
        **package_facts(metadata),
    }
    if family == "cuda":
        facts["gpu"] = torch.cuda.get_device_name(dev)
        facts["compute_capability"] = "{}.{}".format(*torch.cuda.get_device_capability(dev))
    else:
        facts.setdefault("cpu_isa", cpu_isa_here())
    return facts


def _require_compiler() -> None:
    """AOTInductor compiles C++ on the CPU: no compiler is one line, not a compiler traceback."""
    from torch._inductor import config

    cxx = config.cpp.cxx  # inductor's own setting ($CXX when torch was imported, else g++)
    names = [c for c in (cxx if isinstance(cxx, (list, tuple)) else (cxx,)) if c]
    if not any(shutil.which(c) for c in names):
        raise SeedgeError(
            f"AOTInductor needs a C++ compiler to build a CPU package and "
            f"'{' or '.join(names) or 'g++'}' is not on PATH; install g++ (or set CXX), "
            f"or leave inductor out of --formats"
        )


class _fp32_on_cuda:
    """On CUDA, compile and probe with TF32 off: kernels are chosen, and the probe compared, in real
    FP32, as the eager baseline runs (seedge.backends.torch_eager)."""

    def __init__(self, torch, family: str):
        self.torch, self.on = torch, family == "cuda"

    def __enter__(self):
        if self.on:
            b = self.torch.backends
            self._saved = (b.cudnn.allow_tf32, b.cuda.matmul.allow_tf32)
            b.cudnn.allow_tf32 = b.cuda.matmul.allow_tf32 = False
        return self

    def __exit__(self, *exc):
        if self.on:
            b = self.torch.backends
            b.cudnn.allow_tf32, b.cuda.matmul.allow_tf32 = self._saved
        return False


class _quiet:
    """torch.export and inductor log and warn freely (no CUDA runtime, guard notes); keep
    seedge's stdout/stderr to its own lines, as export_pt2 does."""

    _loggers = ("torch._dynamo", "torch._inductor", "torch.export", "torch.utils.cpp_extension")

    def __enter__(self):
        self._levels = {n: logging.getLogger(n).level for n in self._loggers}
        for n in self._loggers:
            logging.getLogger(n).setLevel(logging.ERROR)
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("ignore")
        self._stdout = redirect_stdout(io.StringIO())
        self._stdout.__enter__()
        return self

    def __exit__(self, *exc):
        self._stdout.__exit__(*exc)
        self._warnings.__exit__(*exc)
        for n, level in self._levels.items():
            logging.getLogger(n).setLevel(level)
        return False
