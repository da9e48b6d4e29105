"""`seedge pack DIR ARTIFACT --out DIR2`: only that artifact, the reduced manifest and the reference
data; the runtime opens the result as it opens the export and gives the same answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _export_fixtures import fresh_copy

from seedge import artifacts, publishing
from seedge.cli import main
from seedge.export.reference import write_raw_reference
from seedge.runtime import Model


def run(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    """The shared export with the raw reference files an export by this seedge writes."""
    folder = fresh_copy(tmp_path_factory.mktemp("pack-src"))
    manifest = artifacts.read_manifest(folder)
    manifest["reference"] = {"file": artifacts.REFERENCE,
                             "raw": write_raw_reference(folder, artifacts.read_reference(folder, manifest))}
    artifacts.write_manifest(folder, manifest)
    return folder


@pytest.mark.parametrize("artifact, artifact_files", [
    ("openvino-fp32", {"openvino/model.xml", "openvino/model.bin"}),
    ("onnx-fp32", {"model.onnx"}),
])
def test_pack_holds_only_what_the_device_needs(export, tmp_path, capsys, artifact, artifact_files):
    out = tmp_path / "device"
    code, stdout, stderr = run(["pack", export, artifact, "--out", out, "--json"], capsys)
    assert code == 0, stderr
    doc = json.loads(stdout)
    raw = {"reference/input.f32", "reference/logits.f32"}
    assert files(out) == {"manifest.json", "reference.npz", publishing.EXPORT_MARKER, *raw, *artifact_files}
    assert {f["file"] for f in doc["files"]} == {"manifest.json", "reference.npz", *raw, *artifact_files}
    assert doc["bytes"] == sum((out / f["file"]).stat().st_size for f in doc["files"]) and doc["raw_reference"]
    assert "model.safetensors" in doc["left_out"] and "model.ts" in doc["left_out"]

    source, packed = artifacts.read_manifest(export), artifacts.read_manifest(out)  # the schema still holds
    assert [a["id"] for a in packed["artifacts"]] == [artifact]
    assert packed["artifacts"][0] == artifacts.find_artifact(source, artifact)
    assert packed["packed"]["from"] == source["name"] and packed["packed"]["artifact"] == artifact
    for key in ("model", "input", "preprocessing"):
        assert packed[key] == source[key], key
    assert packed["reference"]["file"] == source["reference"]["file"]  # its rows: tests/cli/test_pack_reference.py

    x = np.load(export / "reference.npz")["input"]
    with Model.open(out, threads=1) as m, Model.open(export, artifact=artifact, threads=1) as full:
        assert m.artifact["id"] == artifact
        assert m.self_test()["passed"]
        np.testing.assert_array_equal(m.predict(x), full.predict(x))


def test_text_output_lists_the_files_and_packing_again_replaces_the_folder(export, tmp_path, capsys):
    out = tmp_path / "device"
    assert run(["pack", export, "openvino-fp32", "--out", out], capsys)[0] == 0
    code, stdout, stderr = run(["pack", export, "onnx-fp32", "--out", out], capsys)
    assert code == 0, stderr
    assert "model.onnx" in stdout and "total in" in stdout and stderr == ""
    assert "openvino/model.xml" not in files(out)  # replaced whole, not merged


def test_a_folder_without_raw_reference_is_packed_with_a_note(tmp_path, capsys):
    bare = fresh_copy(tmp_path / "src")  # the hand-built export has reference.npz only
    code, stdout, stderr = run(["pack", bare, "onnx-fp32", "--out", tmp_path / "device"], capsys)
    assert code == 0 and "no raw reference data" in stderr
    assert files(tmp_path / "device") == {"manifest.json", "reference.npz", "model.onnx", publishing.EXPORT_MARKER}


def test_bad_input_is_one_line_and_exit_2(export, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    changed = fresh_copy(tmp_path / "changed")
    with open(changed / "model.onnx", "ab") as f:
        f.write(b"\0")
    cases = [
        ([export, "nope", "--out", tmp_path / "a"], "no artifact 'nope'"),
        ([export, "onnx-fp32", "--out", mine], "is not a seedge export"),
        ([export, "onnx-fp32", "--out", export], "is the export folder or inside it"),
        ([export, "onnx-fp32", "--out", export / "device"], "is the export folder or inside it"),
        ([changed, "onnx-fp32", "--out", tmp_path / "b"], "sha256 differs"),
        ([tmp_path / "missing", "onnx-fp32", "--out", tmp_path / "c"], "not a directory"),
    ]
    for argv, needle in cases:
        code, stdout, stderr = run(["pack", *argv], capsys)
        assert code == 2 and stdout == "", (argv, stderr)
        assert needle in stderr and len(stderr.strip().splitlines()) == 1, (argv, stderr)
    assert (mine / "notes.txt").read_text() == "keep me" and files(mine) == {"notes.txt"}
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
