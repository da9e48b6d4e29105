"""pytest-benchmark suite settings: which models, backends, precisions and batch sizes.

Each can come from a pytest option or an environment variable (option wins):

    --models      SEEDGE_BENCH_MODELS      default: se_resnet10_cifar_tiny (a short run)
    --backends    SEEDGE_BENCH_BACKENDS    default: every installed backend (torch = eager)
    --precisions  SEEDGE_BENCH_PRECISIONS  default: fp32
    --batches     SEEDGE_BENCH_BATCHES     default: 1
    --threads     SEEDGE_BENCH_THREADS     default: 2

Models are exported once with seedge's own pipeline (random weights, INT8 calibrated on
the built-in digits images) into benchmarks/.cache/exported/ and reused on later runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

_SETTINGS = {
    "models": ("SEEDGE_BENCH_MODELS", "se_resnet10_cifar_tiny"),
    "backends": ("SEEDGE_BENCH_BACKENDS", None),
    "precisions": ("SEEDGE_BENCH_PRECISIONS", "fp32"),
    "batches": ("SEEDGE_BENCH_BATCHES", "1"),
    "threads": ("SEEDGE_BENCH_THREADS", "2"),
}


def pytest_addoption(parser):
    group = parser.getgroup("seedge-bench")
    for name, (env, default) in _SETTINGS.items():
        group.addoption(f"--{name}", default=None, help=f"comma-separated; env {env}; default {default or 'all'}")


def setting(config, name: str) -> list[str]:
    env, default = _SETTINGS[name]
    value = config.getoption(f"--{name}") or os.environ.get(env) or default
    if value is None:
        from seedge.backends.table import installed_backends

        return installed_backends()
    return [v.strip() for v in str(value).split(",") if v.strip()]


def pytest_generate_tests(metafunc):
    if "case" not in metafunc.fixturenames:
        return
    cfg = metafunc.config
    cases = []
    for model in setting(cfg, "models"):
        for backend in setting(cfg, "backends"):
            # eager PyTorch is the FP32 baseline; it has no other precision
            for precision in (["fp32"] if backend == "torch" else setting(cfg, "precisions")):
                for batch in setting(cfg, "batches"):
                    cases.append((model, backend, precision, int(batch)))
    metafunc.parametrize("case", cases, ids=[f"{m}-{b}-{p}-b{n}" for m, b, p, n in cases])


@pytest.fixture(scope="session")
def threads(pytestconfig) -> int:
    return int(setting(pytestconfig, "threads")[0])


@pytest.fixture(scope="session")
def export_for(pytestconfig):
    """model name -> exported folder holding every requested backend x precision (built once)."""
    from _exports import BACKEND_FORMAT, exported_folder

    formats = [BACKEND_FORMAT[b] for b in setting(pytestconfig, "backends") if b in BACKEND_FORMAT]
    precisions = setting(pytestconfig, "precisions")
    folders = {}

    def get(model: str) -> Path:
        if model not in folders:
            folders[model] = exported_folder(model, formats or ["onnx"], precisions)
        return folders[model]

    return get
