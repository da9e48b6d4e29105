"""bench.json (seedge.bench_record): what `seedge bench` flags slow is what the runtime passes over,
and the p50s it records are what the runtime orders by.

The record is built from a real bench result of a private copy of the shared export; the
runtime's choice is checked on that copy, with flags and p50s written the way `seedge bench`
writes them. The ordering rule itself, in Python and C++, is tested in tests/runtime.
"""

from __future__ import annotations

import json
import math

import pytest
from _export_fixtures import add_artifact, fresh_copy

from seedge import artifacts, publishing
from seedge.bench_record import BENCH_RECORD, read_record, record_entry, slow_artifacts, timings, write_record
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


def test_record_keeps_this_folders_p50_per_artifact_and_batch(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    rows = [_row("eager", 1, [], folder=str(a), p50_ms=3.0), _row("onnx-fp32", 1, [], folder=str(a), p50_ms=1.8),
            _row("onnx-fp32", 8, [], folder=str(a), p50_ms=4.84),
            _row("openvino-int8", 8, [], folder=str(a), p50_ms=2.5),
            _row("openvino-int8", 1, ["slower_than_eager"], folder=str(a), p50_ms=3.36),
            _row("onnx-fp32", 1, [], folder=str(b), p50_ms=0.5),  # another folder's row
            _row("compile", 1, [], folder=str(a), p50_ms=0.1, peer="compile")]  # a peer's
    a.mkdir()
    result = _result("cpu", rows)
    result["environment"]["contended"] = False
    assert record_entry(result, str(a))["p50_ms"] == {"eager": {"1": 3.0}, "onnx-fp32": {"1": 1.8, "8": 4.84},
                                                      "openvino-int8": {"8": 2.5, "1": 3.36}}
    write_record(a, result)
    assert read_record(a)["devices"]["cpu"]["p50_ms"]["onnx-fp32"] == {"1": 1.8, "8": 4.84}
    t = timings(a, "cpu")
    assert t["batch"] == 1 and t["p50_ms"] == {"eager": 3.0, "onnx-fp32": 1.8, "openvino-int8": 3.36}
    assert t["contended"] is False and t["measured"] == read_record(a)["devices"]["cpu"]["measured"]
    assert timings(a, "cuda") is None  # no cuda bench
    # only batch 8 measured: the smallest batch is 8, and an artifact without it is unmeasured
    write_record(a, _result("cpu", [_row("onnx-fp32", 8, [], p50_ms=4.0), _row("onnx-int8", 16, [], p50_ms=5.0)]))
    assert timings(a, "cpu")["batch"] == 8 and timings(a, "cpu")["p50_ms"] == {"onnx-fp32": 4.0}
    assert timings(a, "cpu")["contended"] is True


def test_an_old_record_without_p50_still_reads_and_orders_statically(tmp_path):
    # what `seedge bench` wrote before p50_ms existed (schema 1 too)
    folder = fresh_copy(tmp_path)
    old = {"schema": 1, "devices": {"cpu": {
        "measured": "2026-11-30T10:00:00+00:00", "machine": "Test CPU", "contended": False, "load_average": [0.1] * 3,
        "threads": 2, "batches": [1, 8], "slow": {"onnx-fp32": ["slower_than_eager at batch 1"]}}}}
    (folder / BENCH_RECORD).write_text(json.dumps(old))
    assert slow_artifacts(folder) == {"onnx-fp32": ["slower_than_eager at batch 1"]}
    assert timings(folder) is None
    with Model.open(folder, threads=1) as m:
        assert m.artifact["id"] == "openvino-fp32"
        assert m.describe()["order"] == {"rule": "static preference (no p50 from seedge bench on cpu)",
                                         "batch": None, "p50_ms": None}


def _entry(field: str) -> str:
    """A schema-1 record whose cpu entry has `field` (JSON text, not checked by Python first)."""
    return '{"schema": 1, "devices": {"cpu": {"slow": {}, ' + field + '}}}'


BAD_P50 = [
    ('[]', "not an object"),
    ('{"onnx-fp32": 1.8}', "'onnx-fp32' is not an object"),
    ('{"onnx-fp32": {"1": 0}}', "'onnx-fp32' at batch 1 is 0"),
    ('{"onnx-fp32": {"1": -1.5}}', "at batch 1 is -1.5"),
    ('{"onnx-fp32": {"1": NaN}}', "at batch 1 is NaN"),
    ('{"onnx-fp32": {"1": Infinity}}', "at batch 1 is Infinity"),
    ('{"onnx-fp32": {"1": 1' + "0" * 400 + '}}', "at batch 1 is 1000"),  # an int past float: not OverflowError
    ('{"onnx-fp32": {"1": "1.8"}}', 'at batch 1 is "1.8"'),
    ('{"onnx-fp32": {"1": true}}', "at batch 1 is true"),
    ('{"onnx-fp32": {"1": null}}', "at batch 1 is null"),
    ('{"onnx-fp32": {"0": 1.8}}', "has batch '0', not a positive integer"),
    ('{"onnx-fp32": {"01": 1.8}}', "has batch '01'"),
    ('{"onnx-fp32": {"batch 1": 1.8}}', "has batch 'batch 1'"),
    ('{"onnx-fp32": {"1.0": 1.8}}', "has batch '1.0'"),
    ('null', "not an object"),
]


@pytest.mark.parametrize("p50, problem", BAD_P50)
def test_a_bad_p50_is_one_line_naming_the_field(tmp_path, p50, problem):
    (tmp_path / BENCH_RECORD).write_text(_entry('"p50_ms": ' + p50))
    for read in (read_record, slow_artifacts, timings):
        with pytest.raises(SeedgeError) as e:
            read(tmp_path)
        msg = str(e.value)
        assert "bench.json: devices.cpu.p50_ms must map artifact ids to {batch: positive finite ms}" in msg
        assert problem in msg and msg.endswith("delete it or run `seedge bench` again") and "\n" not in msg


@pytest.mark.parametrize("contended", ['"yes"', "1", "null"])
def test_contended_must_be_a_bool(tmp_path, contended):
    (tmp_path / BENCH_RECORD).write_text(_entry('"contended": ' + contended))
    with pytest.raises(SeedgeError, match=r"bench\.json: devices\.cpu\.contended must be true or false; delete it"):
        timings(tmp_path)


@pytest.mark.parametrize("text", ["{not json", '{"schema": 2, "devices": {}}', '{"schema": 1, "devices": {"cpu": {}}}',
                                  '{"schema": true, "devices": {}}', "[1, 2]"])
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
    entry = read_record(folder)["devices"]["cpu"]
    assert entry["threads"] == 1
    # every timed row of the folder, p50 as the run reported it (eager is the baseline's)
    want = {}
    for r in doc["results"]:
        want.setdefault(r["artifact"], {})[str(r["batch"])] = r["p50_ms"]
    assert entry["p50_ms"] == want and {"eager", "onnx-fp32"} <= set(want)
    assert all(math.isfinite(ms) and ms > 0 for per in want.values() for ms in per.values())
    # and the runtime orders by them unless the run was contended
    with Model.open(folder, backend="onnxruntime", threads=1) as m:
        order = m.describe()["order"]
    assert order["batch"] == min(doc["settings"]["batches"])
    assert order["p50_ms"] == want[m.artifact["id"]][str(order["batch"])]
    if entry["contended"]:
        assert order["rule"] == f"static preference (seedge bench {entry['measured']} on cpu was contended: " \
                                "its p50s are not used)"
    else:
        assert order["rule"] == f"measured p50 at batch {order['batch']} by seedge bench {entry['measured']}"
