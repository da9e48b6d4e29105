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
from seedge import hostcpu
from seedge.backends import cpu_features
from seedge.backends.open import open_artifact
from seedge.errors import SeedgeError, Unavailable
from seedge.runtime import Model, candidates

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
    monkeypatch.setenv(hostcpu.NO_VNNI_ENV, "1")
    manifest, entry = _entry(folder, art_id)
    with pytest.raises(Unavailable) as e:
        open_artifact(folder, manifest, entry, backend_name=backend)
    assert str(e.value) == (f"{art_id}: built for CPUs with VNNI (8-bit INT8 weights saturate on this CPU's U8S8 "
                            f"kernels); export with --int8-cpu portable for it")


def test_portable_builds_open_without_vnni(folder, monkeypatch):
    monkeypatch.setenv(hostcpu.NO_VNNI_ENV, "1")
    add_artifact(folder, "onnx-int8", "onnx", "int8", "model.onnx", "onnxruntime", dict(PORTABLE))
    manifest, entry = _entry(folder, "onnx-int8")
    with open_artifact(folder, manifest, entry) as runner:
        assert runner is not None


def test_vnni_builds_open_on_a_vnni_cpu(folder):
    if not hostcpu.has_vnni():
        pytest.skip("this CPU has no AVX512-VNNI / AVX-VNNI / AMX-INT8")
    manifest, entry = _entry(folder, "openvino-int8")
    with open_artifact(folder, manifest, entry) as runner:
        assert runner is not None


def test_the_runtime_falls_to_the_next_artifact_without_vnni(folder, monkeypatch):
    if hostcpu.has_vnni():  # with VNNI the int8 artifact is the first choice
        with Model.open(folder) as m:
            assert m.artifact["id"] == "openvino-int8"
    monkeypatch.setenv(hostcpu.NO_VNNI_ENV, "1")
    with Model.open(folder) as m:
        assert m.artifact["id"] == "openvino-fp32"
    # Asked for by id, it is refused, not swapped.
    with pytest.raises(Unavailable, match="openvino-int8: built for CPUs with VNNI"):
        Model.open(folder, artifact="openvino-int8")


def test_a_backend_asked_for_still_gets_its_next_artifact(folder, monkeypatch):
    monkeypatch.setenv(hostcpu.NO_VNNI_ENV, "1")
    with Model.open(folder, backend="openvino") as m:
        assert m.artifact["id"] == "openvino-fp32"
    with Model.open(folder, backend="onnxruntime") as m:
        assert m.artifact["id"] == "onnx-fp32"


# Build facts of an openvino-int8 exported before --int8-cpu existed, on a VNNI CPU, through the nncf
# route (seedge.quantize.openvino_int8 at 2668e14): no int8_cpu, but NNCF's overflow fix was off,
# so every layer has 8-bit weights. Through the qdq route its weights were onnx-int8's (7-bit).
LEGACY_NNCF = {"openvino": "2024.6.0", "route": "nncf", "inference_precision": "f32",
               "nncf": {"version": "2.14.0", "preset": "mixed", "overflow_fix": "disabled (CPU has VNNI)"}}


@pytest.mark.parametrize("facts, target", [
    (LEGACY_NNCF, "vnni"),
    ({**LEGACY_NNCF, "route": "qdq"}, None),
    ({**LEGACY_NNCF, "nncf": {"overflow_fix": "first layer"}}, None),
    ({**LEGACY_NNCF, "int8_cpu": "portable"}, "portable"),  # recorded: the record wins
    ({}, None)])
def test_the_int8_cpu_target_of_legacy_nncf_facts(facts, target):
    assert cpu_features.int8_cpu_target(facts) == target


def test_a_legacy_nncf_ir_with_8_bit_weights_is_refused_without_vnni(tmp_path, monkeypatch):
    folder = fresh_copy(tmp_path)
    add_artifact(folder, "openvino-int8", "openvino", "int8", "openvino/model.xml", "openvino", dict(LEGACY_NNCF))
    monkeypatch.setenv(hostcpu.NO_VNNI_ENV, "1")
    manifest, entry = _entry(folder, "openvino-int8")
    with pytest.raises(Unavailable, match="openvino-int8: built for CPUs with VNNI"):
        open_artifact(folder, manifest, entry)
    assert "openvino-int8" not in [a["id"] for a, _ in candidates(manifest)]
    with Model.open(folder) as m:
        assert m.artifact["id"] == "openvino-fp32"


def test_a_refused_artifact_lends_no_p50_and_alone_is_one_line(folder, monkeypatch):
    monkeypatch.setenv(hostcpu.NO_VNNI_ENV, "1")
    manifest = artifacts.read_manifest(folder)
    # onnx-int8's p50 would put the onnxruntime int8 group first; refused, it orders nothing
    got = [a["id"] for a, _ in candidates(manifest, p50={"onnx-int8": 0.1, "openvino-fp32": 2.0, "onnx-fp32": 1.0})]
    assert "onnx-int8" not in got and "openvino-int8" not in got
    only = {**manifest, "artifacts": [dict(a, parity={"passed": a["id"] in ("onnx-int8", "openvino-int8")})
                                      for a in manifest["artifacts"]]}
    with pytest.raises(SeedgeError) as e:
        candidates(only)
    assert str(e.value).endswith("export one or pass artifact=; onnx-int8: built for CPUs with VNNI (8-bit INT8 "
                                 "weights saturate on this CPU's U8S8 kernels); export with --int8-cpu portable "
                                 "for it")
