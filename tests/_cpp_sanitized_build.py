"""The C++ runtime built with sanitizers, once per test session, for the fuzz tests that drive it
(tests/contract/test_cpp_sanitized_fuzz.py). The same CMake project and build steps as
tests/_cpp_build.py; only the compiler flags differ, passed on the cmake command line (the
project's CMakeLists stays as users build it).

- `ubsan`: -fsanitize=undefined with -fno-sanitize-recover=all, so the first undefined behaviour
  (a signed overflow in a size product, a misaligned read, a bad shift) aborts the tool with a
  report instead of printing and going on. Every tool, OpenVINO loaded too.
- `asan`: AddressSanitizer and UBSan together, for seedge_check's modes that never load an
  OpenVINO plugin (reading folders, choosing): OpenVINO's TBB refuses ASan's interposition when the
  plugin is dlopen'ed with RTLD_DEEPBIND, so a tool that runs a model gets `ubsan` only.

Building takes minutes on two cores (the OpenVINO headers): modules using these are marked slow.
SEEDGE_CPP_UBSAN_BUILD_DIR / SEEDGE_CPP_ASAN_BUILD_DIR=<dir> reuse a build folder across sessions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _cpp_build import SOURCE

FLAGS = {
    "ubsan": "-fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer",
    "asan": "-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer",
}
# What each build needs of the project: the asan one only seedge_check (see above).
TARGETS = {"ubsan": ["seedge_check", "seedge_classify"], "asan": ["seedge_check"]}
# Reports end the process with this code (not 1 or 2, which the tools use), and print a stack.
EXIT_CODE = 86
ENV = {
    "UBSAN_OPTIONS": f"print_stacktrace=1:halt_on_error=1:exitcode={EXIT_CODE}",
    # leaks of a process that exits right after are not the runtime's faults to find here
    "ASAN_OPTIONS": f"detect_leaks=0:abort_on_error=0:exitcode={EXIT_CODE}",
}


def build_sanitized(tmp_path_factory, kind: str) -> Path:
    """The build folder of the `kind` build ("ubsan" or "asan"), built or brought up to date."""
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            pytest.skip(f"building the C++ runtime needs {tool}, which is not on PATH")
    pytest.importorskip("openvino")
    given = os.environ.get(f"SEEDGE_CPP_{kind.upper()}_BUILD_DIR")
    build = Path(given or tmp_path_factory.getbasetemp() / f"cpp-{kind}")
    configure = ["cmake", "-S", str(SOURCE), "-B", str(build), "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                 f"-DCMAKE_CXX_FLAGS={FLAGS[kind]}", f"-DPython3_EXECUTABLE={sys.executable}"]
    for cmd in (configure, ["cmake", "--build", str(build), "-j", "2", "--target", *TARGETS[kind]]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if kind == "asan" and cmd is configure and proc.returncode != 0 and "sanitize" in proc.stdout + proc.stderr:
            pytest.skip(f"this toolchain cannot build with {FLAGS[kind]}: {proc.stderr[-400:]}")
        assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        if cmd is configure:
            assert "seedge contract header: generated" in proc.stdout, proc.stdout
    # The tools really carry the checks (a cached build folder configured without the flags would
    # make every fuzz run pass without looking).
    for tool in TARGETS[kind]:
        data = (build / tool).read_bytes()
        assert b"__ubsan_handle" in data and (kind != "asan" or b"__asan_" in data), f"{build / tool} is not {kind}"
    return build


def run_sanitized(build: Path, tool: str, *args, stdin: str = "", timeout: int = 300) -> subprocess.CompletedProcess:
    """`tool ARGS` from `build` with the sanitizers set to stop at the first report."""
    return subprocess.run([str(build / tool), *map(str, args)], input=stdin, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **ENV})


def reports(proc: subprocess.CompletedProcess) -> str:
    """The sanitizer reports in a run's stderr ('' when none)."""
    marks = ("runtime error:", "ERROR: AddressSanitizer", "ERROR: UndefinedBehaviorSanitizer", "SUMMARY: ")
    lines = [line for line in proc.stderr.splitlines() if any(m in line for m in marks)]
    if proc.returncode == EXIT_CODE or proc.returncode < 0:
        lines.append(f"exit {proc.returncode}: {proc.stderr[-3000:]}")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def cpp_ubsan(tmp_path_factory) -> Path:
    """The UBSan build folder (seedge_check, seedge_classify), built once per session."""
    return build_sanitized(tmp_path_factory, "ubsan")


@pytest.fixture(scope="session")
def cpp_asan(tmp_path_factory) -> Path:
    """The ASan+UBSan build folder (seedge_check only), built once per session."""
    return build_sanitized(tmp_path_factory, "asan")
