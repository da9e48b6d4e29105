"""Open runners from an export folder: one per manifest artifact, plus the eager baseline.

First whether this CPU computes the artifact right (an INT8 build for VNNI CPUs is
Unavailable on others: seedge.backends.cpu_features), then integrity (every file inside the
folder, a regular file, with the bytes the manifest recorded: seedge.artifacts.check_integrity
/ contained_file), then the backend's Python package (a missing optional backend names the
extra to install), then the runner, given the build facts that change how it runs
(OpenVINO's inference precision).
"""

from __future__ import annotations

from pathlib import Path

from seedge.artifacts import check_integrity, contained_file
from seedge.backends.base import Runner, runner_class
from seedge.backends.cpu_features import check_int8_cpu
from seedge.backends.table import backend, hardware_needs, installed, reads
from seedge.errors import MissingBackend, SeedgeError
from seedge.trust import check_native

# Build facts a runner needs to run the artifact as it was built.
_RUN_OPTIONS = ("inference_precision",)


def require_backend(name: str) -> type[Runner]:
    """The runner class for backend `name`; MissingBackend when its optional package is absent."""
    facts = backend(name)
    if facts.extra and not installed(name):
        raise MissingBackend(name, facts.extra, f"`import {facts.package}` fails", needs=hardware_needs(name))
    try:
        return runner_class(name)
    except ImportError as e:
        if facts.extra:
            raise MissingBackend(name, facts.extra, str(e), needs=hardware_needs(name)) from None
        raise


def open_artifact(
    folder: str | Path,
    manifest: dict,
    artifact: dict,
    device: str = "cpu",
    threads: int | None = None,
    backend_name: str | None = None,
    trust_native: bool = False,
    **options,
) -> Runner:
    """A runner (not yet entered) for one manifest artifact: on its own backend, or on
    `backend_name` where that backend reads the artifact's format (OpenVINO reads ONNX files).
    A native artifact (seedge.trust) runs only if this machine built it or `trust_native`."""
    folder = Path(folder)
    name = backend_name or artifact["backend"]
    if not reads(name, artifact):
        raise SeedgeError(
            f"artifact '{artifact['id']}' ({artifact['format']}) cannot run on the '{name}' "
            f"backend, which reads {', '.join(backend(name).reads)}"
        )
    build = artifact.get("build") or {}
    # 8-bit INT8 weights on a CPU without VNNI/AMX: a wrong answer, refused before any file is read.
    check_int8_cpu(artifact["id"], build)
    path = check_integrity(folder, artifact)
    cls = require_backend(name)  # a backend missing here says so first: nothing would run anyway
    check_native(path, artifact, trust_native)  # its bytes are the manifest's: now whether they may run
    # Every runner gets the build facts (TensorRT checks them against this GPU); the few that
    # change how a runner runs are also passed by name.
    opts = {"build": build, **{k: build[k] for k in _RUN_OPTIONS if build.get(k) is not None}}
    if name == "openvino" and "inference_precision" not in opts:
        # An ONNX artifact read by OpenVINO records no inference precision, and the CPU plugin's
        # default is bf16 on CPUs with AVX512-BF16/AMX: not the artifact's parity (0.05 logit error
        # on the demo model). Exact f32 is what verify checked; the C++ runtime does the same.
        opts["inference_precision"] = "f32"
    opts.update(options)
    opts.setdefault("input_name", (manifest.get("input") or {}).get("name", "input"))
    return cls(path, device=device, threads=threads, **opts)


def open_baseline(
    folder: str | Path, manifest: dict, device: str = "cpu", threads: int | None = None, **options
) -> Runner:
    """The eager FP32 PyTorch model stored in the folder (`manifest["baseline"]["file"]`)."""
    folder = Path(folder)
    baseline = manifest.get("baseline") or {}
    if not baseline.get("file"):
        raise SeedgeError(f"{folder}: the manifest names no baseline model; re-run `seedge export`")
    if baseline.get("sha256"):
        path = check_integrity(folder, baseline, "baseline.file")
    else:  # hand-made folders may leave the hash out; the file must still be inside and regular
        path = contained_file(folder, baseline["file"], "baseline.file")
    # The torch runner reads the sidecar beside the weights (arch, class names, preprocessing).
    sidecar = Path(baseline["file"]).with_suffix(".json").as_posix()
    if (folder / sidecar).is_symlink() or (folder / sidecar).exists():
        contained_file(folder, sidecar, "baseline.sidecar")
    options.setdefault("input_name", (manifest.get("input") or {}).get("name", "input"))
    return runner_class("torch")(path, device=device, threads=threads, **options)
