"""An artifact built for VNNI CPUs (build facts int8_cpu "vnni": 8-bit INT8 weights) is refused on
a CPU without VNNI/AMX, whose U8S8 kernels would saturate and answer wrong: open_artifact raises
Unavailable in one line (verify, bench and seedge.runtime all open through it), and the runtime's
automatic choice moves on to the next artifact. SEEDGE_CPU_NO_VNNI=1 makes this VNNI machine
answer as an AVX2-only one would. The files are the shared hand-built export's (real ONNX and
OpenVINO models); only the build facts say vnni, which is all the check reads.
"""

from __future__ import annotations

import pytest
from _export_fixtures import add_artifact, fresh_copy

from seedge import artifacts
from seedge.backends import cpu_features
from seedge.backends.open import open_artifact
from seedge.errors import Unavailable
from seedge.runtime import Model

VNNI = {"int8_cpu": "vnni", "weight_bits": 8}
PORTABLE = {"int8_cpu": "portable", "weight_bits": 7}


@pytest.fixture
def folder(tmp_path):
    """The export plus int8 entries whose build facts say vnni (the files are the FP32 ones)."""
    folder = fresh_copy(tmp_path)
    add_artifact(folder, "onnx-int8", "onnx", "int8", "model.onnx", "onnxruntime", dict(VNNI))
    add_artifact(folder, "openvino-int8", "openvino", "int8", "openvino/model.xml", "openvino", dict(VNNI))
    return folder


def _entry(folder, art_id):
    manifest = artifacts.read_manifest(folder)
    return manifest, next(a for a in manifest["artifacts"] if a["id"] == art_id)


@pytest.mark.parametrize("art_id, backend", [("onnx-int8", None), ("openvino-int8", None),
                                             ("onnx-int8", "openvino")])
def test_open_artifact_refuses_vnni_builds_without_vnni_in_one_line(folder, monkeypatch, art_id, backend):
    monkeypatch.setenv(cpu_features.NO_VNNI_ENV, "1")
    manifest, entry = _entry(folder, art_id)
    with pytest.raises(Unavailable) as e:
        open_artifact(folder, manifest, entry, backend_name=backend)
    assert str(e.value) == (f"{art_id}: built for CPUs with VNNI (8-bit INT8 weights saturate on this CPU's U8S8 "
                            f"kernels); export with --int8-cpu portable for it")


def test_portable_builds_open_without_vnni(folder, monkeypatch):
    monkeypatch.setenv(cpu_features.NO_VNNI_ENV, "1")
    add_artifact(folder, "onnx-int8", "onnx", "int8", "model.onnx", "onnxruntime", dict(PORTABLE))
    manifest, entry = _entry(folder, "onnx-int8")
    with open_artifact(folder, manifest, entry) as runner:
        assert runner is not None


def test_vnni_builds_open_on_a_vnni_cpu(folder):
    if not cpu_features.has_vnni():
        pytest.skip("this CPU has no AVX512-VNNI / AVX-VNNI / AMX-INT8")
    manifest, entry = _entry(folder, "openvino-int8")
    with open_artifact(folder, manifest, entry) as runner:
        assert runner is not None


def test_the_runtime_falls_to_the_next_artifact_without_vnni(folder, monkeypatch):
    if cpu_features.has_vnni():  # with VNNI the int8 artifact is the first choice
        with Model.open(folder) as m:
            assert m.artifact["id"] == "openvino-int8"
    monkeypatch.setenv(cpu_features.NO_VNNI_ENV, "1")
    with Model.open(folder) as m:
        assert m.artifact["id"] == "openvino-fp32"
    # Asked for by id, it is refused, not swapped.
    with pytest.raises(Unavailable, match="openvino-int8: built for CPUs with VNNI"):
        Model.open(folder, artifact="openvino-int8")


def test_a_backend_asked_for_still_gets_its_next_artifact(folder, monkeypatch):
    monkeypatch.setenv(cpu_features.NO_VNNI_ENV, "1")
    with Model.open(folder, backend="openvino") as m:
        assert m.artifact["id"] == "openvino-fp32"
    with Model.open(folder, backend="onnxruntime") as m:
        assert m.artifact["id"] == "onnx-fp32"
