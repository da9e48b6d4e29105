"""The one table of backend facts. Every other module reads it; nothing repeats it.

A backend is named once here with: the runner that runs its artifacts (imported on first use,
so a missing optional package never breaks `seedge --help`), the Python package the runner
needs, the pip extra that installs it, the devices it executes on (the first is where it runs
when the asked-for device is not one of them), the artifact formats it can open, and whether it
runs where torch is not installed (the device runtime only uses those). Adding a backend is one
entry here plus its runner file (and its builder in seedge/export/builders.py); a backend that
reads an existing format (`reads`) needs no builder: `verify --backend` / `bench --backend` run it
on the files already there.

`RUNTIME_PREFERENCE` is the device runtime's static order of (backend, precision) groups,
expected fastest first among the artifacts that passed parity at export (an INT8/FP16 artifact
is only in the folder after passing its precision's parity thresholds, so preferring it is
safe). It is the fallback: the runtime orders by the p50s of the folder's bench.json where that
has usable ones (uncontended) and keeps this order for the rest and for ties (the rule in
seedge.bench_record).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from seedge.errors import SeedgeError, unknown

DEVICES = ("cpu", "cuda")  # device families; "cuda:N" picks a GPU within "cuda"


@dataclass(frozen=True)
class Backend:
    name: str
    runner: str  # "module:Class"
    package: str  # what the runner imports; "installed" means it can be found
    extra: str | None  # `pip install 'seedge[extra]'`; None: a core dependency of seedge
    devices: tuple[str, ...]  # execution devices, the first is its home
    reads: tuple[str, ...]  # artifact formats it opens ("eager": the folder's baseline model)
    torch_free: bool  # runs where `import torch` fails


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend(
            "torch",
            "seedge.backends.torch_eager:TorchEagerRunner",
            "torch",
            None,
            ("cpu", "cuda"),
            ("eager",),
            torch_free=False,
        ),
        Backend(
            "torchscript",
            "seedge.backends.torchscript:TorchScriptRunner",
            "torch",
            None,
            ("cpu", "cuda"),
            ("torchscript",),
            torch_free=False,
        ),
        Backend(
            "onnxruntime",
            "seedge.backends.onnxruntime:OnnxRuntimeRunner",
            "onnxruntime",
            None,
            ("cpu", "cuda"),
            ("onnx",),
            torch_free=True,
        ),
        Backend(
            "openvino",
            "seedge.backends.openvino:OpenVINORunner",
            "openvino",
            "openvino",
            ("cpu",),
            ("openvino", "onnx"),
            torch_free=True,
        ),
        Backend(
            "tensorrt",
            "seedge.backends.tensorrt:TensorRTRunner",
            "tensorrt",
            "tensorrt",
            ("cuda",),
            ("tensorrt",),
            torch_free=True,
        ),
        # AOTInductor packages load through torch (torch._inductor.aoti_load_package), so the
        # torch-free device runtime never picks them: they are not in RUNTIME_PREFERENCE.
        Backend(
            "inductor",
            "seedge.backends.inductor:InductorRunner",
            "torch",
            None,
            ("cpu", "cuda"),
            ("inductor",),
            torch_free=False,
        ),
    )
}

# Backends that open artifact files (torch reads only the folder's eager baseline): what
# `verify --backend` offers.
ARTIFACT_BACKENDS = tuple(name for name, b in BACKENDS.items() if set(b.reads) - {"eager"})

RUNTIME_PREFERENCE: dict[str, tuple[tuple[str, str], ...]] = {
    "cuda": (
        ("tensorrt", "int8"),
        ("tensorrt", "fp16"),
        ("tensorrt", "fp32"),
        ("onnxruntime", "fp16"),
        ("onnxruntime", "fp32"),
    ),
    "cpu": (
        ("openvino", "int8"),
        ("openvino", "fp32"),
        ("openvino", "fp16"),
        ("onnxruntime", "int8"),
        ("onnxruntime", "fp32"),
        ("onnxruntime", "fp16"),
    ),
}


def backend(name: str) -> Backend:
    if name not in BACKENDS:
        raise unknown("backend", name, BACKENDS)
    return BACKENDS[name]


def reads(name: str, artifact: dict) -> bool:
    """Whether backend `name` opens `artifact`'s file: its own backend, or a second reader of the
    same format (OpenVINO reads the ONNX files), which verify, bench and the runtime run without
    any builder writing a copy for it."""
    return artifact["format"] in backend(name).reads


def hardware_needs(name: str) -> str:
    """What a backend needs besides its package ("" when a CPU will do), for MissingBackend."""
    return "an NVIDIA GPU with its driver" if "cpu" not in backend(name).devices else ""


def installed(name: str) -> bool:
    return importlib.util.find_spec(backend(name).package) is not None


def installed_backends() -> list[str]:
    return [name for name in BACKENDS if installed(name)]


def device_family(device: str) -> str:
    """'cpu' -> cpu; 'cuda' / 'cuda:N' -> cuda; anything else is bad input."""
    d = str(device).strip().lower()
    if d == "cpu":
        return "cpu"
    if d == "cuda" or (d.startswith("cuda:") and d[5:].isdigit()):
        return "cuda"
    raise SeedgeError(f"device '{device}' is not one of cpu, cuda, cuda:N")


def runs_on(name: str, device: str) -> bool:
    return device_family(device) in backend(name).devices


def device_for(name: str, device: str, artifact: dict | None = None) -> str:
    """The device an artifact of backend `name` runs on when `device` is asked for: that device
    where the backend has it, else the backend's home (OpenVINO stays on the CPU in a CUDA run).
    An artifact compiled for one device family (its build facts' "device": an AOTInductor
    package) runs there, as OpenVINO stays on the CPU."""
    built_for = compiled_for(artifact)
    if built_for and built_for != device_family(device):
        return built_for
    return device if runs_on(name, device) else backend(name).devices[0]


def compiled_for(artifact: dict | None) -> str | None:
    """The device family an artifact was compiled for, when its build facts say (else None)."""
    return ((artifact or {}).get("build") or {}).get("device")
