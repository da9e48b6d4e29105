"""A second reader in `seedge bench`: a backend that reads an artifact's format times it, no builder.

`--backend onnxruntime --backend openvino` times the ONNX files (onnx-int8 among them) on both, in
the same interleaved rounds; each row names the backend it ran on, a second reader's row also the
artifact's own, and bench.json keeps only each artifact's own-backend p50 and flags (the runtime's
rule, seedge.bench_record step 3). No timed assertions: which one is faster is not tested.
"""

from __future__ import annotations

import pytest
from _onnx_int8_fixture import int8_export_folder

from seedge.backends.table import BACKENDS, Backend
from seedge.bench import BenchOptions, run_bench
from seedge.bench_record import record_entry
from seedge.errors import SeedgeError

TINY = BenchOptions(batches=(1,), warmup=1, iters=3, rounds=3, threads=1, load_window_s=0)


@pytest.fixture(scope="module")
def both():
    return run_bench(int8_export_folder(), TINY, backends=("onnxruntime", "openvino"))


def test_onnx_int8_is_timed_on_onnxruntime_and_openvino_in_the_same_rounds(both):
    ran = {(r["artifact"], r["backend"]): r for r in both["results"]}
    assert set(ran) == {("eager", "torch"), ("onnx-fp32", "onnxruntime"), ("onnx-fp32", "openvino"),
                        ("openvino-fp32", "openvino"), ("onnx-int8", "onnxruntime"), ("onnx-int8", "openvino")}
    ov = ran[("onnx-int8", "openvino")]
    assert ov["runner"]["backend"] == "openvino" and ov["artifact_backend"] == "onnxruntime"
    assert ov["runner"]["inference_precision"] == "f32" and ov["inference_precision"] == "f32"
    assert "artifact_backend" not in ran[("onnx-int8", "onnxruntime")]
    assert "artifact_backend" not in ran[("openvino-fp32", "openvino")]
    for r in ran.values():  # one interleaved loop: every runner has its median in each of the 3 rounds
        assert len(r["round_p50_ms"]) == 3 and r["p50_ms"] > 0


def test_bench_json_keeps_each_artifact_on_its_own_backend(both):
    rows = [dict(r) for r in both["results"]]
    for r in rows:  # a second reader flagged slow must not make the runtime pass the file over
        if r.get("artifact_backend"):
            r["flag"] = ["slower_than_eager"]
    entry = record_entry({**both, "results": rows}, str(int8_export_folder()))
    own = {r["artifact"]: r["p50_ms"] for r in rows if not r.get("artifact_backend")}
    assert entry["p50_ms"] == {k: {"1": v} for k, v in own.items()}
    assert not any(r.get("artifact_backend") and entry["slow"].get(r["artifact"]) for r in rows)


def test_default_selection_is_each_artifact_on_its_recorded_backend():
    out = run_bench(int8_export_folder(), TINY)
    got = {(r["artifact"], r["backend"]) for r in out["results"]}
    assert got == {("eager", "torch"), ("torchscript-fp32", "torchscript"), ("onnx-fp32", "onnxruntime"),
                   ("openvino-fp32", "openvino"), ("onnx-int8", "onnxruntime")}
    assert not any("artifact_backend" in r for r in out["results"])


def test_a_new_reader_is_one_table_entry(monkeypatch):
    """What the issue asks: a runtime that reads an existing format is one Backend entry (plus its
    runner class; here ONNX Runtime's own, under a new name), timed without any builder."""
    monkeypatch.setitem(BACKENDS, "ort-second", Backend(
        "ort-second", "seedge.backends.onnxruntime:OnnxRuntimeRunner", "onnxruntime", None, ("cpu",), ("onnx",),
        torch_free=True))
    out = run_bench(int8_export_folder(), TINY, backends=("ort-second",))
    assert {(r["artifact"], r["backend"]) for r in out["results"]} == {
        ("eager", "torch"), ("onnx-fp32", "ort-second"), ("onnx-int8", "ort-second")}


def test_a_backend_that_reads_nothing_there_is_one_error():
    with pytest.raises(SeedgeError, match=r"no 'torchscript' artifact .*torchscript reads torchscript"):
        from seedge.bench.plan import select_pairs

        select_pairs(int8_export_folder(), {"artifacts": [{"id": "onnx-int8", "format": "onnx",
                                                           "backend": "onnxruntime"}]}, ["torchscript"], "cpu")


def test_bench_options_are_the_one_signature():
    """Keywords are BenchOptions fields (replacing those of a given options object); anything else is
    one line before any work. The CLI's defaults are the dataclass's."""
    from seedge.bench.options import default
    from seedge.cli.bench_cmd import command

    assert BenchOptions.of(TINY, iters=7) == BenchOptions(batches=(1,), warmup=1, iters=7, rounds=3, threads=1,
                                                          load_window_s=0)
    with pytest.raises(SeedgeError, match=r"^run_bench: unknown option iterations; BenchOptions has backends, "):
        run_bench(int8_export_folder(), iterations=3)
    with pytest.raises(SeedgeError, match="options must be a BenchOptions, not dict"):
        run_bench(int8_export_folder(), {"iters": 3})
    cli = {p.name: p.default for p in command.params}
    assert (cli["warmup"], cli["iters"], cli["rounds"], cli["device"]) == (
        default("warmup"), default("iters"), default("rounds"), default("device"))
    assert cli["batch"] == ",".join(map(str, default("batches")))


def test_openvino_reads_the_onnx_files_because_its_table_entry_says_so(monkeypatch):
    """The table entry is the whole of it: without "onnx" in OpenVINO's `reads`, --backend openvino
    selects its own IR only; with it (the table as shipped), every ONNX file too."""
    import dataclasses

    from seedge.artifacts import read_manifest
    from seedge.bench.plan import select_pairs

    folder = int8_export_folder()
    manifest = read_manifest(folder)
    pairs = select_pairs(folder, manifest, ["openvino"], "cpu")[0]
    assert [(a["id"], b) for a, b in pairs] == [("onnx-fp32", "openvino"), ("openvino-fp32", "openvino"),
                                               ("onnx-int8", "openvino")]
    monkeypatch.setitem(BACKENDS, "openvino", dataclasses.replace(BACKENDS["openvino"], reads=("openvino",)))
    pairs = select_pairs(folder, manifest, ["openvino"], "cpu")[0]
    assert [(a["id"], b) for a, b in pairs] == [("openvino-fp32", "openvino")]
