"""AOTInductor packages (model.inductor.pt2), run with `torch._inductor.aoti_load_package`.

The package is a compiled shared library plus weights; loading it needs torch but not the
model's Python code. It was compiled for one device family, one torch release and, on the CPU,
one instruction set (on CUDA, one GPU architecture): those build facts, recorded by
seedge.export.inductor_export, are checked here before the package is loaded, so a package from
another machine or another torch is one clear line instead of a crash inside the library
(a CPU package built with AVX-512 dies with SIGILL on an AVX2-only CPU).

Threads are pinned like the eager runner's: torch's intra-op pool (and OpenMP, which the
package's kernels read when they run, because they are compiled with dynamic threads) is set
to `threads` while the runner is open and restored on close.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import tempfile
from contextlib import contextmanager

from seedge.backends.table import device_family
from seedge.backends.torch_eager import TorchModuleRunner
from seedge.errors import SeedgeError, message_line

# Package instruction-set words (AOTI_CPU_ISA, e.g. "AVX512 AVX512_VNNI") -> the CPU features
# (torch.cpu.get_capabilities keys) they compile for; other words are their own feature name.
_ISA_FEATURES = {"AVX512": ("avx512_f", "avx512_dq", "avx512_vl", "avx512_bw")}


def cpu_isa_here() -> str:
    """What this CPU offers, as torch reads it from cpuinfo (no compile): AVX2, AVX512, DEFAULT..."""
    import torch

    return str(torch.backends.cpu.get_cpu_capability()).upper()


def package_facts(metadata: dict) -> dict:
    """The facts of a loaded package's own metadata (AOTI_*) that say where it can run."""
    out = {}
    if metadata.get("AOTI_CPU_ISA"):
        out["cpu_isa"] = str(metadata["AOTI_CPU_ISA"]).upper()
    if metadata.get("AOTI_DEVICE_KEY"):
        out["device_key"] = str(metadata["AOTI_DEVICE_KEY"])
    return out


def missing_cpu_features(isa: str) -> list[str]:
    """The CPU features a package compiled for `isa` uses and this CPU lacks (none: it runs here).
    A feature torch does not report (NEON on ARM...) is not held against it: the machine check
    (x86_64 / aarch64) covers those."""
    import torch

    caps = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
    missing = []
    for word in str(isa).upper().split():
        missing += [f for f in _ISA_FEATURES.get(word, (word.lower(),)) if caps.get(f) is False]
    return missing


def _release(version: str) -> str:
    """'2.14.1+cu130' -> '2.14.1': CPU and CUDA builds of one release share the package ABI."""
    return str(version).split("+", 1)[0]


class InductorRunner(TorchModuleRunner):
    """Options: `build` (the manifest's build facts for the artifact; open_artifact passes them),
    `tf32` (CUDA, default False: the package's convolutions call cuDNN, which reads torch's TF32
    switch when it runs; off, real FP32, as the eager baseline runs). Threads, TF32, the input's
    device move and the CUDA sync are the eager runner's (TorchModuleRunner)."""

    name = "inductor"

    def _check_build(self, torch) -> None:
        """Refuse, in one line, a package this torch or this device cannot run."""
        build = self.options.get("build") or {}
        family = device_family(self.device)
        built_for = build.get("device")
        if built_for and built_for != family:
            raise SeedgeError(
                f"{self.path}: this AOTInductor package was compiled for {built_for}, not {family}; "
                f"run it with --device {built_for} or re-export with `seedge export --formats "
                f"inductor --device {family}`"
            )
        built_torch = build.get("torch")
        if built_torch and _release(built_torch) != _release(torch.__version__):
            raise SeedgeError(
                f"{self.path}: this AOTInductor package was built by torch {built_torch} and this is "
                f"torch {torch.__version__}; re-export it with this torch (`seedge export --formats "
                f"inductor`)"
            )
        machine = build.get("machine")
        if machine and machine != platform.machine():
            raise SeedgeError(
                f"{self.path}: this AOTInductor package was compiled for {machine} and this machine "
                f"is {platform.machine()}; re-export it here"
            )
        missing = missing_cpu_features(build["cpu_isa"]) if family == "cpu" and build.get("cpu_isa") else []
        if missing:
            raise SeedgeError(
                f"{self.path}: this AOTInductor package was compiled for {build['cpu_isa']} and this "
                f"CPU lacks {', '.join(missing)} ({cpu_isa_here()}); re-export it on this machine"
            )
        if family == "cuda" and build.get("compute_capability"):
            here = "{}.{}".format(*torch.cuda.get_device_capability(self._device))
            if here != build["compute_capability"]:
                raise SeedgeError(
                    f"{self.path}: this AOTInductor package was compiled for compute capability "
                    f"{build['compute_capability']} ({build.get('gpu', 'another GPU')}) and this GPU "
                    f"is {here}; re-export it on this GPU"
                )

    def _load_module(self, device):
        import torch

        self._check_build(torch)
        if not self.path.is_file():
            raise SeedgeError(f"{self.path}: no such AOTInductor package; re-run `seedge export --formats inductor`")
        index = device.index if device.index is not None else -1
        # The loader logs its own warnings (e.g. "Loading outdated pt2 file" for a damaged one) before
        # raising; the one line below says it for seedge.
        log = logging.getLogger("torch._inductor.package")
        level = log.level
        log.setLevel(logging.ERROR)
        self._unpacked = tempfile.mkdtemp(prefix="seedge-aoti-")
        try:
            with temp_root(self._unpacked):
                package = torch._inductor.aoti_load_package(str(self.path), device_index=index)
        except Exception as e:  # noqa: BLE001 - the loader raises RuntimeError/zip/OS errors
            raise SeedgeError(
                f"{self.path}: not a loadable AOTInductor package ({message_line(e)[:200]}); "
                f"re-run `seedge export --formats inductor`"
            ) from None
        finally:
            log.setLevel(level)
        self._metadata = dict(package.get_metadata())
        return package

    def close(self) -> None:
        super().close()
        # The loader unpacks the package under $TMPDIR (aotinductor_XXXXXX) and leaves it there when
        # a load fails; seedge's own folder for it goes, whatever happened, when the runner closes
        # (a failed open closes it too: TorchModuleRunner._load).
        if getattr(self, "_unpacked", None):
            shutil.rmtree(self._unpacked, ignore_errors=True)
            self._unpacked = None

    def describe(self) -> dict:
        d = super().describe()
        build = self.options.get("build") or {}
        d.update({k: build[k] for k in ("torch", "cpu_isa", "gpu", "compute_capability") if build.get(k)})
        d.update(package_facts(getattr(self, "_metadata", {}) or {}))
        return d


@contextmanager
def temp_root(folder: str):
    """$TMPDIR is `folder` inside (the C++ package loader unpacks under it), restored after."""
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = folder
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved
