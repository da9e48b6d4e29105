"""Issue 22, case 4: bench.json is read as the manifest is (seedge.bench_record.read_record, the C++
runtime's read_bench): a regular file inside the folder, size- and depth-bounded, typed by the
contract (seedge.contract.bench). Each exact case of the issue, in Python (Model.open, `seedge
predict`) and, marked slow for the build, in C++ (seedge_classify): one refusal line, no hang,
nothing read from outside the folder.

Before: a FIFO hung predict/Model.open (> 60 s); a symlink was followed (to /proc/self/environ, or to
a bench.json outside the folder that then ordered the artifact choice); `[` x 100000 was
`internal error: RecursionError`; "slow": {"onnx-fp16": 0} was `internal error: TypeError`.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import _cpp_build
import numpy as np
import pytest
from _export_fixtures import fresh_copy
from _hostile import no_hang, one_line

from seedge.errors import SeedgeError
from seedge.runtime import Model

cpp_build = _cpp_build.cpp_build


def _record(slow: dict) -> str:
    return json.dumps({"schema": 1, "devices": {"cpu": {"slow": slow}}})


def _fifo(bench: Path, _tmp: Path) -> None:
    os.mkfifo(bench)


def _environ(bench: Path, _tmp: Path) -> None:
    bench.symlink_to("/proc/self/environ")


def _outside(bench: Path, tmp: Path) -> None:
    """A well-formed record outside the folder that would flag every artifact but one slow."""
    outside = tmp / "elsewhere" / "bench.json"
    outside.parent.mkdir()
    ids = [a["id"] for a in json.loads((bench.parent / "manifest.json").read_text())["artifacts"]]
    outside.write_text(_record({i: ["planted"] for i in ids[:-1]}))
    bench.symlink_to(outside)


def _deep(bench: Path, _tmp: Path) -> None:
    bench.write_text("[" * 100000)


def _slow_not_a_list(bench: Path, _tmp: Path) -> None:
    bench.write_text(_record({"onnx-fp16": 0}))


# case -> (how bench.json is planted, a fragment of the one refusal line)
CASES = {
    "fifo": (_fifo, "not a regular file"),
    "symlink-to-proc-environ": (_environ, "outside the export folder"),
    "symlink-to-a-record-outside": (_outside, "outside the export folder"),
    "nested-100000-deep": (_deep, "nested deeper than 256 levels"),
    "slow-entry-not-a-list": (_slow_not_a_list, "devices.cpu.slow must map artifact ids to lists of reasons"),
}


@pytest.fixture
def planted(request, tmp_path) -> tuple[Path, str]:
    plant, fragment = CASES[request.param]
    folder = fresh_copy(tmp_path)
    plant(folder / "bench.json", tmp_path)
    return folder, fragment


@pytest.fixture
def image(tmp_path) -> Path:
    from PIL import Image

    path = tmp_path / "img.png"
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(path)
    return path


@pytest.mark.parametrize("planted", list(CASES), indirect=True)
def test_python_refuses_the_record_in_one_line(planted, image, cli):
    folder, fragment = planted
    with no_hang(60), pytest.raises(SeedgeError) as e:
        Model.open(folder)
    assert "bench.json" in str(e.value) and fragment in str(e.value), e.value
    assert "\n" not in str(e.value)
    with no_hang(60):
        code, out, err = cli("predict", folder, image)
    assert code == 2 and out == ""
    one_line(err, "bench.json", fragment)


@pytest.mark.slow
@pytest.mark.parametrize("planted", list(CASES), indirect=True)
def test_cpp_refuses_the_record_in_one_line(planted, cpp_build):
    folder, fragment = planted
    proc = subprocess.run([str(cpp_build / "seedge_classify"), str(folder), "--info"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == "", (proc.returncode, proc.stdout, proc.stderr)
    one_line(proc.stderr, "bench.json", fragment)


@pytest.mark.parametrize("planted", ["fifo", "symlink-to-a-record-outside"], indirect=True)
def test_bench_replaces_a_planted_record_without_reading_or_writing_through_it(planted, tmp_path):
    """`seedge bench` records its run (write_record): a planted FIFO or link is replaced by the new
    record, never opened (a FIFO would block) nor written through (the link's target stays)."""
    from seedge.bench_record import read_record, write_record

    folder, _ = planted
    outside = tmp_path / "elsewhere" / "bench.json"
    before = outside.read_text() if outside.exists() else None
    result = {"environment": {"device": "cpu", "cpu_model": "test", "contended": False},
              "settings": {"threads": 1, "batches": [1]},
              "results": [{"artifact": "onnx-fp32", "batch": 1, "p50_ms": 1.5, "flag": []}]}
    with no_hang(60):
        write_record(folder, result)
    assert (folder / "bench.json").is_file() and not (folder / "bench.json").is_symlink()
    assert read_record(folder)["devices"]["cpu"]["p50_ms"] == {"onnx-fp32": {"1": 1.5}}
    assert (outside.read_text() if outside.exists() else None) == before
