"""The C++ runtime installs as a CMake package: `cmake --install` of the build into a fresh prefix,
then a tiny project of its own that says only `find_package(seedge)` and links `seedge::runtime`
builds against the installed headers and library (not the source tree) and runs the shared test
export (tests/_export_fixtures.py with the raw reference files): its self-test equals the Python
runtime's, and the typed errors reach it (a changed artifact is a seedge::IntegrityError, a
failed self-test a seedge::CheckFailed). The JSON reader stays inside: the installed headers do
not include it.

Builds the runtime and a consumer: marked slow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import _cpp_build
import pytest
from _export_fixtures import add_artifact, fresh_copy

from seedge import artifacts
from seedge.export.reference import write_raw_reference
from seedge.runtime import Model

pytestmark = pytest.mark.slow
cpp_build = _cpp_build.cpp_build  # the shared session fixture that builds the runtime

CONSUMER_CMAKE = """\
cmake_minimum_required(VERSION 3.16)
project(seedge_consumer LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(seedge 0.1 REQUIRED)
add_executable(consumer main.cpp)
target_link_libraries(consumer PRIVATE seedge::runtime)
"""

# consumer FOLDER [ARTIFACT [DEVICE]]. Exit codes say which typed error arrived: 3 integrity, 4 check
# failed, 5 needs VNNI, 6 unavailable, 2 any other seedge::Error.
CONSUMER_MAIN = """\
#include <cstdio>
#include <seedge/runtime.hpp>

int main(int argc, char** argv) {
    if (argc < 2 || argc > 4) return 64;
    try {
        seedge::Options options;
        options.threads = 1;
        if (argc > 2) options.artifact = argv[2];
        if (argc > 3) options.device = argv[3];
        seedge::Model model = seedge::Model::open(argv[1], options);
        seedge::SelfTest result = model.self_test();
        std::puts(result.to_json().c_str());
        result.require_passed();
        return 0;
    } catch (const seedge::IntegrityError& e) {
        std::fprintf(stderr, "integrity: %s\\n", e.what());
        return 3;
    } catch (const seedge::CheckFailed& e) {
        std::fprintf(stderr, "check failed: %s\\n", e.what());
        return 4;
    } catch (const seedge::NeedsVnni& e) {  // before Unavailable, its base
        std::fprintf(stderr, "needs vnni: %s\\n", e.what());
        return 5;
    } catch (const seedge::Unavailable& e) {
        std::fprintf(stderr, "unavailable: %s\\n", e.what());
        return 6;
    } catch (const seedge::Error& e) {
        std::fprintf(stderr, "error: %s\\n", e.what());
        return 2;
    }
}
"""


def _run(cmd: list, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=900, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def consumer(cpp_build, tmp_path_factory) -> Path:
    """The consumer built against an installed seedge (its executable)."""
    import openvino

    root = tmp_path_factory.mktemp("cpp-install")
    prefix, src, build = root / "prefix", root / "consumer", root / "consumer-build"
    _run(["cmake", "--install", cpp_build, "--prefix", prefix])
    installed = sorted(p.relative_to(prefix).as_posix() for p in prefix.rglob("*") if p.is_file())
    assert "include/seedge/runtime.hpp" in installed and "include/seedge/error.hpp" in installed, installed
    assert not any(p.endswith("json.hpp") or p.endswith("seedge_contract.hpp") for p in installed), installed
    assert any(p.endswith("/cmake/seedge/seedgeConfig.cmake") for p in installed), installed
    src.mkdir()
    (src / "CMakeLists.txt").write_text(CONSUMER_CMAKE)
    (src / "main.cpp").write_text(CONSUMER_MAIN)
    ov_cmake = Path(openvino.__file__).parent / "cmake"
    _run(["cmake", "-S", src, "-B", build, "-DCMAKE_BUILD_TYPE=Release", f"-DCMAKE_PREFIX_PATH={prefix}",
          f"-DOpenVINO_DIR={ov_cmake}", f"-DPython3_EXECUTABLE={sys.executable}"])
    _run(["cmake", "--build", build, "-j", "2"])
    return build / "consumer"


@pytest.fixture
def folder(tmp_path) -> Path:
    """A copy of the shared export with the raw reference files the export stage writes."""
    folder = fresh_copy(tmp_path)
    manifest = artifacts.read_manifest(folder)
    ref = artifacts.read_reference(folder, manifest)
    manifest["reference"] = {"file": artifacts.REFERENCE, "raw": write_raw_reference(folder, ref)}
    artifacts.write_manifest(folder, manifest)
    return folder


def consume(consumer: Path, folder: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(consumer), str(folder), *args], capture_output=True, text=True, timeout=300,
                          env=env)


def test_an_installed_seedge_is_found_linked_and_self_tests_as_python(consumer, folder):
    proc = consume(consumer, folder)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    with Model.open(folder, backend="openvino", threads=1) as m:
        want = m.self_test()
    assert got["artifact"] == want["artifact"] and got["passed"] is True
    assert got["thresholds"] == want["thresholds"] and got["thresholds_source"] == want["thresholds_source"]


def test_typed_errors_reach_the_consumer(consumer, folder):
    manifest = artifacts.read_manifest(folder)
    chosen = json.loads(consume(consumer, folder).stdout)["artifact"]
    entry = next(a for a in manifest["artifacts"] if a["id"] == chosen)
    # a gate no output meets: the self-test fails, a CheckFailed
    entry["parity"] = {"passed": True, "thresholds": {"min_agreement": None, "max_abs_diff": None, "max_rel_diff": None,
                                                      "max_accuracy_drop": None, "min_cosine": 1.5}}
    artifacts.write_manifest(folder, manifest)
    proc = consume(consumer, folder)
    assert proc.returncode == 4 and proc.stderr.startswith("check failed: self-test failed: cosine "), proc.stderr
    # a changed artifact file: an IntegrityError naming it
    target = folder / entry["file"]
    target = target.with_suffix(".bin") if target.suffix == ".xml" else target
    target.write_bytes(target.read_bytes()[:-1] + b"\0")
    proc = consume(consumer, folder)
    assert proc.returncode == 3 and "sha256 differs from the manifest" in proc.stderr, proc.stderr


def test_unavailable_and_needs_vnni_reach_the_consumer(consumer, folder):
    # SEEDGE_CPU_NO_VNNI=1: this machine answers as a CPU without VNNI/AMX (as in test_cpp_runtime)
    add_artifact(folder, "openvino-int8", "openvino", "int8", "openvino/model.xml", "openvino",
                 {"int8_cpu": "vnni", "weight_bits": 8})
    proc = consume(consumer, folder, "openvino-int8", env={**os.environ, "SEEDGE_CPU_NO_VNNI": "1"})
    assert proc.returncode == 5 and "openvino-int8: built for CPUs with VNNI" in proc.stderr, proc.stderr
    config = next((consumer.parents[1] / "prefix").rglob("seedgeConfig.cmake")).read_text()
    if "set(SEEDGE_WITH_TENSORRT OFF)" in config:
        proc = consume(consumer, folder, "", "cuda")  # a build without its TensorRT path
        assert proc.returncode == 6 and "needs the C++ runtime's TensorRT path" in proc.stderr, proc.stderr
