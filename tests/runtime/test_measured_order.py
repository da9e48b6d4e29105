"""The runtime orders its choice by `seedge bench`'s measured p50 (the rule in seedge.bench_record).

The rule on manifest entries first (candidates() is a pure function of the entries, the flags
and the p50s), then Model.open on a real export folder with a bench.json written beside it:
which artifact opens and what describe() says about why. The C++ runtime's agreement with
this is checked in test_cpp_runtime.py.
"""

from __future__ import annotations

import json

import pytest
from _export_fixtures import fresh_copy

from seedge.bench_record import BENCH_RECORD
from seedge.runtime import Model, candidates


def _art(i, fmt, precision, backend, raw=False):
    entry = {"id": i, "format": fmt, "precision": precision, "backend": backend, "parity": {"passed": True}}
    if raw:  # the preprocessing inside: uint8 NHWC pixels in
        entry["input"] = {"dtype": "uint8", "layout": "NHWC", "color_order": "RGB"}
    return entry


MANIFEST = {"name": "m", "artifacts": [
    _art("openvino-fp32", "openvino", "fp32", "openvino"), _art("onnx-fp32", "onnx", "fp32", "onnxruntime"),
    _art("onnx-fp32-raw", "onnx", "fp32", "onnxruntime", raw=True),
    _art("openvino-int8", "openvino", "int8", "openvino"), _art("onnx-int8", "onnx", "int8", "onnxruntime"),
    _art("onnx-fp16", "onnx", "fp16", "onnxruntime"),
    _art("tensorrt-int8", "tensorrt", "int8", "tensorrt"), _art("tensorrt-fp32", "tensorrt", "fp32", "tensorrt"),
]}
# RUNTIME_PREFERENCE on the cpu: openvino int8, fp32, fp16, then onnxruntime int8, fp32, fp16
STATIC = ["openvino-int8", "openvino-fp32", "onnx-int8", "onnx-fp32-raw", "onnx-fp32", "onnx-fp16"]


def order(**kw) -> list[str]:
    return [a["id"] for a, _ in candidates(MANIFEST, **kw)]


def test_without_p50_the_order_is_the_static_preference():
    assert order() == order(p50={}) == STATIC
    assert order(p50={"eager": 0.1, "nope": 0.1}) == STATIC  # ids that are no artifact: nothing measured


def test_measured_groups_first_fastest_first_the_rest_static():
    # the measured problem: onnx-fp32 1.80 ms, openvino-int8 3.36 ms at batch 1
    assert order(p50={"onnx-fp32": 1.80, "openvino-int8": 3.36}) == [
        "onnx-fp32-raw", "onnx-fp32",  # its group, the embedded sibling still first (it has no p50 itself)
        "openvino-int8", "openvino-fp32", "onnx-int8", "onnx-fp16"]
    assert order(p50={"onnx-fp16": 2.0, "onnx-int8": 1.0}) == [
        "onnx-int8", "onnx-fp16", "openvino-int8", "openvino-fp32", "onnx-fp32-raw", "onnx-fp32"]


def test_a_group_is_as_fast_as_its_fastest_artifact_and_ties_keep_the_static_order():
    assert order(p50={"onnx-fp32": 5.0, "onnx-fp32-raw": 1.0, "openvino-int8": 3.0})[:3] == [
        "onnx-fp32-raw", "onnx-fp32", "openvino-int8"]
    tie = {"onnx-fp32": 2.0, "openvino-int8": 2.0, "openvino-fp32": 2.0}
    assert order(p50=tie) == ["openvino-int8", "openvino-fp32", "onnx-fp32-raw", "onnx-fp32", "onnx-int8",
                              "onnx-fp16"]


def test_flagged_and_failed_artifacts_neither_run_nor_lend_their_p50():
    p50 = {"onnx-fp32": 1.0, "onnx-fp32-raw": 4.0, "openvino-int8": 3.0}
    slow = {"onnx-fp32": ["slower_than_eager at batch 1"]}
    assert order(p50=p50, slow=slow) == ["openvino-int8", "onnx-fp32-raw", "openvino-fp32", "onnx-int8", "onnx-fp16"]
    failed = {**MANIFEST, "artifacts": [dict(a, parity={"passed": a["id"] != "onnx-fp32"})
                                        for a in MANIFEST["artifacts"]]}
    assert [a["id"] for a, _ in candidates(failed, p50=p50)][:2] == ["openvino-int8", "onnx-fp32-raw"]


def test_with_backend_given_other_backends_p50_do_not_count():
    # asked for openvino: onnx-int8's p50 was taken on ONNX Runtime, not on OpenVINO
    got = candidates(MANIFEST, backend="openvino", p50={"onnx-int8": 0.1, "onnx-fp32": 0.1, "openvino-fp32": 2.0})
    assert [(a["id"], b) for a, b in got] == [
        ("openvino-fp32", "openvino"), ("onnx-fp32-raw", "openvino"), ("onnx-fp32", "openvino"),
        ("openvino-int8", "openvino"), ("onnx-int8", "openvino"), ("onnx-fp16", "openvino")]


def test_an_explicit_artifact_ignores_the_p50_and_cuda_orders_its_own_family():
    assert order(artifact="onnx-fp16", p50={"openvino-int8": 0.1}) == ["onnx-fp16"]
    assert order(device="cuda")[:2] == ["tensorrt-int8", "tensorrt-fp32"]
    assert order(device="cuda", p50={"tensorrt-fp32": 1.0, "tensorrt-int8": 1.5})[:2] == [
        "tensorrt-fp32", "tensorrt-int8"]


# --------------------------------------------------------------------------- Model.open on a real folder

def _bench(folder, p50: dict, contended: bool = False, **extra) -> str:
    when = "2026-12-01T07:00:00+00:00"
    entry = {"measured": when, "machine": "Test CPU", "contended": contended, "load_average": [0.1, 0.1, 0.1],
             "threads": 2, "batches": [1, 8], "slow": {}, "p50_ms": p50, **extra}
    (folder / BENCH_RECORD).write_text(json.dumps({"schema": 1, "devices": {"cpu": entry}}))
    return when


@pytest.fixture
def folder(tmp_path):
    return fresh_copy(tmp_path)  # torchscript-fp32, onnx-fp32, openvino-fp32 (static: openvino-fp32 first)


def test_open_takes_the_measured_fastest_and_says_why(folder):
    when = _bench(folder, {"onnx-fp32": {"1": 1.8, "8": 4.84}, "openvino-fp32": {"1": 3.36, "8": 2.0}})
    with Model.open(folder, threads=1) as m:  # batch 1 decides, not batch 8
        assert m.artifact["id"] == "onnx-fp32" and m.backend == "onnxruntime"
        assert m.describe()["order"] == {"rule": f"measured p50 at batch 1 by seedge bench {when}", "batch": 1,
                                         "p50_ms": 1.8}
    # asked for openvino: onnx-fp32's p50 is ONNX Runtime's, so openvino-fp32 (measured) leads
    with Model.open(folder, backend="openvino", threads=1) as m:
        assert m.artifact["id"] == "openvino-fp32" and m.describe()["order"]["p50_ms"] == 3.36
    with Model.open(folder, artifact="onnx-fp32", backend="openvino", threads=1) as m:
        assert m.describe()["order"] == {"rule": "asked for by id", "batch": 1, "p50_ms": None}
    with Model.open(folder, artifact="onnx-fp32", threads=1) as m:
        assert m.describe()["order"] == {"rule": "asked for by id", "batch": 1, "p50_ms": 1.8}


def test_a_contended_bench_does_not_order_but_its_flags_apply(folder):
    when = _bench(folder, {"onnx-fp32": {"1": 1.8}, "openvino-fp32": {"1": 3.36}}, contended=True)
    with Model.open(folder, threads=1) as m:
        assert m.artifact["id"] == "openvino-fp32"  # the static preference
        assert m.describe()["order"] == {
            "rule": f"static preference (seedge bench {when} on cpu was contended: its p50s are not used)",
            "batch": 1, "p50_ms": 3.36}
    _bench(folder, {"onnx-fp32": {"1": 1.8}}, contended=True, slow={"openvino-fp32": ["slower_than_eager at batch 1"]})
    with Model.open(folder, threads=1) as m:
        assert m.artifact["id"] == "onnx-fp32" and m.describe()["passed_over_as_slow"] == {
            "openvino-fp32": ["slower_than_eager at batch 1"]}


def test_an_unmeasured_artifact_keeps_its_static_place_after_the_measured(folder):
    when = _bench(folder, {"onnx-fp32": {"8": 1.0}, "eager": {"1": 0.5}})  # no artifact measured at batch 1
    with Model.open(folder, threads=1) as m:
        assert m.artifact["id"] == "openvino-fp32"
        assert m.describe()["order"] == {"rule": f"measured p50 at batch 1 by seedge bench {when}", "batch": 1,
                                         "p50_ms": None}
