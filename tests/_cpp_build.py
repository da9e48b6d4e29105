"""The C++ runtime (seedge/runtime/cpp) built once per test session for the modules that drive
its tools (tests/runtime/test_cpp_*.py, tests/contract/test_fuzz_contract.py). A module uses the
session fixture by naming it: `cpp_build = _cpp_build.cpp_build` (an assignment, so linters do not
read the test parameters as redefining an import).

Building takes a minute or more on two cores, so modules using it are marked slow;
SEEDGE_CPP_BUILD_DIR=<dir> reuses a build folder across sessions (for development).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "seedge" / "runtime" / "cpp"


def build_cpp(tmp_path_factory) -> Path:
    """The build folder holding seedge_classify and seedge_check, built or brought up to date."""
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            pytest.skip(f"building the C++ runtime needs {tool}, which is not on PATH")
    pytest.importorskip("openvino")
    build = Path(os.environ.get("SEEDGE_CPP_BUILD_DIR") or tmp_path_factory.getbasetemp() / "cpp-build")
    configure = ["cmake", "-S", str(SOURCE), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                 f"-DPython3_EXECUTABLE={sys.executable}"]
    for cmd in (configure, ["cmake", "--build", str(build), "-j", "2"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        if cmd is configure:
            # Without TensorRT the build says so and goes on; the contract header is generated
            # from this checkout's seedge/contract, not taken from the committed copy.
            assert "TensorRT not found: skipping" in proc.stdout or "TensorRT: " in proc.stdout, proc.stdout
            assert "seedge contract header: generated" in proc.stdout, proc.stdout
    return build


@pytest.fixture(scope="session")
def cpp_build(tmp_path_factory) -> Path:
    """The build folder holding seedge_classify and seedge_check (built once per session)."""
    return build_cpp(tmp_path_factory)
