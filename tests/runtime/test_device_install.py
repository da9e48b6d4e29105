"""The torch-free device install, done the README's way in a fresh virtual environment:

    pip install --no-deps seedge                        (a wheel built from this checkout)
    pip install numpy pillow click onnxruntime

then `seedge predict` and seedge.runtime classify the shared export's images there with the
answers of the full install, and torch (or anything else of the toolchain) is nowhere.

The four packages are pinned to the versions of the full install running this test, so the
two installs compute with the same libraries. They are installed offline from a wheel folder
(SEEDGE_WHEELHOUSE, default ~/.cache/seedge-test-wheels) that is filled from the package index
on first use; where neither has them the test skips and says why. Slow: a venv and a few pip
runs take a minute or more.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from _export_fixtures import export_folder

from seedge.runtime import Model

pytestmark = pytest.mark.slow

PIL = pytest.importorskip("PIL.Image")
REPO = Path(__file__).resolve().parents[2]
DEVICE_PACKAGES = ("numpy", "pillow", "click", "onnxruntime")  # the README's second line
TOOLCHAIN_ONLY = ("torch", "torchvision", "rich", "onnx", "safetensors", "scikit-learn", "matplotlib", "openvino")


def sh(cmd, timeout: int = 600, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"{' '.join(proc.args)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def wheelhouse() -> Path:
    return Path(os.environ.get("SEEDGE_WHEELHOUSE") or Path.home() / ".cache" / "seedge-test-wheels")


def build_wheel(dist: Path, src: Path) -> Path:
    """seedge's wheel from a copy of the checkout's package files (the build never writes into the
    working tree, which other processes may be using)."""
    shutil.copytree(REPO / "seedge", src / "seedge", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    ok(sh([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
           "-w", dist, src]))
    (wheel,) = dist.glob("seedge-*.whl")
    return wheel


@pytest.fixture(scope="module")
def device_python(tmp_path_factory) -> Path:
    """The python of a fresh venv holding seedge (no dependencies) and the four device packages."""
    root = tmp_path_factory.mktemp("device-install")
    wheel = build_wheel(root / "dist", root / "src")
    ok(sh([sys.executable, "-m", "venv", root / "venv"]))
    py = root / "venv" / "bin" / "python"
    ok(sh([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel]))
    pins = [f"{name}=={version(name)}" for name in DEVICE_PACKAGES]
    house = wheelhouse()
    offline = [py, "-m", "pip", "install", "-q", "--no-index", "--find-links", house, *pins]
    if not house.is_dir() or sh(offline).returncode != 0:
        house.mkdir(parents=True, exist_ok=True)
        # The same interpreter and platform as the venv, so the wheels fit it.
        got = sh([sys.executable, "-m", "pip", "download", "-q", "--only-binary", ":all:", "--dest", house, *pins],
                 timeout=900)
        if got.returncode != 0:
            why = (got.stderr.strip().splitlines() or ["no detail"])[-1][:300]
            pytest.skip(f"{', '.join(pins)} are not in {house} and the package index is not reachable ({why})")
        ok(sh(offline))
    return py


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("device-images")
    rng = np.random.default_rng(11)
    paths = []
    for i in range(4):
        paths.append(root / f"img{i}.png")
        PIL.fromarray(rng.integers(0, 256, (28 + 5 * i, 37, 3), dtype=np.uint8)).save(paths[-1])
    return paths


def device_env() -> dict:
    # Nothing of the checkout or the full install may leak in: no PYTHONPATH, no user site
    # (and device_run starts outside the checkout: `python -c` puts the working folder first on sys.path).
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def device_run(cmd: list, device_python: Path) -> subprocess.CompletedProcess:
    """`cmd` (the device venv's python or scripts) with device_env, from the venv's own folder."""
    return sh(cmd, env=device_env(), cwd=device_python.parents[1])


def test_the_device_install_holds_no_toolchain_package(device_python):
    listed = json.loads(ok(sh([device_python, "-m", "pip", "list", "--format", "json"])).stdout)
    names = {p["name"].lower() for p in listed}
    assert "seedge" in names and set(DEVICE_PACKAGES) <= names
    assert names & set(TOOLCHAIN_ONLY) == set()
    proc = device_run([device_python, "-c", "import torch"], device_python)
    assert proc.returncode != 0 and "No module named 'torch'" in proc.stderr
    # seedge comes from the venv, not from the checkout.
    where = ok(device_run([device_python, "-c", "import seedge; print(seedge.__file__)"], device_python)).stdout
    assert str(device_python.parents[1]) in where


def test_seedge_predict_in_the_device_install_answers_as_the_full_install(device_python, images):
    folder = export_folder()
    seedge = device_python.parent / "seedge"
    proc = ok(device_run([seedge, "predict", folder, *images, "--json", "--top-k", 3, "--threads", 1], device_python))
    doc = json.loads(proc.stdout)
    # Without OpenVINO the runtime's choice moves on to the ONNX Runtime artifact.
    assert doc["artifact"] == "onnx-fp32" and doc["backend"] == "onnxruntime"
    with Model.open(folder, artifact="onnx-fp32", threads=1) as m:
        want = m.classify([str(p) for p in images], top_k=3)
    assert [p["image"] for p in doc["predictions"]] == [str(p) for p in images]
    for pred, top in zip(doc["predictions"], want):
        assert [t["label"] for t in pred["top_k"]] == [name for name, _ in top]
        np.testing.assert_allclose([t["probability"] for t in pred["top_k"]], [p for _, p in top], rtol=0, atol=1e-6)
    # Every command still loads (`seedge --help`) where only the device packages are installed.
    help_text = ok(device_run([seedge, "--help"], device_python)).stdout
    assert "predict" in help_text and "export" in help_text


def test_the_runtime_self_test_passes_in_the_device_install(device_python):
    code = ("import json, sys\n"
            "from seedge.runtime import Model\n"
            "with Model.open(sys.argv[1], threads=1) as m:\n"
            "    print(json.dumps(m.self_test()))\n"
            "import seedge\n"
            "print(json.dumps(sorted(k for k in sys.modules if k.split('.')[0] in ('torch', 'rich', 'onnx'))))\n"
            "print(seedge.__file__)\n")
    out = ok(device_run([device_python, "-c", code, export_folder()], device_python)).stdout.splitlines()
    result, heavy, where = json.loads(out[0]), json.loads(out[1]), out[2]
    assert result["artifact"] == "onnx-fp32" and result["passed"] is True, result
    assert heavy == [] and str(device_python.parents[1]) in where
