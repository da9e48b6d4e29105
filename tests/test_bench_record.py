"""bench.json (seedge.bench_record): what `seedge bench` flags slow is what the runtime passes over.

The record is built from a real bench result of a private copy of the shared export; the
runtime's choice is checked on that copy, with flags written the way `seedge bench` writes them.
"""

from __future__ import annotations

import json

import pytest
from _export_fixtures import add_artifact, fresh_copy

from seedge import artifacts, publishing
from seedge.bench_record import BENCH_RECORD, read_record, record_entry, slow_artifacts, write_record
from seedge.errors import SeedgeError
from seedge.runtime import Model, candidates


def _result(device: str, rows: list[dict]) -> dict:
    """The fields of a run_bench result that the record reads."""
    return {"environment": {"device": device, "cpu_model": "Test CPU", "gpu": "Test GPU", "contended": True,
                            "load_average": [3.0, 2.0, 1.0]},
            "settings": {"threads": 2, "batches": [1, 8]}, "results": rows}


def _row(artifact: str, batch: int, flag: list, **extra) -> dict:
    return {"artifact": artifact, "batch": batch, "flag": flag, **extra}


def test_record_keeps_flagged_artifacts_per_family_and_merges_families(tmp_path):
    cpu = _result("cpu", [_row("eager", 1, []), _row("onnx-fp16", 1, ["fp16_slower_than_fp32"]),
                          _row("onnx-fp16", 8, ["slower_than_eager", "fp16_slower_than_fp32"]),
                          _row("onnx-fp32", 1, []),
                          # a peer is not an artifact of the folder: never recorded
                          _row("compile", 1, ["slower_than_eager"], peer="compile")])
    entry = record_entry(cpu, str(tmp_path))
    assert entry["slow"] == {"onnx-fp16": ["fp16_slower_than_fp32 at batch 1", "slower_than_eager at batch 8",
                                           "fp16_slower_than_fp32 at batch 8"]}
    assert entry["machine"] == "Test CPU" and entry["contended"] is True and entry["batches"] == [1, 8]
    write_record(tmp_path, cpu)
    write_record(tmp_path, _result("cuda:0", [_row("tensorrt-fp32", 1, ["slower_than_eager"])]))
    assert set(read_record(tmp_path)["devices"]) == {"cpu", "cuda"}
    assert list(slow_artifacts(tmp_path, "cpu")) == ["onnx-fp16"]
    assert list(slow_artifacts(tmp_path, "cuda:1")) == ["tensorrt-fp32"]
    # a new cpu bench replaces the cpu entry (the artifacts may be fast now), the cuda one stays
    write_record(tmp_path, _result("cpu", [_row("onnx-fp16", 1, [])]))
    assert slow_artifacts(tmp_path, "cpu") == {} and list(slow_artifacts(tmp_path, "cuda")) == ["tensorrt-fp32"]


def test_rows_of_other_folders_are_not_recorded(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    rows = [_row("onnx-fp32", 1, ["slower_than_eager"], folder=str(a)), _row("onnx-fp32", 1, [], folder=str(b))]
    assert record_entry(_result("cpu", rows), str(a))["slow"] == {"onnx-fp32": ["slower_than_eager at batch 1"]}
    assert record_entry(_result("cpu", rows), str(b))["slow"] == {}


@pytest.mark.parametrize("text", ["{not json", '{"schema": 2, "devices": {}}', '{"schema": 1, "devices": {"cpu": {}}}',
                                  "[1, 2]"])
def test_a_broken_record_is_one_line_naming_the_file(tmp_path, text):
    (tmp_path / BENCH_RECORD).write_text(text)
    with pytest.raises(SeedgeError, match=r"bench\.json: .*delete it or run `seedge bench` again"):
        slow_artifacts(tmp_path)


def test_the_runtime_passes_over_flagged_artifacts_unless_asked_by_id(tmp_path):
    folder = fresh_copy(tmp_path)
    add_artifact(folder, "openvino-fp16", "openvino", "fp16", "openvino/model.xml", "openvino")
    manifest = artifacts.read_manifest(folder)
    best = [a["id"] for a, _ in candidates(manifest)]
    assert best[0] == "openvino-fp32"
    write_record(folder, _result("cpu", [_row(best[0], 1, ["slower_than_eager"])]))
    assert publishing.is_seedge_export(folder)  # the record does not make the folder a stranger's
    with Model.open(folder, threads=1) as m:
        assert m.artifact["id"] == best[1]
        assert m.describe()["passed_over_as_slow"] == {best[0]: ["slower_than_eager at batch 1"]}
    with Model.open(folder, artifact=best[0], threads=1) as m:  # asked for by id: it runs
        assert m.artifact["id"] == best[0]
    # every artifact flagged: an error that says so, not a silent pick of a slow one
    write_record(folder, _result("cpu", [_row(a["id"], 1, ["slower_than_eager"]) for a in manifest["artifacts"]]))
    with pytest.raises(SeedgeError, match="flagged every artifact slow on cpu"):
        Model.open(folder, threads=1)


def test_cli_bench_writes_the_record_and_no_record_does_not(tmp_path, capsys):
    from seedge.cli import main

    folder = fresh_copy(tmp_path)
    args = ["bench", str(folder), "--backend", "onnxruntime", "--threads", "1", "--warmup", "0", "--iters", "2",
            "--rounds", "2", "--json"]
    with pytest.raises(SystemExit) as e:
        main(args + ["--no-record"])
    assert e.value.code == 0 and not (folder / BENCH_RECORD).exists()
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 0
    doc = json.loads(capsys.readouterr().out)
    flagged = {r["artifact"] for r in doc["results"] if r["flag"]}
    assert set(slow_artifacts(folder, "cpu")) == flagged  # whatever this noisy run found, exactly that
    assert read_record(folder)["devices"]["cpu"]["threads"] == 1
