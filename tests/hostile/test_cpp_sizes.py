"""Issue 22, cases 3 and 6 (sizes): a manifest's sizes are bounded by the contract
(seedge.contract.manifest: MAX_SIDE, MAX_INPUT_VALUES; a resize the crop fits in), so both runtimes
refuse the same hostile sizes in the same one line, before any work.

Case 3: input.shape ["batch", 4194304, 2097152, 2097152] crashed the C++ runtime (a signed
overflow in Model::image_floats(), then SIGFPE). Case 6: preprocessing.resize [100000, 100000]
made `seedge predict` hang and allocate. Each is checked in Python (Model.open, `seedge predict`)
and in C++ (seedge_classify, exit 2; slow: the build).

Case 11 (parts): the C++ runtime compares the manifest's input size with the IR's own when it opens
the artifact, as Python does; the raw reference facts and the sidecar digest readers rely on are
typed by the contract.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import _cpp_build
import numpy as np
import pytest
from _export_fixtures import fresh_copy
from _hostile import no_hang, one_line

from seedge.errors import SeedgeError
from seedge.runtime import Model

cpp_build = _cpp_build.cpp_build  # the C++ tests build the runtime (once per session): marked slow


def _set(doc: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        doc = doc[key]
    doc[last] = value


# (what is changed, the field the refusal names, a fragment of the refusal)
CASES = {
    "issue22-case3-input-shape": ({"input.shape": ["batch", 4194304, 2097152, 2097152]}, "input.shape", "1 .. 16384"),
    "input-values-past-the-bound": ({"input.shape": ["batch", 16384, 16384, 16384],
                                     "preprocessing.input_size": [16384, 16384, 16384]},
                                    "preprocessing.input_size", "C x H x W at most"),
    "fixed-batch-past-the-bound": ({"input.shape": [2 ** 31 - 1, 3, 32, 32]}, "input.shape", "1 .. 16384"),
    "issue22-case6-resize": ({"preprocessing.resize": [100000, 100000]}, "preprocessing.resize", "1 .. 16384"),
    "resize-smaller-than-the-crop": ({"preprocessing.resize": [8, 8]}, "preprocessing.resize",
                                     "smaller than the input H, W [32, 32]"),
    "raw-reference-count-overflows": ({"reference": {"file": "reference.npz", "raw": {"input": {
        "file": "reference/input.f32", "dtype": "float32", "shape": [2147483647] * 4}}}},
        "reference.raw.input.shape", "at most"),
}


@pytest.fixture
def hostile(request, tmp_path) -> tuple[Path, str, str]:
    """A copy of the shared export whose manifest carries the case's sizes (written as raw JSON:
    seedge's own writer is not the attacker)."""
    changes, field, fragment = CASES[request.param]
    folder = fresh_copy(tmp_path)
    doc = json.loads((folder / "manifest.json").read_text())
    assert doc["input"]["shape"][1:] == [3, 32, 32]  # the fragments above say 32 x 32
    for dotted, value in changes.items():
        _set(doc, dotted, value)
    (folder / "manifest.json").write_text(json.dumps(doc))
    return folder, field, fragment


@pytest.fixture
def image(tmp_path) -> Path:
    from PIL import Image

    path = tmp_path / "img.png"
    Image.fromarray(np.full((40, 40, 3), 128, np.uint8)).save(path)
    return path


@pytest.mark.parametrize("hostile", list(CASES), indirect=True)
def test_python_refuses_the_sizes_in_one_line(hostile, image, cli):
    folder, field, fragment = hostile
    with no_hang(60), pytest.raises(SeedgeError) as e:
        Model.open(folder)
    assert f"field '{field}'" in str(e.value) and fragment in str(e.value), e.value
    with no_hang(60):
        code, out, err = cli("predict", folder, image)
    assert code == 2 and out == ""
    one_line(err, str(folder / "manifest.json"), f"field '{field}'", fragment)


@pytest.mark.slow
@pytest.mark.parametrize("hostile", list(CASES), indirect=True)
def test_cpp_refuses_the_sizes_in_python_words(hostile, cpp_build):
    folder, field, fragment = hostile
    with pytest.raises(SeedgeError) as e:
        Model.open(folder)
    for mode in ("--info", "--self-test"):
        proc = subprocess.run([str(cpp_build / "seedge_classify"), str(folder), mode], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 2, (proc.returncode, proc.stderr)  # was -8 (SIGFPE) on case 3
        assert proc.stdout == ""
        line = one_line(proc.stderr, f"field '{field}'", fragment)
        assert line == f"seedge_classify: error: {e.value}"


@pytest.mark.slow
def test_cpp_refuses_a_manifest_input_size_the_artifact_lacks(tmp_path, cpp_build):
    """Issue 22, case 11 in C++: the 32x32 export whose manifest claims 64x64 images. The OpenVINO IR
    states its own static C, H, W; the runtime compares them with the manifest's when it opens the
    artifact, as Python's Model.open does (seedge.verify.shapes), in the same words."""
    folder = fresh_copy(tmp_path)
    doc = json.loads((folder / "manifest.json").read_text())
    doc["input"]["shape"] = ["batch", 3, 64, 64]
    doc["preprocessing"]["input_size"] = [3, 64, 64]
    (folder / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(SeedgeError) as e:
        Model.open(folder, artifact="openvino-fp32", threads=1)
    proc = subprocess.run([str(cpp_build / "seedge_classify"), str(folder), "--artifact", "openvino-fp32", "--info"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == "", (proc.returncode, proc.stdout, proc.stderr)
    line = one_line(proc.stderr, "[3, 32, 32]", "[3, 64, 64]")
    assert line == f"seedge_classify: error: {e.value}"


@pytest.mark.slow
@pytest.mark.parametrize(("field", "value", "fragment"), [
    ("byte_order", "big", 'is "big", the runtimes read "little"'),
    ("sha256", 5, "must be a non-empty string"),
])
def test_raw_reference_facts_both_runtimes_rely_on_are_checked(tmp_path, cpp_build, field, value, fragment):
    """Issue 22, case 11 (every field either runtime reads is checked): the raw reference files are
    read as little-endian by the C++ runtime; a manifest saying otherwise is refused by both."""
    folder = fresh_copy(tmp_path)
    doc = json.loads((folder / "manifest.json").read_text())
    doc["reference"] = {"file": "reference.npz", "raw": {"input": {
        "file": "reference/input.f32", "dtype": "float32", "byte_order": "little", "shape": [4, 3, 32, 32]}}}
    doc["reference"]["raw"]["input"][field] = value
    (folder / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(SeedgeError) as e:
        Model.open(folder)
    assert f"field 'reference.raw.input.{field}' {fragment}" in str(e.value), e.value
    proc = subprocess.run([str(cpp_build / "seedge_classify"), str(folder), "--info"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and one_line(proc.stderr) == f"seedge_classify: error: {e.value}"


def test_a_baseline_sidecar_digest_that_is_no_string_is_refused(tmp_path, cli):
    """baseline.sidecar_sha256, which verify and bench check the sidecar by, is typed by the contract
    (a number there was taken for a digest that never matches: 'sha256 differs', blaming the file)."""
    folder = fresh_copy(tmp_path)
    doc = json.loads((folder / "manifest.json").read_text())
    doc["baseline"]["sidecar_sha256"] = 5
    (folder / "manifest.json").write_text(json.dumps(doc))
    code, out, err = cli("verify", folder, "--artifact", "onnx-fp32")
    assert code == 2 and out == ""
    one_line(err, "field 'baseline.sidecar_sha256' must be a non-empty string")
