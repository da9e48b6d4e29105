"""The torch-free device install, done with the README's own commands ("On a device") in a fresh
virtual environment:

    python -m pip wheel --no-deps -w dist .      (in a copy of this checkout)
    pip install --no-deps dist/seedge-*.whl      (in the fresh venv)
    pip install numpy pillow click onnxruntime   (the README's "or onnxruntime" choice)

then `seedge predict` and seedge.runtime classify the shared export's images there with the
answers of the full install, torch (or anything else of the toolchain) is nowhere, and the
toolchain commands say in one line what to install.

The lines are read from the README and run as written; only the environment makes them offline
(PIP_NO_INDEX, PIP_FIND_LINKS, PIP_NO_BUILD_ISOLATION: the wheel is built with this install's
setuptools) and pins the four packages to the versions of the full install running this test
(PIP_CONSTRAINT), so the two installs compute with the same libraries. The packages come from a
wheel folder (SEEDGE_WHEELHOUSE, default ~/.cache/seedge-test-wheels) that is filled from the
package index on first use; where neither has them the test skips and says why. Slow: a venv and a
few pip runs take a minute or more.
"""

from __future__ import annotations

import json
import os
import shlex
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


def readme_device_lines() -> list[str]:
    """The pip lines of the README's "On a device" Python block, comments stripped."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## On a device"):]
    block = section[section.index("```bash\n") + 8:]
    block = block[: block.index("```")]
    lines = [line.split("#")[0].strip() for line in block.splitlines()]
    return [line for line in lines if line.startswith(("python -m pip", "pip "))]


def fill_wheelhouse(house: Path, pins: list[str]) -> None:
    """The pinned packages' wheels in `house` (downloaded once; skip where the index is unreachable)."""
    probe = sh([sys.executable, "-m", "pip", "download", "-q", "--no-index", "--find-links", house, "--dest", house,
                "--only-binary", ":all:", *pins])
    if house.is_dir() and probe.returncode == 0:
        return
    house.mkdir(parents=True, exist_ok=True)
    # The same interpreter and platform as the venv, so the wheels fit it.
    got = sh([sys.executable, "-m", "pip", "download", "-q", "--only-binary", ":all:", "--dest", house, *pins],
             timeout=900)
    if got.returncode != 0:
        why = (got.stderr.strip().splitlines() or ["no detail"])[-1][:300]
        pytest.skip(f"{', '.join(pins)} are not in {house} and the package index is not reachable ({why})")


@pytest.fixture(scope="module")
def device_python(tmp_path_factory) -> Path:
    """The python of a fresh venv set up by the README's device lines (see the module docstring)."""
    root = tmp_path_factory.mktemp("device-install")
    wheel_line, seedge_line, packages_line = readme_device_lines()
    assert wheel_line == "python -m pip wheel --no-deps -w dist ." and "--no-deps dist/seedge-*.whl" in seedge_line
    assert packages_line == "pip install numpy pillow click openvino"
    packages_line = packages_line.replace("openvino", "onnxruntime")  # the README's "or onnxruntime"
    pins = [f"{name}=={version(name)}" for name in DEVICE_PACKAGES]
    house = wheelhouse()
    fill_wheelhouse(house, pins)
    (root / "constraints.txt").write_text("\n".join(pins) + "\n")
    env = {**device_env(), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(house), "PIP_NO_BUILD_ISOLATION": "0",
           "PIP_CONSTRAINT": str(root / "constraints.txt"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    # A copy of the checkout's package files: the build never writes into the working tree.
    src = root / "src"
    shutil.copytree(REPO / "seedge", src / "seedge", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    # `python` of the README's first line is the build machine's: this full install's.
    ok(sh(["bash", "-c", wheel_line.replace("python", shlex.quote(sys.executable), 1)], env=env, cwd=src))
    ok(sh([sys.executable, "-m", "venv", root / "venv"]))
    venv_env = {**env, "PATH": f"{root / 'venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"}
    ok(sh(["bash", "-c", seedge_line], env=venv_env, cwd=src))
    ok(sh(["bash", "-c", packages_line], env=venv_env, cwd=src))
    return root / "venv" / "bin" / "python"


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


@pytest.mark.parametrize("argv", [["models"], ["export", "--help"], ["verify", "FOLDER"], ["bench", "FOLDER"]])
def test_toolchain_commands_say_what_to_install_in_one_line(device_python, argv):
    argv = [export_folder() if a == "FOLDER" else a for a in argv]
    proc = device_run([device_python.parent / "seedge", *argv], device_python)
    if argv[-1] == "--help":  # help needs nothing more
        assert proc.returncode == 0, proc.stderr
        return
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "internal error" not in lines[0] and "pip install" in lines[0], lines[0]
