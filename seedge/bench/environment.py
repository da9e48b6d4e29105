"""Facts about the machine a benchmark ran on, so numbers can be read in context.

Versions come from package metadata (no heavy imports); the GPU name is asked of torch
only when the run uses CUDA, or of `nvidia-smi` when it is on PATH.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata

from seedge import hostcpu

_PACKAGES = ("torch", "onnxruntime", "openvino", "tensorrt", "numpy", "onnx")


def cpu_info(path: str | None = None) -> dict:
    """CPU model name, logical CPUs, physical cores, the CPUs this process may use and the ISA
    flags that decide kernels (seedge.hostcpu; `path`: another cpuinfo file to read instead)."""
    info = hostcpu.cpuinfo() if path is None else hostcpu.read_cpuinfo(path)
    logical = os.cpu_count() or 1
    return {
        "cpu_model": info.model or platform.processor() or platform.machine(),
        "logical_cpus": logical,
        "physical_cores": info.physical_cores or logical,
        "cpus_available": hostcpu.available_cpus(),
        "isa": hostcpu.isa(info),
    }


def package_versions() -> dict:
    out: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def gpu_name(device: str = "cpu") -> str | None:
    """Name of the GPU the run used (CUDA), or of the first GPU nvidia-smi reports, else None."""
    if str(device).startswith("cuda"):
        try:
            import torch

            if torch.cuda.is_available():
                return torch.cuda.get_device_name(torch.device(device))
        except Exception:  # noqa: BLE001 - a broken CUDA install is reported as "no GPU"
            pass
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run(
                [smi, "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=10
            )
            names = [n.strip() for n in out.stdout.splitlines() if n.strip()]
            return names[0] if names else None
        except (OSError, subprocess.SubprocessError):
            return None
    return None


def environment(device: str = "cpu", threads: int | None = None) -> dict:
    """Everything a reader needs to judge a table: CPU, threads, load, versions, GPU."""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        **cpu_info(),
        "threads": threads,
        "device": device,
        "gpu": gpu_name(device),
        # the 1-minute load average counts this process too; seedge bench adds load_fields()
        "load_average": load,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": package_versions(),
    }


def load_fields(report: dict) -> dict:
    """The environment's load fields from seedge.bench.load.LoadMonitor.report(): the verdict
    (`contended`), the headline figures (cores other processes used, steal share, free cores,
    load average), then the whole report (per-round windows included) under `load`."""
    before, during = report["before"] or {}, report["during"] or {}
    return {
        "contended": report["contended"],
        "contention_rule": report["rule"],
        "load_average": report["load_average_before"],
        "load_average_after": report["load_average_after"],
        "other_cores_before": before.get("other_cores"),
        "other_cores_during": during.get("other_cores"),
        "steal_share_before": before.get("steal_share"),
        "steal_share_during": during.get("steal_share"),
        "free_cores": before.get("free_cores"),
        "load": report,
    }
