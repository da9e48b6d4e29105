"""The C++ runtime's self-test (and --info) judges an artifact by the gates its parity record kept at
export, as seedge.runtime.Model does: the same thresholds and the same "thresholds_source", the
same fallback for an older manifest, and a malformed record refused with Python's words (exit 2).

On the two real exports of tests/_threshold_fixtures.py (random weights: fp16 gated on cosine, no
agreement gate; --max-drop: int8 gated on the drop). Builds the C++ runtime: marked slow.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import _cpp_build
import pytest
from _threshold_fixtures import MAX_DROP, copy_of, max_drop_export, random_weights_export

from seedge import artifacts
from seedge.errors import SeedgeError
from seedge.runtime import Model
from seedge.verify.parity import thresholds_for

pytestmark = pytest.mark.slow
cpp_build = _cpp_build.cpp_build  # the shared session fixture that builds the runtime


def classify(build: Path, folder: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(build / "seedge_classify"), str(folder), *map(str, args), "--threads", "1"],
                          capture_output=True, text=True, timeout=300)


def python_self_test(folder: Path, artifact: str) -> dict:
    with Model.open(folder, artifact=artifact, threads=1) as m:
        return m.self_test()


def _rewrite(folder: Path, change) -> None:
    manifest = json.loads((folder / artifacts.MANIFEST).read_text())
    change(manifest)
    (folder / artifacts.MANIFEST).write_text(json.dumps(manifest))


def _recorded(folder: Path, artifact: str) -> dict:
    return next(a for a in artifacts.read_manifest(folder)["artifacts"] if a["id"] == artifact)["parity"]["thresholds"]


@pytest.fixture(scope="module")
def random_folder() -> Path:
    return random_weights_export()


@pytest.mark.parametrize("artifact", ["openvino-fp16", "onnx-fp16", "openvino-fp32"])
def test_cpp_self_test_and_info_use_exactly_the_recorded_gates(cpp_build, random_folder, artifact):
    proc = classify(cpp_build, random_folder, "--self-test", "--artifact", artifact)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    recorded = _recorded(random_folder, artifact)
    want = python_self_test(random_folder, artifact)
    assert got["thresholds"] == recorded == want["thresholds"]
    assert got["thresholds_source"] == want["thresholds_source"] == "recorded"
    if artifact.endswith("fp16"):  # the random-weight gate: cosine, no agreement (the default would be 0.995)
        assert got["thresholds"]["min_agreement"] is None and got["thresholds"]["min_cosine"] == 0.99
    info = classify(cpp_build, random_folder, "--info", "--artifact", artifact)
    assert info.returncode == 0, info.stderr
    described = json.loads(info.stdout)
    assert described["thresholds"] == recorded and described["thresholds_source"] == "recorded"


def test_cpp_judges_by_the_record_and_only_it(cpp_build, random_folder, tmp_path):
    """A gate no output meets, recorded for one artifact: the C++ self-test fails it on that gate."""
    folder = copy_of(random_folder, tmp_path / "strict")
    _rewrite(folder, lambda m: next(a for a in m["artifacts"] if a["id"] == "openvino-fp16")["parity"][
        "thresholds"].update(min_cosine=1.5))
    proc = classify(cpp_build, folder, "--self-test", "--artifact", "openvino-fp16")
    got = json.loads(proc.stdout)
    assert proc.returncode == 1 and got["thresholds"]["min_cosine"] == 1.5
    assert got["reason"].startswith("cosine ") and got["reason"] == python_self_test(folder, "openvino-fp16")["reason"]


def test_cpp_falls_back_for_an_older_manifest_as_python(cpp_build, random_folder, tmp_path):
    folder = copy_of(random_folder, tmp_path / "old")

    def manifest_level(m):  # an export before per-artifact gates
        for a in m["artifacts"]:
            del a["parity"]["thresholds"]
        m["verification"]["thresholds"] = {"fp16": {"min_agreement": None, "min_cosine": 0.99}}

    _rewrite(folder, manifest_level)
    cases = [("openvino-fp16", "manifest (older export)"), ("openvino-fp32", "default (older export)")]
    for artifact, source in cases:
        got = json.loads(classify(cpp_build, folder, "--self-test", "--artifact", artifact).stdout)
        want = python_self_test(folder, artifact)
        assert got["thresholds"] == want["thresholds"]
        assert got["thresholds_source"] == want["thresholds_source"] == source
    assert got["thresholds"] == thresholds_for("fp32")
    _rewrite(folder, lambda m: m["verification"].pop("thresholds"))
    got = json.loads(classify(cpp_build, folder, "--self-test", "--artifact", "openvino-fp16").stdout)
    assert got["thresholds"] == thresholds_for("fp16") and got["thresholds_source"] == "default (older export)"


@pytest.mark.parametrize("recorded", [
    "0.99",
    {"min_agreement": None, "max_abs_diff": None, "max_rel_diff": None, "max_accuracy_drop": None, "min_cosin": 0.9},
    {"min_agreement": None, "max_abs_diff": None, "max_rel_diff": None, "max_accuracy_drop": None},
    {"min_agreement": True, "max_abs_diff": None, "max_rel_diff": None, "max_accuracy_drop": None, "min_cosine": 0.9},
    {"min_agreement": None, "max_abs_diff": None, "max_rel_diff": None, "max_accuracy_drop": None,
     "min_cosine": float("inf")},
])
def test_a_malformed_record_is_refused_in_pythons_words(cpp_build, random_folder, tmp_path, recorded):
    folder = copy_of(random_folder, tmp_path / "bad")
    _rewrite(folder, lambda m: next(a for a in m["artifacts"] if a["id"] == "openvino-fp16")["parity"].update(
        thresholds=recorded))
    with pytest.raises(SeedgeError) as e:
        python_self_test(folder, "openvino-fp16")
    proc = classify(cpp_build, folder, "--self-test", "--artifact", "openvino-fp16")
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(err) == 1 and str(e.value) in err[0], (proc.stderr, str(e.value))


def test_a_max_drop_export_self_tests_in_cpp_with_the_drop_it_recorded(cpp_build):
    folder = max_drop_export()
    proc = classify(cpp_build, folder, "--self-test", "--artifact", "onnx-int8")
    got = json.loads(proc.stdout)
    assert got["thresholds"] == _recorded(folder, "onnx-int8") == python_self_test(folder, "onnx-int8")["thresholds"]
    assert got["thresholds"]["max_accuracy_drop"] == MAX_DROP and got["thresholds_source"] == "recorded"
